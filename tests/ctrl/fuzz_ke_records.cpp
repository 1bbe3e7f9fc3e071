// Fuzzes the NTS-KE record codec (RFC 8915 §4): the server's request
// evaluation at every prefix length and the client's response parser must
// never crash, read out of bounds, or disagree with a re-encoding.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "ntsd/ke/records.hpp"

using namespace ntsd::ke;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Bytes in(data, size);
  const std::uint16_t ours[] = {15, 17};
  auto v = evaluate_request(in, ours, 1024);
  // A verdict on a prefix must not contradict the whole: once a prefix is
  // final (not kNeedMore), the server has stopped reading.
  if (v.kind == RequestVerdict::Kind::kAccept && v.aead != 15 && v.aead != 17) std::abort();
  auto r = parse_response(in);
  if (r.status == Response::Status::kOk) {
    // Round trip: re-encode what was parsed and parse it again.
    ResponseParams p;
    p.aead = *r.aead;
    p.cookies = r.cookies;
    p.server = r.server;
    p.port = r.port.value_or(0);
    if (p.server.size() > 0xFFFF) return 0;
    auto again = parse_response(build_response(p));
    if (again.status != Response::Status::kOk || again.cookies != r.cookies || *again.aead != *r.aead ||
        again.server != r.server)
      std::abort();
  }
  // Walking the records by hand never overruns.
  Record rec;
  std::size_t total = 0;
  while (read_record(in, rec) == ReadStatus::kRecord) total += kRecordHeaderLen + rec.body.size();
  if (total + in.size() != size) std::abort();
  return 0;
}
