// Gamma and Beta variates from random bits the caller supplies (MixUp's and CutMix's lam ~
// Beta(alpha, alpha)). `bits` is any functor returning successive uint64 random words (for the
// loaders: counter_hash over an offset, so every draw stays a pure function of its keys). The
// draws are pure and deterministic (the same words give the same value on every thread) and
// allocate nothing.
//
// Gamma(shape) uses Marsaglia and Tsang's method ("A simple method for generating gamma
// variables", 2000): for shape >= 1 a squeezed rejection from a cubed normal; for shape < 1 the
// boost Gamma(shape) = Gamma(shape + 1) * U^(1 / shape). Each trial takes three words (two for
// a Box-Muller normal, one for the acceptance uniform). Beta(a, b) = X / (X + Y) with
// X ~ Gamma(a), Y ~ Gamma(b), formed from the logarithms so that small shapes (whose gamma
// draws underflow to 0) still give a value in [0, 1].
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

namespace nocopy {

/// A uniform double in [0, 1) from the top 53 of 64 random bits.
double uniform01(uint64_t bits);

/// A uniform double in (0, 1] from the top 53 of 64 random bits (never 0: safe under log).
double uniform01_open(uint64_t bits);

/// A standard normal variate from two words of random bits (Box-Muller, cosine branch).
double normal_from_bits(uint64_t bits_radius, uint64_t bits_angle);

/// Marsaglia-Tsang trials one gamma draw makes at most before it returns the mode-like value
/// d = shape - 1/3 (each trial is accepted with probability above 0.95, so this never happens
/// with random words; it only bounds the work for degenerate ones, e.g. a constant functor).
inline constexpr int kGammaMaxTrials = 64;

namespace detail {

/// One Marsaglia-Tsang trial for shape d + 1/3 (d >= 2/3) with c = 1 / sqrt(9 d), from a
/// standard normal x and a uniform u in (0, 1]: the accepted value d * v, or -1 when rejected.
double marsaglia_tsang_trial(double d, double c, double x, double u);

/// log Gamma(shape) draw for shape >= 1 (Marsaglia-Tsang), from the words of `bits`.
template <class F>
double log_gamma_at_least_one(double shape, F& bits) {
  const double d = shape - 1.0 / 3.0;
  const double c = 1.0 / std::sqrt(9.0 * d);
  for (int trial = 0; trial < kGammaMaxTrials; ++trial) {
    const uint64_t radius = bits();
    const uint64_t angle = bits();
    const double x = normal_from_bits(radius, angle);
    const double value = marsaglia_tsang_trial(d, c, x, uniform01_open(bits()));
    if (value > 0.0) return std::log(value);
  }
  return std::log(d);
}

}  // namespace detail

/// log of a Gamma(shape, 1) variate; NaN for a shape that is not finite and > 0. Finite for
/// every finite positive shape (no underflow: shapes far below 1 give large negative values).
template <class F>
double draw_log_gamma(double shape, F&& bits) {
  if (!(shape > 0.0) || !std::isfinite(shape)) return std::numeric_limits<double>::quiet_NaN();
  if (shape >= 1.0) return detail::log_gamma_at_least_one(shape, bits);
  const double boosted = detail::log_gamma_at_least_one(shape + 1.0, bits);
  return boosted + std::log(uniform01_open(bits())) / shape;
}

/// A Gamma(shape, 1) variate (mean shape); NaN for a shape that is not finite and > 0. For
/// shapes far below 1 it may underflow to 0 (draw_beta works from draw_log_gamma instead).
template <class F>
double draw_gamma(double shape, F&& bits) {
  return std::exp(draw_log_gamma(shape, bits));
}

/// A Beta(a, b) variate in [0, 1]: Gamma(a) / (Gamma(a) + Gamma(b)), the Gamma(a) draw first;
/// NaN when a or b is not finite and > 0.
template <class F>
double draw_beta(double a, double b, F&& bits) {
  const double log_x = draw_log_gamma(a, bits);
  const double log_y = draw_log_gamma(b, bits);
  if (std::isnan(log_x) || std::isnan(log_y)) return std::numeric_limits<double>::quiet_NaN();
  // x / (x + y) = 1 / (1 + y / x); exp overflows to infinity (result 0) rather than to NaN.
  return 1.0 / (1.0 + std::exp(log_y - log_x));
}

}  // namespace nocopy
