// Overflow-checked integer arithmetic for geometry (sizes, extents, offsets).
//
// Every size the core computes from user input goes through these so that absurd shapes raise
// std::overflow_error naming the quantity instead of wrapping around.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace nocopy {

/// a * b, or std::overflow_error naming `what` when the product does not fit in int64.
inline int64_t checked_mul(int64_t a, int64_t b, std::string_view what) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) {
    throw std::overflow_error(std::string(what) + " overflows int64: " + std::to_string(a) + " * " +
                              std::to_string(b));
  }
  return r;
}

/// a + b, or std::overflow_error naming `what` when the sum does not fit in int64.
inline int64_t checked_add(int64_t a, int64_t b, std::string_view what) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) {
    throw std::overflow_error(std::string(what) + " overflows int64: " + std::to_string(a) + " + " +
                              std::to_string(b));
  }
  return r;
}

}  // namespace nocopy
