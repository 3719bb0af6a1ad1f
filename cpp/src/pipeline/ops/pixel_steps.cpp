// The pixel steps of a transforms pipeline, dispatched to the colour kernels.
#include "nocopy/pipeline/ops/pixel_steps.hpp"

#include <stdexcept>
#include <string>

namespace nocopy {

void run_pixel_steps(const TransformProgram& program, std::span<const double> params,
                     PixelImage image, PixelScratch& scratch) {
  (void)params;
  (void)image;
  (void)scratch;
  for (const TransformStep& s : program.steps()) {
    if (s.kind >= StepKind::ColorJitter && s.kind <= StepKind::RandomEqualize) {
      throw std::invalid_argument(std::string(step_kind_name(s.kind)) + " is not wired yet");
    }
  }
}

}  // namespace nocopy
