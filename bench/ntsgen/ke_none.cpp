// Built when the NTS-KE client library (ntsd_ke_client) is not in the tree:
// NTS runs still work from --session-file.
#include "ke.hpp"

namespace ntsgen {

bool establish_sessions(const KeOptions&, std::vector<Session>&, std::string& err) {
  err = "this ntsgen was built without ntsd_ke_client; use --session-file";
  return false;
}

}  // namespace ntsgen
