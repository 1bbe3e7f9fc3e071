#include "ntsd/pool/select.hpp"

#include <algorithm>
#include <cmath>
#include <optional>
#include <string_view>

namespace ntsd::pool {
namespace {

// The first id of the user's list for which `has` holds.
template <typename Has>
std::optional<std::uint16_t> first_common(ke::Bytes user_list, Has has) {
  for (std::size_t i = 0; i < user_list.size() / 2; ++i) {
    std::uint16_t id = ke::u16_at(user_list, i);
    if (has(id)) return id;
  }
  return std::nullopt;
}

bool denied(const BackendInfo& b, std::span<const ke::Bytes> names) {
  for (auto n : names) {
    std::string_view d(reinterpret_cast<const char*>(n.data()), n.size());
    if (d == b.name || std::find(b.servers.begin(), b.servers.end(), d) != b.servers.end()) return true;
  }
  return false;
}

// Weighted random permutation (Efraimidis & Spirakis 2006): each item draws
// key = -ln(u) / weight and the smallest key comes first, so an item is
// first with probability weight / total, second likewise among the rest...
void weighted_shuffle(std::vector<Candidate>& v, std::span<const BackendInfo> backends,
                      std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(std::nextafter(0.0, 1.0), 1.0);
  std::vector<std::pair<double, Candidate>> keyed;
  keyed.reserve(v.size());
  for (const auto& c : v) keyed.push_back({-std::log(u(rng)) / backends[c.backend].weight, c});
  std::sort(keyed.begin(), keyed.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = keyed[i].second;
}

}  // namespace

Choice choose(const UserRequest& user, std::span<const BackendInfo> backends, std::mt19937_64& rng) {
  Choice choice;
  std::vector<Candidate> fresh, refused;
  bool any_eligible = false;
  std::optional<std::uint16_t> protocol_in_common;
  for (std::size_t i = 0; i < backends.size(); ++i) {
    const BackendInfo& b = backends[i];
    if (!b.healthy || b.weight <= 0 || !(user.ipv6 ? b.ipv6 : b.ipv4)) continue;
    any_eligible = true;
    auto proto = first_common(user.protocols, [&](std::uint16_t id) {
      return std::find(b.protocols.begin(), b.protocols.end(), id) != b.protocols.end();
    });
    if (!proto) continue;
    if (!protocol_in_common) protocol_in_common = proto;
    const ke::AlgorithmDescription* alg = nullptr;
    auto aead = first_common(user.aeads, [&](std::uint16_t id) {
      for (const auto& a : b.algorithms)
        if (a.id == id && a.key_length > 0 && a.key_length <= kMaxKeyLength) {
          alg = &a;
          return true;
        }
      return false;
    });
    if (!aead) continue;
    Candidate c{i, *proto, *aead, alg->key_length};
    (denied(b, user.denied) ? refused : fresh).push_back(c);
  }
  if (!any_eligible) return choice;  // kNoBackend
  if (fresh.empty() && refused.empty()) {
    if (protocol_in_common) {
      choice.kind = Choice::Kind::kNoAead;
      choice.protocol = *protocol_in_common;
    } else {
      choice.kind = Choice::Kind::kNoProtocol;
    }
    return choice;
  }
  weighted_shuffle(fresh, backends, rng);
  weighted_shuffle(refused, backends, rng);
  // nts-pool (RoundRobinServerManager::assign_server): a denied server is
  // still given when no other can be; the pool draft lets a pool ignore the
  // request. Denied ones also serve as a fallback if all others fail before
  // the user's keys are sent.
  choice.deny_ignored = fresh.empty();
  choice.order = std::move(fresh);
  choice.order.insert(choice.order.end(), refused.begin(), refused.end());
  choice.kind = Choice::Kind::kCandidates;
  return choice;
}

}  // namespace ntsd::pool
