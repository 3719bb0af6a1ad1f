// Separable resampling of an image window into a dense output sample, fused with the writes the
// loader needs (mirror, per-channel x * a + b, CHW or HWC layout, output dtype).
//
// Semantics are those of torch.nn.functional.interpolate(mode="bilinear", antialias=True,
// align_corners=False) (torchvision v2's Resize and Pillow's BILINEAR: a triangle filter widened
// by the scale when shrinking) and of interpolate(mode="nearest"). Each output row is computed
// as a vertical pass (a weighted sum of source rows, in float32) and a horizontal pass over that
// row, then written; the coefficient tables are computed once per sample into a scratch that
// the caller owns and reuses, so steady-state resizing allocates nothing.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "nocopy/core/dtype.hpp"

namespace nocopy {

/// How pixel values between source samples are computed.
enum class Interpolation : uint8_t {
  Bilinear,  ///< triangle filter, antialiased (widened by the scale) when shrinking
  Nearest,   ///< torch's "nearest": source index floor(i * in / out)
};

/// Parses "bilinear" or "nearest"; std::invalid_argument naming the text otherwise.
Interpolation interpolation_from_string(std::string_view name);

/// The resampling coefficients of one axis: for output indices [begin, begin + size()) of a
/// resize from `in_size` to `out_size` samples, the first source index, the tap count and the
/// normalized weights of each output index.
class ResampleTable {
 public:
  /// Recomputes the table (reusing its memory: no allocation once it has held a table as
  /// large). Requires in_size, out_size >= 1 and [begin, begin + count) inside [0, out_size);
  /// the caller (the loader's validated options) guarantees it. A `span` > 0 resizes the
  /// stretch [offset, offset + span) of the in_size samples instead of all of them (edges
  /// between samples, as Pillow's resize box; taps stay inside [0, in_size)).
  void compute(int64_t in_size, int64_t out_size, int64_t begin, int64_t count, Interpolation mode,
               double offset = 0.0, double span = 0.0);
  /// Number of output indices in the table.
  int64_t size() const { return size_; }
  /// Distance between the weights of consecutive output indices.
  int64_t stride() const { return stride_; }
  /// First source index of output index i (relative to the source axis start).
  const int64_t* first() const { return first_.data(); }
  /// Taps of output index i (>= 1).
  const int32_t* count() const { return count_.data(); }
  /// Weights of output index i at weights() + i * stride(); they sum to 1.
  const float* weights() const { return weights_.data(); }
  /// Smallest and one past the largest source index any output index reads.
  int64_t source_begin() const { return source_begin_; }
  int64_t source_end() const { return source_end_; }

 private:
  std::vector<int64_t> first_;
  std::vector<int32_t> count_;
  std::vector<float> weights_;
  std::vector<double> work_;
  int64_t size_ = 0, stride_ = 1, source_begin_ = 0, source_end_ = 0;
};

/// A source image: HWC with any element strides (negative included).
struct ResizeSource {
  /// Element (0, 0, 0) of the image.
  const void* data = nullptr;
  /// uint8, uint16, float16, bfloat16, float32 or float64 (others: std::invalid_argument).
  DType dtype = DType::UInt8;
  /// Extent of the image (rows, columns, channels).
  int64_t height = 1, width = 1, channels = 1;
  /// Element strides of rows, columns and channels.
  int64_t stride_h = 0, stride_w = 0, stride_c = 0;
};

/// Which part of the source is resampled to what, and which part of the result is produced.
struct ResizeGeometry {
  /// The source window: rows [top, top + height), columns [left, left + width).
  int64_t top = 0, left = 0, height = 1, width = 1;
  /// When the window's edges fall between source pixels (a DCT-scaled JPEG window): it covers
  /// rows [top + offset_y, top + offset_y + span_h) and columns [left + offset_x, left +
  /// offset_x + span_w), inside the whole pixels above, which are all that is read. A span of
  /// 0 means the whole pixels (offset 0).
  double offset_y = 0.0, offset_x = 0.0, span_h = 0.0, span_w = 0.0;
  /// Size the window is resampled to.
  int64_t resized_h = 1, resized_w = 1;
  /// The produced part of the resampled window: rows [out_top, out_top + out_h), columns
  /// [out_left, out_left + out_w) (a center crop of a resize; the whole of it otherwise).
  int64_t out_top = 0, out_left = 0, out_h = 1, out_w = 1;
  /// Mirror the output horizontally.
  bool mirror = false;
  Interpolation interpolation = Interpolation::Bilinear;
};

/// Where and how the output sample is written: out_h * out_w * C dense elements.
struct ResizeOutput {
  /// First element of the sample.
  void* data = nullptr;
  /// float32, float16, bfloat16, or uint8 (rounded to nearest and saturated).
  DType dtype = DType::Float32;
  /// CHW planes when true, else HWC.
  bool channels_first = true;
  /// Per-channel multiplier a[c] and offset b[c]: written value = resampled * a[c] + b[c].
  const float* a = nullptr;
  const float* b = nullptr;
};

/// Memory one worker (or sample slot) reuses for every sample it resizes.
struct ResizeScratch {
  /// Coefficients of the rows and the columns of the current sample.
  ResampleTable rows, cols;
  /// One vertically resampled source row (window columns x channels) and one output row.
  std::vector<float> vertical, horizontal;
};

/// True for uint8, uint16 and float32: the sources the resampler's Python test seam accepts
/// (resample_window itself reads every dtype ResizeSource lists).
bool is_resize_source_dtype(DType t);
/// The output dtypes resample_window writes.
bool is_resize_output_dtype(DType t);

/// Resamples `g`'s window of `src` into `out` in one pass (see the file comment). The caller
/// guarantees the geometry is inside the source and the dtypes are supported (the loader's
/// options are validated once); nothing here allocates once `scratch` has seen a sample as big.
void resample_window(const ResizeSource& src, const ResizeGeometry& g, const ResizeOutput& out,
                     ResizeScratch& scratch);

}  // namespace nocopy
