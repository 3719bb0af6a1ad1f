// The augmentation policies of a transforms pipeline (torchvision v2's AutoAugment with the
// ImageNet policy, RandAugment, TrivialAugmentWide and AugMix) and the random warps
// (RandomRotation, RandomAffine): their per-sample draws and their application to a sample's
// uint8 image.
//
// Each policy draws, per sample, the operations of torchvision's op space (the same names in
// the same order, chosen with the same probabilities), their magnitudes (torchvision's float32
// linspace tables, computed as torch computes them) and signs. Every operation runs as
// torchvision's functional op of the same meaning on a uint8 tensor: the geometric ones through
// the affine warp (rotate's exact quarter turns included), the colour ones through the colour
// kernels. AugMix blends its chains in float32 in torchvision's order and truncates to uint8.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "nocopy/pipeline/kernels/color_ops.hpp"
#include "nocopy/pipeline/kernels/resize.hpp"
#include "nocopy/pipeline/ops/transform_program.hpp"

namespace nocopy {

/// The operations of the policies' op spaces (torchvision's names, in one numbering).
enum class AugmentOp : uint8_t {
  Identity,
  ShearX,
  ShearY,
  TranslateX,
  TranslateY,
  Rotate,
  Brightness,
  Color,
  Contrast,
  Sharpness,
  Posterize,
  Solarize,
  AutoContrast,
  Equalize,
  Invert,
};

/// Number of AugmentOp values.
inline constexpr int kAugmentOpCount = 15;

/// torchvision's name of an operation.
std::string_view augment_op_name(AugmentOp op);

/// Work buffers of the pixel steps: the colour kernels' and the warps' and AugMix's.
struct PolicyScratch : ColorScratch {
  /// The image before a warp (the warp reads it while writing the image).
  std::vector<uint8_t> warp_source;
  /// AugMix: the original image and the chain being augmented.
  std::vector<uint8_t> original, chain;
  /// AugMix: the float32 mix.
  std::vector<float> mix;
};

/// Where a step's random words come from: word d is counter_hash(seed, epoch, position,
/// stream + d).
struct DrawKey {
  uint64_t seed = 0, epoch = 0, position = 0, stream = 0;
  /// Random word d of the step.
  uint64_t word(uint64_t d) const;
};

/// Words a policy step may use (its streams are DrawKey::stream + [0, kPolicyWords)).
inline constexpr uint64_t kPolicyWords = uint64_t{1} << 20;

/// True for the kinds this file draws and applies (the warps and the policies).
bool is_augment_policy(StepKind kind);

/// The names of the parameters a policy or warp step draws (step_parameter_names' entries).
std::vector<std::string> augment_parameter_names(const TransformStep& step);

/// Checks a policy or warp step's arguments (std::invalid_argument naming them).
void validate_augment_step(const TransformStep& step);

/// Draws the parameters of a policy or warp step for an image of (height, width) into `out`
/// (augment_parameter_names' order).
void draw_augment_step(const TransformStep& step, const DrawKey& key, int64_t height, int64_t width,
                       double* out);

/// Applies a policy or warp step with its drawn parameters `params` to `image`.
void apply_augment_step(const TransformStep& step, const double* params, ImageU8 image,
                        PolicyScratch& scratch);

/// torchvision's rotate (expand=False) of `image` by `angle` degrees counter-clockwise about
/// `center` (pixel coordinates; null: the image center, where multiples of 90 degrees are exact
/// flips and, on square images, transpositions). `fill`: one float per channel, or null.
void rotate_image(ImageU8 image, double angle, Interpolation mode, const double* center,
                  const float* fill, PolicyScratch& scratch);

/// torchvision's affine of `image`: rotation by `angle` degrees (clockwise), translation,
/// scale and shear (degrees) about `center` (pixel coordinates; null: the image center).
void affine_image(ImageU8 image, double angle, std::array<double, 2> translate, double scale,
                  std::array<double, 2> shear, Interpolation mode, const double* center,
                  const float* fill, PolicyScratch& scratch);

/// Applies one operation of the op spaces with its (signed) magnitude, as torchvision's
/// _apply_image_or_video_transform does on a uint8 image.
void apply_augment_op(ImageU8 image, AugmentOp op, double magnitude, Interpolation mode,
                      const float* fill, PolicyScratch& scratch);

}  // namespace nocopy
