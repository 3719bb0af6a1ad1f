// Internal: what the transform steps' checks and draws share (transform_program.cpp,
// augment_policies.cpp): numbers in messages, the step-named std::invalid_argument, and a
// uniform double from 64 random bits.
#pragma once

#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>

#include "nocopy/pipeline/ops/transform_program.hpp"
#include "nocopy/pipeline/sampling/beta_draw.hpp"

namespace nocopy::step_checks {

/// A number as messages print it (%g).
inline std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

/// std::invalid_argument "<transform>: <what>".
[[noreturn]] inline void fail(const TransformStep& s, const std::string& what) {
  throw std::invalid_argument(std::string(step_kind_name(s.kind)) + ": " + what);
}

/// fail(s, what) unless ok.
inline void require(bool ok, const TransformStep& s, const std::string& what) {
  if (!ok) fail(s, what);
}

/// A uniform double in [0, 1) from 53 of the bits.
inline double unit(uint64_t bits) {
  return uniform01(bits);
}

}  // namespace nocopy::step_checks
