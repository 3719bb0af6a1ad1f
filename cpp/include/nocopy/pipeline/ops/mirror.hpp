// The horizontal mirror operator, declared once: its option (the probability), its check and its
// draw, a pure function of (seed, epoch, global position) on RandomStream::Mirror.
#pragma once

#include <cstdint>
#include <span>

#include "nocopy/core/option_spec.hpp"

namespace nocopy {

/// The operator's option (nc.Loader's `mirror`).
struct MirrorOptions {
  /// Probability of a horizontal flip per sample, in [0, 1].
  double mirror = 0.5;
};

/// The declarations of MirrorOptions.
std::span<const OptionSpec<MirrorOptions>> mirror_option_specs();

/// std::invalid_argument unless the probability is finite and in [0, 1].
void check_mirror(const MirrorOptions& options);

/// Whether the sample at global position `position` of `epoch` is mirrored: 53 random bits
/// against the probability scaled to 2^53 (1 always mirrors, 0 never).
bool draw_mirror(double probability, uint64_t seed, uint64_t epoch, uint64_t position);

}  // namespace nocopy
