// ntsd-query: the one-shot NTS client until `ntsgen query` exists (same code).
#include "ntsd/ke/query.hpp"

int main(int argc, char** argv) { return ntsd::query_main(argc, argv); }
