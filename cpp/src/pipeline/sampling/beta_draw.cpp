// The non-template parts of the gamma and Beta draws: uniforms and normals from random words,
// and one Marsaglia-Tsang trial.
#include "nocopy/pipeline/sampling/beta_draw.hpp"

#include <cmath>
#include <numbers>

namespace nocopy {

double uniform01(uint64_t bits) {
  return static_cast<double>(bits >> 11) * 0x1.0p-53;
}

double uniform01_open(uint64_t bits) {
  return static_cast<double>((bits >> 11) + 1) * 0x1.0p-53;
}

double normal_from_bits(uint64_t bits_radius, uint64_t bits_angle) {
  const double radius = std::sqrt(-2.0 * std::log(uniform01_open(bits_radius)));
  return radius * std::cos(2.0 * std::numbers::pi * uniform01(bits_angle));
}

namespace detail {

double marsaglia_tsang_trial(double d, double c, double x, double u) {
  const double t = 1.0 + c * x;
  if (t <= 0.0) return -1.0;
  const double v = t * t * t;
  const double x2 = x * x;
  // The squeeze accepts most trials without a logarithm; the exact test decides the rest.
  if (u < 1.0 - 0.0331 * x2 * x2) return d * v;
  if (std::log(u) < 0.5 * x2 + d * (1.0 - v + std::log(v))) return d * v;
  return -1.0;
}

}  // namespace detail

}  // namespace nocopy
