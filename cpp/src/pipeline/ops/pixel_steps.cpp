// The pixel steps of a transforms pipeline, dispatched to the colour kernels with each sample's
// drawn parameters (ColorJitter's order and factors, the Random* transforms' coin, the blur's
// sigma).
#include "nocopy/pipeline/ops/pixel_steps.hpp"

#include <cmath>

namespace nocopy {

void run_pixel_steps(const TransformProgram& program, std::span<const double> params,
                     PixelImage image, PixelScratch& scratch) {
  const std::vector<TransformStep>& steps = program.steps();
  for (size_t k = 0; k < steps.size(); ++k) {
    const TransformStep& s = steps[k];
    const double* v = params.data() + program.parameter_offset(k);
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
}

}  // namespace nocopy
