// format_number: a double as the shortest text that reads back as the same value ("0.5", "1e-40",
// "inf"), for error messages that must name the value the user passed.
#pragma once

#include <charconv>
#include <string>
#include <system_error>

namespace nocopy {

/// Shortest round-trip decimal form of `v` (std::to_chars), e.g. 0.229, 1e-40, -inf, nan.
inline std::string format_number(double v) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof(buf), v);
  if (r.ec != std::errc()) return "?";
  return std::string(buf, r.ptr);
}

}  // namespace nocopy
