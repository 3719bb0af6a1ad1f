// Internal: the strided element-conversion kernels behind nocopy::copy, one per dtype pair.
//
// A kernel converts a run of `n` elements; strides are in bytes and may be zero or negative.
// Not installed: the public entry points are in nocopy/copy.hpp.
#pragma once

#include <cstdint>

#include "nocopy/core/dtype.hpp"

namespace nocopy::detail {

/// Converts n elements from src (byte stride src_stride) to dst (byte stride dst_stride).
using ConvertKernel = void (*)(const char* src, int64_t src_stride, char* dst, int64_t dst_stride,
                               int64_t n);

/// The kernel that casts `from` elements to `to` elements like NumPy's astype (unsafe casting;
/// float -> integer saturates and maps NaN to 0). Same-dtype pairs copy bytes.
ConvertKernel convert_kernel(DType from, DType to);

}  // namespace nocopy::detail
