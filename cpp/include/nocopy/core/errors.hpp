// Exception types of the nocopy core beyond the standard ones.
//
// The core reports bad input with standard exceptions (std::invalid_argument -> ValueError,
// std::out_of_range -> IndexError, std::overflow_error -> OverflowError, std::domain_error ->
// TypeError); the bindings translate them in one place. These types cover the rest.
#pragma once

#include <stdexcept>

namespace nocopy {

/// Memory cannot be shared as asked (negative strides to a DLPack consumer, a read-only view to
/// a consumer that would write, a non-CPU buffer read from the host). Python: BufferError.
class BufferError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The caller used an operation a view cannot perform (e.g. advanced indexing). Python: TypeError.
class TypeError : public std::domain_error {
 public:
  using std::domain_error::domain_error;
};

}  // namespace nocopy
