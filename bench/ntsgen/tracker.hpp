// Requests in flight. Each request carries a 64-bit tag in its transmit
// timestamp (and, for NTS, in its Unique Identifier): 24 random run bits, the
// step number and a 32-bit sequence number. RFC 5905 §8 has the server copy
// the transmit timestamp into the origin field, so the tag comes back and
// names the slot without any search. The slot table is a power-of-two ring;
// a slot reused while its request is still out counts that request lost.
#pragma once

#include <cstdint>
#include <vector>

#include "stats.hpp"

namespace ntsgen {

struct Slot {
  std::uint64_t tag = 0;      // tag of the request occupying the slot
  std::uint64_t tx_ns = 0;    // when it was handed to the transport
  std::uint32_t session = 0;  // NTS session that sent it
  std::uint32_t client = 0;   // the transport's client that sent it (TxBuf::client)
  std::uint64_t origin = 0;   // its origin field (interleaved mode)
  bool live = false;          // still waiting for its response
};

class Tracker {
 public:
  // slots is rounded up to a power of two; run_tag's low 24 bits are used.
  Tracker(std::size_t slots, std::uint32_t run_tag);

  void begin_step(std::uint8_t step) noexcept;
  std::uint8_t step() const noexcept { return step_; }

  // Claims the slot for the next request and returns its tag.
  // `c` receives a lost count if the slot still held a live request.
  std::uint64_t issue(std::uint64_t now_ns, std::uint32_t session, Counters& c, std::uint32_t client = 0) noexcept;
  // The slot of a tag just issued.
  Slot& slot_of(std::uint64_t tag) noexcept { return slots_[seq_of(tag) & mask_]; }

  // Looks a returned tag up. On kValid the slot is returned (still live; the
  // caller completes it with finish()). Otherwise says why it cannot match.
  enum class Match : std::uint8_t { kLive, kForeign, kStale, kDuplicate };
  Match lookup(std::uint64_t tag, Slot*& slot) noexcept;
  void finish(Slot& s) noexcept { s.live = false; --live_; }

  // Ends the step: every request still live is lost.
  std::uint64_t expire_all() noexcept;
  std::uint64_t live() const noexcept { return live_; }
  std::uint64_t issued() const noexcept { return seq_; }

  // Index of the slot a tag lives in (codecs keep per-slot data alongside).
  std::size_t index_of(std::uint64_t tag) const noexcept { return seq_of(tag) & mask_; }
  std::size_t capacity() const noexcept { return slots_.size(); }

  static std::uint32_t seq_of(std::uint64_t tag) noexcept { return static_cast<std::uint32_t>(tag); }

 private:
  std::vector<Slot> slots_;
  std::uint64_t mask_;
  std::uint32_t run_tag_;
  std::uint8_t step_ = 0;
  std::uint32_t seq_ = 0;
  std::uint64_t live_ = 0;
};

}  // namespace ntsgen
