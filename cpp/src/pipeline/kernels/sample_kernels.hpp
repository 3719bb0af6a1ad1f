// Internal: the fused per-sample kernels behind SampleTransform::apply, one per source dtype,
// output dtype, channel count and layout, each with an AVX2 and a baseline variant.
//
// A kernel reads one crop window of a strided (H, W, C) source and writes one dense output
// sample. Not installed: the public entry point is nocopy/pipeline/kernels/sample_transform.hpp.
#pragma once

#include <cstdint>

#include "nocopy/core/dtype.hpp"
#include "nocopy/core/dtype_visit.hpp"
#include "nocopy/pipeline/kernels/sample_transform.hpp"

namespace nocopy::detail {

/// The source dtypes the kernels read.
using SampleSourceDTypes = DTypeSet<DType::UInt8, DType::UInt16, DType::Float16, DType::BFloat16,
                                    DType::Float32, DType::Float64>;
/// The output dtypes the kernels write (uint8 only from uint8 sources: a copy of the bytes).
using SampleOutputDTypes = DTypeSet<DType::Float32, DType::Float16, DType::BFloat16, DType::UInt8>;

/// Everything one sample's kernel needs; strides are in source elements and may be negative.
struct SampleKernelArgs {
  /// Source element (top, left, channel 0) of the window.
  const void* src;
  /// Source elements from one row, column and channel to the next.
  int64_t row_stride, pixel_stride, channel_stride;
  /// Window rows and columns (the output sample's size) and channels C.
  int64_t rows, cols, channels;
  /// Read each row right to left (horizontal mirror).
  bool mirror;
  /// Dense output sample, rows * cols * channels elements of the output dtype.
  void* out;
  /// Per channel: out = x * multiplier[c] + offset[c] (C values each; unused for uint8 output).
  const float *multiplier, *offset;
  /// multiplier and offset tiled over one HWC output row (cols * C values each).
  const float *multiplier_row, *offset_row;
};

/// One instance of the fused kernel.
using SampleKernel = void (*)(const SampleKernelArgs&);

/// The kernel for `src` -> `out` elements in `layout`, for the best instruction set this CPU
/// has. `dense_channels` is C when pixels are dense (channel_stride 1, pixel_stride C) and C is
/// 1, 3 or 4 (a kernel specialized for it), else 0 (any strides). The dtypes must have passed
/// SampleTransform's checks (std::invalid_argument naming the dtype otherwise).
SampleKernel pick_sample_kernel(DType src, DType out, int dense_channels, Layout layout);

}  // namespace nocopy::detail
