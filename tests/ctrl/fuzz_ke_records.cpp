// Fuzzes the NTS-KE record codec (RFC 8915 §4): the server's request
// evaluation at every prefix length and the client's response parser must
// never crash, read out of bounds, or disagree with a re-encoding.
//
// The server calls evaluate_request on what it has received so far, after
// every read, and stops at the first verdict that is not kNeedMore; TCP may
// split a request anywhere. So every prefix is evaluated, as the server
// could see it, and the verdicts must be consistent (issue 20, item 6.4):
//  - a prefix of max_bytes or more is never kNeedMore (the size bound);
//  - once a prefix is final, every longer one is final too, with the same
//    verdict, except that bytes after End of Message turn it into Error 1
//    (bad request): a request never becomes acceptable by growing, and what
//    the server decides cannot depend on where TCP split it otherwise;
//  - kNeedMore only while no End of Message has been read;
//  - an accepted AEAD is one we support.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "ntsd/ke/records.hpp"

using namespace ntsd::ke;

namespace {

constexpr std::size_t kMaxBytes = 1024;  // the server's default bound
const std::uint16_t kOurs[] = {15, 17};

bool same(const RequestVerdict& a, const RequestVerdict& b) {
  if (a.kind != b.kind) return false;
  if (a.kind == RequestVerdict::Kind::kError) return a.error == b.error;
  if (a.kind == RequestVerdict::Kind::kAccept) return a.aead == b.aead;
  return true;
}

// Length of the prefix that ends with the End of Message record, 0 if none.
std::size_t end_of_message(Bytes in) {
  Bytes rest = in;
  Record r;
  while (read_record(rest, r) == ReadStatus::kRecord)
    if (r.type == kEndOfMessage) return in.size() - rest.size();
  return 0;
}

void check_prefixes(Bytes in) {
  const std::size_t eom = end_of_message(in);
  // Beyond max_bytes the verdict no longer depends on the content: one
  // evaluation covers all longer prefixes.
  const std::size_t last = in.size() < kMaxBytes + 1 ? in.size() : kMaxBytes + 1;
  bool final_seen = false;
  RequestVerdict first_final;
  for (std::size_t n = 0; n <= last; ++n) {
    const auto v = evaluate_request(in.first(n), kOurs, kMaxBytes);
    const bool more = v.kind == RequestVerdict::Kind::kNeedMore;
    if (more && n >= kMaxBytes) std::abort();              // the size bound
    if (more && eom != 0 && n >= eom) std::abort();        // End of Message read, still waiting
    if (v.kind == RequestVerdict::Kind::kAccept && v.aead != 15 && v.aead != 17) std::abort();
    if (final_seen) {
      if (more) std::abort();  // final, then waiting again
      const bool trailing = eom != 0 && n > eom;
      const bool bad_request = v.kind == RequestVerdict::Kind::kError && v.error == ErrorCode::kBadRequest;
      if (!same(v, first_final) && !(trailing && bad_request)) std::abort();
    } else if (!more) {
      final_seen = true;
      first_final = v;
    }
  }
  if (in.size() > last) {
    const auto v = evaluate_request(in, kOurs, kMaxBytes);
    if (v.kind != RequestVerdict::Kind::kError || v.error != ErrorCode::kBadRequest) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Bytes in(data, size);
  check_prefixes(in);
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
