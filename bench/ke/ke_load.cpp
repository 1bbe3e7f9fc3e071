// ke_load: NTS-KE handshakes per second against any NTS-KE server or pool
// (ntsd-ke, ntsd-pool, chrony, ntpsec): the same code as `ntsgen ke-load`
// (bench/ntsgen/ke_load.cpp), kept as a binary for bench/ke/run.sh.
//
//   ke_load HOST:PORT --ca FILE [--threads N] [--seconds S] [--aead ID] [--deny NAME]...
//
// Bounded in time; prints "handshakes N errors E seconds S rate R/s".
#include "ke_load.hpp"

int main(int argc, char** argv) { return ntsgen::ke_load_main(argc, argv); }
