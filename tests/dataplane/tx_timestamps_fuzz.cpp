// Fuzz: the socket backend's parser of looped-back packets (error-queue TX
// timestamps, dataplane/socket/src/tx_timestamps.hpp) and the matcher over
// it, on arbitrary bytes and kernel numbers: no crash, no read out of
// bounds, and a ticket comes back only for a packet that says exactly what
// was recorded under it.
#include <cstdlib>
#include <cstring>

#include "tx_timestamps.hpp"

using namespace ntsd::sock;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static TxTimestamps t(1, 32);
  Looped l;
  const bool ok = parse_looped(std::span(data, size), l);
  std::uint32_t id = 0;
  if (size >= 4) std::memcpy(&id, data, 4);
  // Record what this packet says (when it says something) under the next
  // number every other input, then look it up under the kernel's number.
  if (ok && (size & 1)) t.sent(0, 1 + (id & 0xffff), l);
  const ntsd::xleave::Ticket k = t.match(0, id, std::span(data, size));
  if (k != ntsd::xleave::kNoTicket && !ok) std::abort();
  return 0;
}
