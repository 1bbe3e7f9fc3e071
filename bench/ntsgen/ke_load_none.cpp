// `ntsgen ke-load` without ctrl's NTS-KE client in the build.
#include <cstdio>

#include "ke_load.hpp"

namespace ntsgen {

int ke_load_main(int, char**) {
  std::fprintf(stderr, "ntsgen: built without the NTS-KE client (ctrl/ke)\n");
  return 2;
}

}  // namespace ntsgen
