// Text of POSIX error numbers for messages, in one place (thread-safe, unlike strerror).
#pragma once

#include <string>
#include <system_error>

namespace nocopy {

/// The system's description of errno value `err` ("No such file or directory").
inline std::string errno_text(int err) {
  return std::generic_category().message(err);
}

}  // namespace nocopy
