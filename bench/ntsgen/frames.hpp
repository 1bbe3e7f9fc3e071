// Ethernet/IPv4/IPv6/UDP framing for the DPDK transport. Each simulated client
// is one (source address, source port) pair: client i uses address
// base + (i mod addrs) and port 20000 + (i div addrs), so a server (or a NIC's
// RSS hash) sees many distinct clients. Also ARP / Neighbor Solicitation
// requests to learn the server's MAC (RFC 826, RFC 4861 §7.2.2).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>

namespace ntsgen {

using Mac = std::array<std::uint8_t, 6>;

struct FrameConfig {
  Mac src_mac{}, dst_mac{};
  bool v6 = false;
  std::array<std::uint8_t, 16> src{}, dst{};  // IPv4 uses the first 4 bytes
  std::uint16_t dst_port = 123;
  std::uint32_t addrs = 1;     // source addresses
  std::uint32_t clients = 1;   // (address, port) pairs
};

// Parses a MAC "aa:bb:cc:dd:ee:ff".
bool parse_mac(const std::string& s, Mac& mac);
// Parses an IPv4 or IPv6 literal; v6 says which.
bool parse_ip(const std::string& s, std::array<std::uint8_t, 16>& ip, bool& v6);

class FrameBuilder {
 public:
  explicit FrameBuilder(const FrameConfig& c) : c_(c) { prepare(); }
  const FrameConfig& config() const noexcept { return c_; }
  void set_dst_mac(const Mac& m) noexcept {
    c_.dst_mac = m;
    prepare();
  }

  std::size_t header_len() const noexcept { return 14 + (c_.v6 ? 40u : 20u) + 8u; }
  // Writes the headers in front of the payload already at frame + header_len()
  // (with checksums), for client `client`. Returns the frame length. The
  // headers come from a template and their checksums from the values written
  // (RFC 1071 §2: the sum is a sum of 16-bit words, so the constant words are
  // summed once): only the payload is read back.
  std::size_t write(std::uint8_t* frame, std::uint32_t client, std::size_t payload_len) const noexcept;
  // The UDP payload of a frame from the server's port to one of our client
  // addresses; empty if the frame is anything else (e.g. the server's answer
  // to another host on the same link).
  std::span<const std::uint8_t> response_payload(std::span<const std::uint8_t> frame) const noexcept;

  // ARP request (IPv4) or Neighbor Solicitation (IPv6) for the server address.
  std::size_t write_resolve(std::uint8_t* frame, std::size_t cap) const noexcept;
  // The server's MAC from an ARP reply / Neighbor Advertisement, if it is one.
  bool parse_resolve(std::span<const std::uint8_t> frame, Mac& mac) const noexcept;

  // Source address of client i (network order), for answering ARP/ND.
  std::array<std::uint8_t, 16> client_addr(std::uint32_t i) const noexcept;
  // Whether `a` (4 or 16 bytes, network order) is one of our client addresses.
  bool is_client_addr(const std::uint8_t* a) const noexcept;

 private:
  // The header template and the constant parts of the checksums.
  void prepare() noexcept;
  // Client i's address index (i mod addrs) and port index (i div addrs).
  void split(std::uint32_t i, std::uint32_t& addr, std::uint32_t& port) const noexcept {
    if (addr_shift_ >= 0) {
      addr = i & addr_mask_;
      port = i >> addr_shift_;
    } else {
      addr = i % c_.addrs;
      port = i / c_.addrs;
    }
  }

  FrameConfig c_;
  std::array<std::uint8_t, 14 + 40> hdr_{};  // Ethernet + IPv4/IPv6 header of client 0, no length or checksum
  std::uint32_t src_low_ = 0;  // last 32 bits of the first client address, host order
  std::uint32_t ip_sum_ = 0;   // IPv4 header: the words that do not change
  std::uint32_t l4_sum_ = 0;   // UDP pseudo header and header: the words that do not change
  int addr_shift_ = 0;         // log2(addrs) when addrs is a power of two, else -1
  std::uint32_t addr_mask_ = 0;
};

}  // namespace ntsgen
