// One sample through a compiled transforms pipeline, whatever its source: the geometry's one
// resample (asked of the source, which decodes or converts only the window it is given), the
// composed index tables, the pixel steps, the fused ToDtype / Normalize write of the output and
// RandomErasing on it. The image producer runs it once per image; the video producer once per
// frame of a clip, with the clip's parameters, so every frame gets the same transform.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "nocopy/pipeline/kernels/resize.hpp"
#include "nocopy/pipeline/ops/pixel_steps.hpp"
#include "nocopy/pipeline/ops/transform_program.hpp"

namespace nocopy {

/// Writes a window of the sample's source image through the resampling kernel: `g`'s window
/// (source coordinates) resized and its produced part written to `out`. Throws for a source
/// that cannot be read.
using SourceResampler = std::function<void(const ResizeGeometry& g, const ResizeOutput& out)>;

/// Memory one worker reuses for every sample it transforms (no allocation once warm).
struct TransformScratch {
  /// The resampled rows and columns the tables read, and the sample's uint8 image.
  std::vector<uint8_t> resampled, image;
  ResizeScratch resize;
  PixelScratch pixels;
  /// RandomErasing(value="random")'s noise.
  std::vector<float> noise;
  /// The identity write (x * 1 + 0) of each channel, for the uint8 scratch.
  std::vector<float> ones, zeros;
};

/// The sample with parameters `params` and geometry `g` (sample_geometry of the same
/// parameters) of a source of `channels` channels, written to `out` (the output size, dtype and
/// channels of `program`; CHW when `channels_first`, else HWC). `resample` reads the source.
void apply_transforms(const TransformProgram& program, std::span<const double> params,
                      const SampleGeometry& g, int64_t channels, const SourceResampler& resample,
                      void* out, bool channels_first, TransformScratch& scratch);

}  // namespace nocopy
