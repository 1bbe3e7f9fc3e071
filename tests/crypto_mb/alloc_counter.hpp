// Counts calls of the global operator new in this test binary, to prove that
// the engines allocate nothing per burst. The replacement lives in its own
// translation unit (alloc_counter.cpp).
#pragma once

#include <cstddef>

namespace ntsd::test {
std::size_t operator_new_calls() noexcept;
}  // namespace ntsd::test
