// The mirror operator: its option table, check and draw.
#include "nocopy/pipeline/ops/mirror.hpp"

#include <cmath>
#include <stdexcept>
#include <string>
#include <variant>

#include "internal/format_number.hpp"
#include "nocopy/pipeline/sampling/random_streams.hpp"

namespace nocopy {
namespace {

using O = MirrorOptions;
using V = OptionValue;

const OptionSpec<MirrorOptions> kMirrorSpecs[] = {
    {"mirror", OptionKind::Real, "Probability of a horizontal flip per sample, in [0, 1].",
     [](O& o, const V& v) { o.mirror = std::get<double>(v); },
     [](const O& o) -> V { return o.mirror; }},
};

}  // namespace

std::span<const OptionSpec<MirrorOptions>> mirror_option_specs() {
  return kMirrorSpecs;
}

void check_mirror(const MirrorOptions& o) {
  if (!(std::isfinite(o.mirror) && o.mirror >= 0.0 && o.mirror <= 1.0)) {
    throw std::invalid_argument("mirror probability " + format_number(o.mirror) +
                                " is not in [0, 1]");
  }
}

bool draw_mirror(double probability, uint64_t seed, uint64_t epoch, uint64_t position) {
  if (probability >= 1.0) return true;
  const auto threshold = static_cast<uint64_t>(std::ldexp(probability, 53));
  return (draw_bits(seed, epoch, position, RandomStream::Mirror) >> 11) < threshold;
}

}  // namespace nocopy
