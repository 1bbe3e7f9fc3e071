// Interleaved mode in a worker (RFC 9769, docs/dataplane.md "Transmit
// timestamps"): the worker's own xleave::Table, handed to the protocol core
// with every burst, and the path back for the actual TX times. Disabled
// ([server] interleaved = false) it holds no table, the core answers in
// basic mode exactly as before, and nothing asks for TX timestamps.
#pragma once

#include <memory>

#include "ntsd/proto/server.hpp"
#include "ntsd/runtime/runtime.hpp"
#include "ntsd/runtime/stats.hpp"
#include "ntsd/xleave/table.hpp"

namespace ntsd::runtime {

class Interleave {
 public:
  // Allocates the table (before the loop; entries * 32 bytes).
  Interleave(const Shared& s, WorkerStats& stats)
      : table_(s.interleaved ? std::make_unique<xleave::Table>(s.interleaved_entries, s.interleaved_secret) : nullptr),
        stats_(stats) {}

  // For Server::handle_burst; null when interleaved mode is off.
  xleave::Table* table() noexcept { return table_.get(); }
  bool enabled() const noexcept { return table_ != nullptr; }

  // The response with ticket `t` (Outcome::tx_ticket) left at `tx`.
  void transmitted(xleave::Ticket t, proto::NtpTime tx) noexcept {
    if (table_ && t != xleave::kNoTicket) table_->set_tx(t, tx);
  }
  // The response with ticket `t` left, but when is not known well enough:
  // no TX time is stored (counted as rejected).
  void untimed(xleave::Ticket t) noexcept {
    if (table_ && t != xleave::kNoTicket) table_->reject_tx();
  }

  // Once per burst: publish the core's and the table's counters (the worker
  // is their only writer; plain stores, as sync_reasons does).
  void sync(const proto::Server& server) noexcept {
    if (!table_) return;
    const proto::InterleavedCounters& c = server.interleaved_counters();
    stats_.xleave_answers.store(c.answers, std::memory_order_relaxed);
    for (std::size_t i = 0; i < xleave::kMissCount; ++i) stats_.xleave_basic[i].store(c.basic[i], std::memory_order_relaxed);
    const xleave::Counters& t = table_->counters();
    stats_.xleave_evictions.store(t.evictions, std::memory_order_relaxed);
    stats_.tx_timestamps_stored.store(t.tx_set, std::memory_order_relaxed);
    stats_.tx_timestamps_rejected.store(t.tx_rejected, std::memory_order_relaxed);
  }

 private:
  std::unique_ptr<xleave::Table> table_;
  WorkerStats& stats_;
};

}  // namespace ntsd::runtime
