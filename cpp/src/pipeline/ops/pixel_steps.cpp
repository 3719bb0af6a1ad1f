// The pixel steps of a transforms pipeline, dispatched to the colour kernels and the
// augmentation policies with each sample's drawn parameters (ColorJitter's order and factors,
// the Random* transforms' coin, the blur's sigma, the policies' ops), RandomApply, RandomChoice
// and RandomOrder running their transforms as drawn.
#include "nocopy/pipeline/ops/pixel_steps.hpp"

#include <array>
#include <cmath>

namespace nocopy {

namespace {

void run_steps(const TransformProgram& program, std::span<const double> params, size_t first,
               size_t last, PixelImage image, PixelScratch& scratch);

/// Runs step k and its contents (a group's transforms); returns the step after them.
size_t run_step(const TransformProgram& program, std::span<const double> params, size_t k,
                PixelImage image, PixelScratch& scratch) {
  const std::vector<TransformStep>& steps = program.steps();
  const TransformStep& s = steps[k];
  const double* v = params.data() + program.parameter_offset(k);
  const size_t end = k + 1 + static_cast<size_t>(s.span);
  if (is_augment_policy(s.kind)) {
    apply_augment_step(s, v, image, scratch);
    return end;
  }
  if (s.kind == StepKind::RandomApply || s.kind == StepKind::Compose) {
    if (s.kind == StepKind::Compose || v[0] != 0.0) {
      run_steps(program, params, k + 1, end, image, scratch);
    }
    return end;
  }
  if (s.kind == StepKind::RandomChoice || s.kind == StepKind::RandomOrder) {
    std::array<size_t, 64> child{};  // where each direct child starts
    size_t n = 0;
    for (size_t c = k + 1; c < end && n < child.size();
         c += 1 + static_cast<size_t>(steps[c].span)) {
      child[n++] = c;
    }
    if (s.kind == StepKind::RandomChoice) {
      run_step(program, params, child[static_cast<size_t>(v[0])], image, scratch);
    } else {
      for (size_t i = 0; i < n; ++i) {
        run_step(program, params, child[static_cast<size_t>(v[i])], image, scratch);
      }
    }
    return end;
  }
  {
    switch (s.kind) {
      case StepKind::ColorJitter:
        for (size_t i = 0; i < 4; ++i) {
          const auto which = static_cast<size_t>(v[i]);
          const double factor = v[4 + which];
          if (std::isnan(factor)) continue;
          if (which == 0) adjust_brightness(image, factor);
          if (which == 1) adjust_contrast(image, factor);
          if (which == 2) adjust_saturation(image, factor);
          if (which == 3) adjust_hue(image, factor);
        }
        break;
      case StepKind::Grayscale:
        to_grayscale(image);
        break;
      case StepKind::RandomGrayscale:
        if (v[0] != 0.0) to_grayscale(image);
        break;
      case StepKind::GaussianBlur:
        gaussian_blur(image, s.kernel, {v[0], v[0]}, scratch);
        break;
      case StepKind::RandomInvert:
        if (v[0] != 0.0) invert(image);
        break;
      case StepKind::RandomPosterize:
        if (v[0] != 0.0) posterize(image, static_cast<int>(s.value));
        break;
      case StepKind::RandomSolarize:
        if (v[0] != 0.0) solarize(image, s.value);
        break;
      case StepKind::RandomAdjustSharpness:
        if (v[0] != 0.0) adjust_sharpness(image, s.value, scratch);
        break;
      case StepKind::RandomAutocontrast:
        if (v[0] != 0.0) autocontrast(image);
        break;
      case StepKind::RandomEqualize:
        if (v[0] != 0.0) equalize(image);
        break;
      case StepKind::Lambda:
        (*s.function)(image.data, image.height, image.width, image.channels);
        break;
      default:
        break;
    }
  }
  return end;
}

void run_steps(const TransformProgram& program, std::span<const double> params, size_t first,
               size_t last, PixelImage image, PixelScratch& scratch) {
  for (size_t k = first; k < last;) k = run_step(program, params, k, image, scratch);
}

}  // namespace

void run_pixel_steps(const TransformProgram& program, std::span<const double> params,
                     PixelImage image, PixelScratch& scratch) {
  run_steps(program, params, 0, program.steps().size(), image, scratch);
}

}  // namespace nocopy
