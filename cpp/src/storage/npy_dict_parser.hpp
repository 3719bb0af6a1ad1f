// The dict literal of a .npy header ({'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }):
// a strict, bounded recursive-descent parser for exactly what NumPy writes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "nocopy/core/dtype.hpp"

namespace nocopy {

/// The three fields of a .npy header dict.
struct NpyDict {
  /// Element type (from 'descr').
  DType dtype = DType::UInt8;
  /// Column-major data when true.
  bool fortran_order = false;
  /// Extent of each axis (empty for a 0-d array).
  std::vector<int64_t> shape;
};

/// Throws std::invalid_argument("invalid .npy header: " + msg).
[[noreturn]] void fail_npy_header(const std::string& msg);

/// Parses the dict text (without the trailing '\n'): exactly the keys 'descr', 'fortran_order'
/// and 'shape', each once; std::invalid_argument naming the offset and the problem otherwise.
NpyDict parse_npy_dict(std::string_view text);

}  // namespace nocopy
