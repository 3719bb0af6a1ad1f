// The normalize / layout / dtype operator, declared once: out = (x * scale - mean[c]) / std[c]
// in the chosen axis order and output dtype, its options with their docs and defaults, resolved
// into the kernels' TransformSpec (whose constructor checks the values against the source).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "nocopy/core/dtype.hpp"
#include "nocopy/core/option_spec.hpp"
#include "nocopy/pipeline/kernels/sample_transform.hpp"

namespace nocopy {

/// The operator's options (nc.Loader's keyword arguments of the same names and defaults).
struct NormalizeOptions {
  /// Per-channel mean and std in scaled units: one value or one per channel; absent means no
  /// normalization (an empty list is an error: pass nothing instead).
  std::optional<std::vector<double>> mean, std;
  /// Multiplier of the source values; absent means 1/255 for float outputs, 1 for uint8.
  std::optional<double> scale;
  /// Axis order of each output sample.
  Layout layout = Layout::CHW;
  /// Output dtype: float32, float16, bfloat16 or uint8 (uint8: source bytes unchanged).
  DType dtype = DType::Float32;
};

/// The declarations of NormalizeOptions.
std::span<const OptionSpec<NormalizeOptions>> normalize_option_specs();

/// The kernel's spec for an output window of crop_h x crop_w: the defaults resolved (scale),
/// mean/std given as empty lists refused (std::invalid_argument naming them).
TransformSpec transform_spec(const NormalizeOptions& options, int64_t crop_h, int64_t crop_w);

}  // namespace nocopy
