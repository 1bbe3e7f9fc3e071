# Shared build conventions for every ntsd target.

set(NTSD_WARNINGS -Wall -Wextra -Werror -Wshadow -Wnon-virtual-dtor -Wno-missing-field-initializers)

if(NTSD_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()

# Code on the per-packet path is built without exceptions (DEVELOPERS.md).
function(ntsd_hot_path target)
  target_compile_options(${target} PRIVATE -fno-exceptions)
endfunction()

# A library target with the project's warnings.
function(ntsd_library name)
  cmake_parse_arguments(A "" "" "SOURCES;PUBLIC;PRIVATE" ${ARGN})
  add_library(${name} STATIC ${A_SOURCES})
  target_compile_options(${name} PRIVATE ${NTSD_WARNINGS})
  target_link_libraries(${name} PUBLIC ${A_PUBLIC} PRIVATE ${A_PRIVATE})
endfunction()

# A GoogleTest binary registered with ctest. Tests find vectors through
# NTSD_VECTORS so that they run from any directory.
function(ntsd_gtest name)
  cmake_parse_arguments(A "" "TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  if(NOT NTSD_TESTS)
    return()
  endif()
  add_executable(${name} ${A_SOURCES})
  target_compile_options(${name} PRIVATE ${NTSD_WARNINGS})
  target_link_libraries(${name} PRIVATE ${A_LIBS} GTest::gtest GTest::gtest_main)
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  add_test(NAME ${name} COMMAND ${name})
  if(NOT A_TIMEOUT)
    set(A_TIMEOUT 300)
  endif()
  set_tests_properties(${name} PROPERTIES
    ENVIRONMENT "NTSD_VECTORS=${CMAKE_SOURCE_DIR}/tests/vectors;NTSD_BIN=${CMAKE_BINARY_DIR}/bin;NTSD_SOURCE=${CMAKE_SOURCE_DIR}"
    TIMEOUT ${A_TIMEOUT} LABELS "unit;${A_LABELS}")
endfunction()

# A libFuzzer target, built only with NTSD_FUZZ (clang). ctest runs each one for
# NTSD_FUZZ_SECONDS under ASan+UBSan, starting from its seed corpus if present.
set(NTSD_FUZZ_SECONDS 30 CACHE STRING "Seconds each fuzzer runs under ctest")
function(ntsd_fuzzer name)
  cmake_parse_arguments(A "" "CORPUS" "SOURCES;LIBS" ${ARGN})
  if(NOT NTSD_FUZZ)
    return()
  endif()
  add_executable(${name} ${A_SOURCES})
  target_compile_options(${name} PRIVATE ${NTSD_WARNINGS} -fsanitize=fuzzer)
  target_link_options(${name} PRIVATE -fsanitize=fuzzer)
  target_link_libraries(${name} PRIVATE ${A_LIBS})
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz)
  set(workdir ${CMAKE_BINARY_DIR}/fuzz/${name}.corpus)
  set(seeds "")
  if(A_CORPUS)
    set(seeds ${A_CORPUS})
  endif()
  add_test(NAME ${name}
    COMMAND ${CMAKE_COMMAND} -E env ASAN_OPTIONS=detect_leaks=1
      sh -c "mkdir -p '${workdir}' && exec \"$0\" -max_total_time=${NTSD_FUZZ_SECONDS} -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 '${workdir}' ${seeds}" $<TARGET_FILE:${name}>)
  set_tests_properties(${name} PROPERTIES TIMEOUT 600 LABELS "fuzz")
  # For bench/fuzz_long.sh: where this fuzzer's seeds live (its own corpus
  # directory under tests/, made if the target has none yet).
  set(home ${A_CORPUS})
  if(NOT home)
    set(home ${CMAKE_CURRENT_SOURCE_DIR}/corpus/${name})
  endif()
  set_property(GLOBAL APPEND PROPERTY NTSD_FUZZERS "${name}\t${home}")
endfunction()

# A test that runs a script (end-to-end tests with real peers, namespaces).
function(ntsd_script_test name script)
  cmake_parse_arguments(A "" "TIMEOUT" "ARGS;LABELS" ${ARGN})
  if(NOT NTSD_TESTS)
    return()
  endif()
  if(NOT A_TIMEOUT)
    set(A_TIMEOUT 300)
  endif()
  add_test(NAME ${name} COMMAND ${script} ${A_ARGS})
  # Exit 77 is a skip (tests/e2e/lib.sh e2e_skip): ctest reports it as
  # skipped, not passed. NTSD_WITH_DPDK tells a script whether a missing
  # DPDK backend is a skip (not requested) or a failure (requested).
  if(NTSD_WITH_DPDK)
    set(with_dpdk ON)
  else()
    set(with_dpdk OFF)
  endif()
  set_tests_properties(${name} PROPERTIES
    ENVIRONMENT "NTSD_VECTORS=${CMAKE_SOURCE_DIR}/tests/vectors;NTSD_BIN=${CMAKE_BINARY_DIR}/bin;NTSD_SOURCE=${CMAKE_SOURCE_DIR};NTSD_BUILD=${CMAKE_BINARY_DIR};NTSD_WITH_DPDK=${with_dpdk}"
    TIMEOUT ${A_TIMEOUT} LABELS "e2e;${A_LABELS}" RUN_SERIAL TRUE SKIP_RETURN_CODE 77)
endfunction()
