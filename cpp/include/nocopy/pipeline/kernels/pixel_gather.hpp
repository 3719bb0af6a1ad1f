// Index-table kernels of the transforms: an image made from another by one table of rows and
// one of columns (the composed crops, pads and flips of a sample), and a rectangle of a written
// sample set to one value per channel (RandomErasing).
#pragma once

#include <cstdint>
#include <span>

#include "nocopy/core/dtype.hpp"

namespace nocopy {

/// out[y][x] = src[rows[y] - row0][cols[x] - col0] for every channel where both entries are
/// >= 0; otherwise fill k's values (fill[k * channels + c], rounded, saturated), k the largest
/// of the negative entries' -1 - entry. src is dense HWC uint8 with `src_w` columns and
/// `channels` channels; out is dense HWC uint8 of rows.size() x cols.size(). The caller
/// guarantees every non-negative entry names a row / column of src and every k a fill.
void gather_pixels(const uint8_t* src, int64_t src_w, int64_t channels, int64_t row0, int64_t col0,
                   std::span<const int64_t> rows, std::span<const int64_t> cols,
                   std::span<const double> fill, uint8_t* out);

/// Sets rows [top, top + h) and columns [left, left + w) of a dense sample (`height` x `width`
/// x `channels`, CHW when channels_first, else HWC) of dtype float32, float16, bfloat16 or
/// uint8 to value[c] (one value, or one per channel), converted to the dtype.
void fill_rectangle(void* sample, DType dtype, bool channels_first, int64_t height, int64_t width,
                    int64_t channels, int64_t top, int64_t left, int64_t h, int64_t w,
                    std::span<const double> value);

/// The same rectangle set to `values` instead: h x w x channels floats in CHW order (channel,
/// then row, then column: torchvision's erase of a (C, h, w) value), converted to the dtype.
void fill_rectangle_values(void* sample, DType dtype, bool channels_first, int64_t height,
                           int64_t width, int64_t channels, int64_t top, int64_t left, int64_t h,
                           int64_t w, const float* values);

}  // namespace nocopy
