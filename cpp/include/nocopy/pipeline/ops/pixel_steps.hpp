// The pixel steps of a transforms pipeline (its colour transforms, policies and warps) run in
// order, in place, on a sample's uint8 image, each with the parameters drawn for the sample.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "nocopy/pipeline/kernels/color_ops.hpp"
#include "nocopy/pipeline/ops/augment_policies.hpp"
#include "nocopy/pipeline/ops/transform_program.hpp"

namespace nocopy {

/// A dense HWC uint8 image a pixel step rewrites.
using PixelImage = ImageU8;
/// Memory one worker reuses for every sample's pixel steps.
using PixelScratch = PolicyScratch;

/// Runs every pixel step of `program` with the sample's parameters `params` on `image`.
void run_pixel_steps(const TransformProgram& program, std::span<const double> params,
                     PixelImage image, PixelScratch& scratch);

}  // namespace nocopy
