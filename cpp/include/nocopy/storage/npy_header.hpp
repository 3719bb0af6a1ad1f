// The .npy header format: a strict, bounded header parser and a header writer NumPy reads
// (files are opened and created in npy_file.hpp).
//
// Format (NumPy's format.py): magic "\x93NUMPY", version (1,0) / (2,0) / (3,0), a little-endian
// header length (2 bytes in v1, 4 in v2/v3), then a Python dict literal with exactly the keys
// 'descr', 'fortran_order' and 'shape', padded with spaces and ended by '\n'; the data follows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "nocopy/core/dtype.hpp"

namespace nocopy {

/// Longest header text the parser accepts (v2/v3 lengths are 32-bit; real headers are tiny).
inline constexpr size_t kMaxNpyHeaderBytes = 1 << 20;

/// What a .npy header says about the data that follows it.
struct NpyHeader {
  /// Format major version: 1, 2 or 3.
  int version = 1;
  /// Element type (from 'descr'; little-endian or byte-sized types only).
  DType dtype = DType::UInt8;
  /// Column-major data when true.
  bool fortran_order = false;
  /// Extent of each axis (empty for a 0-d array).
  std::vector<int64_t> shape;
  /// Byte offset of the first data byte (magic + version + length field + header text).
  uint64_t data_offset = 0;
  /// prod(shape) * itemsize.
  uint64_t data_bytes = 0;
};

/// Parses the start of a .npy file. `prefix` holds the first bytes of the file (at least the
/// whole header; more is ignored) and `file_size` the file's size. Every field is checked,
/// including that the data fits in the file; std::invalid_argument names the problem otherwise
/// (std::overflow_error for shapes whose size overflows).
NpyHeader parse_npy_header(std::span<const uint8_t> prefix, uint64_t file_size);

/// The total header length (magic through '\n') that the first bytes of a file announce (at
/// least 12 bytes are needed), or 0 when they do not start like a .npy file. Not validated:
/// parse_npy_header does that; this only tells a reader how many bytes to read.
uint64_t npy_header_bytes(std::span<const uint8_t> preamble);

/// The .npy descr of a dtype ("<f4", "|u1", "|b1"); std::invalid_argument for bfloat16, which
/// has no .npy type NumPy can read back.
std::string npy_descr(DType dtype);

/// The dtype for a .npy descr; big-endian, object, structured and other unsupported descrs throw
/// std::invalid_argument saying why.
DType dtype_from_npy_descr(std::string_view descr);

/// The full header (magic through '\n') for an array, padded so the data starts on a 64-byte
/// boundary; version 1.0 unless the text needs the 32-bit length of version 2.0.
std::string make_npy_header(DType dtype, std::span<const int64_t> shape,
                            bool fortran_order = false);

}  // namespace nocopy
