// Which time source a pool user gets (sans-IO; docs/pool.md "Choosing a
// time source"): a weighted random choice among the healthy time sources
// that serve the user's address family and share a next protocol and an
// AEAD with the user, skipping the names the user denied.
//
// The user's order decides the protocol and the AEAD for each time source
// (RFC 8915 §4.1.2, §4.1.5: the first of the client's list that the server
// supports); the key length comes from the time source's Supported Algorithm
// List, so the pool needs no table of AEADs (pool draft).
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "ntsd/ke/records.hpp"

namespace ntsd::pool {

// What the pool knows about one time source (a snapshot).
struct BackendInfo {
  std::string name;
  // NTPv4 Server names this time source put in its answers: a user denies
  // the name it was given, which may differ from `name` (pool draft: "SHOULD
  // match that given through an NTPv4 Server Negotiation").
  std::vector<std::string> servers;
  int weight = 1;
  bool healthy = false;
  bool ipv4 = true, ipv6 = true;
  std::vector<std::uint16_t> protocols;
  std::vector<ke::AlgorithmDescription> algorithms;
};

// The parts of a user's request that matter for the choice.
struct UserRequest {
  ke::Bytes protocols;  // Next Protocol body (u16 list)
  ke::Bytes aeads;      // AEAD body (u16 list)
  std::span<const ke::Bytes> denied;
  bool ipv6 = false;    // the user came over IPv6
};

struct Candidate {
  std::size_t backend = 0;  // index into the snapshot
  std::uint16_t protocol = 0, aead = 0, key_length = 0;
};

struct Choice {
  enum class Kind : std::uint8_t {
    kNoBackend,   // no healthy time source for this family: Error 2
    kNoProtocol,  // none shares a protocol: empty Next Protocol (RFC 8915)
    kNoAead,      // a protocol but no AEAD in common: empty AEAD record
    kCandidates,  // try `order` in turn until the Fixed Key Request is sent
  };
  Kind kind = Kind::kNoBackend;
  std::uint16_t protocol = 0;       // kNoAead: the protocol in common
  std::vector<Candidate> order;     // weighted random order; denied ones last
  bool deny_ignored = false;        // every usable time source was denied
};

// Key lengths a time source may announce that the pool will export.
inline constexpr std::uint16_t kMaxKeyLength = 128;

Choice choose(const UserRequest& user, std::span<const BackendInfo> backends, std::mt19937_64& rng);

}  // namespace ntsd::pool
