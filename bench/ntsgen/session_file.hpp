// Sessions from a file instead of NTS-KE, for tests and for replaying keys
// obtained elsewhere. One session per line:
//   <c2s hex> <s2c hex> <cookie hex> [<cookie hex> ...]
// Blank lines and lines starting with '#' are ignored.
#pragma once

#include <string>
#include <vector>

#include "session.hpp"

namespace ntsgen {

bool load_session_file(const std::string& path, std::vector<Session>& out, std::string& err);
// One line in the format above (tests write files with it).
std::string session_line(const Session& s, ntsd::crypto::Bytes cookie);

}  // namespace ntsgen
