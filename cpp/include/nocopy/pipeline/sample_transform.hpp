// Fused per-sample transform: crop window, horizontal mirror, scale/normalize, layout change and
// dtype conversion in one pass from a source image into a batch buffer slot.
//
// out[c] = (x * scale - mean[c]) / std[c] is computed as x * a[c] + b[c] in float32 with
// a[c] = scale / std[c] and b[c] = -mean[c] / std[c] (both rounded once from double), so a
// NumPy reference using the same two arrays reproduces the bytes exactly. uint8 output copies
// the source bytes unchanged (crop, mirror and layout only): it needs a uint8 source, scale 1
// and no mean/std.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "nocopy/core/dtype.hpp"
#include "nocopy/core/view.hpp"

namespace nocopy {

/// Axis order of one output sample.
enum class Layout : uint8_t {
  CHW,  ///< channels first (PyTorch)
  HWC,  ///< channels last (TensorFlow, JAX)
};

/// What the transform produces; validated by SampleTransform's constructor.
struct TransformSpec {
  /// Output window size (rows, columns).
  int64_t crop_h = 1, crop_w = 1;
  Layout layout = Layout::CHW;
  /// float32, float16, bfloat16 or uint8.
  DType dtype = DType::Float32;
  /// Multiplies the source value before normalization (1/255 maps bytes to [0, 1]).
  double scale = 1.0;
  /// Per-channel mean and std in scaled units; empty (no normalization), one value (all
  /// channels) or one per channel.
  std::vector<double> mean, std;
};

/// The source dtypes a transform reads.
bool is_supported_source(DType t);

/// One fused pass from a (N, H, W, C) source view (any strides) into dense output samples.
class SampleTransform {
 public:
  /// Checks the source (4-d, CPU, supported dtype) and the spec against it; throws
  /// std::invalid_argument / BufferError naming the argument, the value and the limit.
  SampleTransform(View source, const TransformSpec& spec);

  /// Bytes one output sample takes (crop_h * crop_w * C * itemsize).
  size_t sample_bytes() const { return sample_bytes_; }
  /// Channels C of the source and the output.
  int64_t channels() const { return channels_; }
  const TransformSpec& spec() const { return spec_; }
  /// The float32 multipliers a[c] and offsets b[c] (out = x * a[c] + b[c]).
  const std::vector<float>& multipliers() const { return a_; }
  const std::vector<float>& offsets() const { return b_; }

  /// Writes sample `n` cropped at (top, left), mirrored when asked, to `out` (sample_bytes()
  /// bytes, dense). The caller guarantees n, top and left are in range (the sampler's plans are).
  void apply(int64_t n, int64_t top, int64_t left, bool mirror, void* out) const;

 private:
  View source_;
  TransformSpec spec_;
  int64_t channels_ = 0;
  size_t sample_bytes_ = 0;
  std::vector<float> a_, b_;
  /// a_ and b_ tiled over one output row of HWC pixels (for the contiguous fast path).
  std::vector<float> a_row_, b_row_;
};

}  // namespace nocopy
