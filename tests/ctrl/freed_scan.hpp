// An allocation hook for tests: while armed, every block handed to the
// global operator delete is searched, before it is freed, for the hex text
// of given secrets. Used to prove that key-file code wipes what it frees
// (issue 20, item 5). The replacement operators live in freed_scan.cpp.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace ntsd::test {

class FreedScan {
 public:
  // Watches for any kWindow consecutive hex digits of each secret's hex
  // text (either case) in freed blocks. One scan at a time.
  explicit FreedScan(const std::vector<std::string>& hex_secrets);
  ~FreedScan();
  FreedScan(const FreedScan&) = delete;
  FreedScan& operator=(const FreedScan&) = delete;

  // Blocks freed since construction that held such a window, and how many
  // blocks were checked at all (to show the hook saw the traffic).
  std::size_t hits() const;
  std::size_t scanned() const;
  // The first hit, as text (for the failure message).
  std::string first_hit() const;

  static constexpr std::size_t kWindow = 16;
};

}  // namespace ntsd::test
