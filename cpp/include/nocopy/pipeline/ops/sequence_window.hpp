// The sequence window operator, declared once: what each slot of a sequence batch reads (a
// window of seq_len steps of one sequence) and what it is paired with (the next-step targets,
// the horizon after it, or nothing), where windows start (random or every k-th) and the output
// dtype; its options with their docs and checks.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "nocopy/core/dtype.hpp"
#include "nocopy/core/option_spec.hpp"

namespace nocopy {

/// What each window is paired with.
enum class SequenceTargets : uint8_t {
  Next,     ///< y = the window shifted by one step (language modelling)
  Horizon,  ///< y = the `horizon` steps after the window (forecasting)
  None,     ///< x only
};

/// Parses "next", "horizon" or "none"; std::invalid_argument naming the text otherwise.
SequenceTargets sequence_targets_from_string(std::string_view text);
/// The name of a targets kind, as sequence_targets_from_string accepts it.
std::string_view sequence_targets_name(SequenceTargets targets);

/// The operator's options (nc.SequenceLoader's keyword arguments of the same names).
struct SequenceWindowOptions {
  /// Steps in each input window (>= 1).
  int64_t seq_len = 1;
  /// What y holds (or no y).
  SequenceTargets targets = SequenceTargets::Next;
  /// Steps after the window that y holds with SequenceTargets::Horizon (>= 1).
  int64_t horizon = 1;
  /// 0: random window starts each epoch; k >= 1: every k-th start, shuffled, once per epoch.
  int64_t step = 0;
  /// Output element type (integers for tokens need integer data).
  DType dtype = DType::Int64;

  /// Steps of y after the window's start offset: 1 for Next, horizon for Horizon, 0 for None.
  int64_t target_steps() const;
  /// Steps of y per window: seq_len for Next, horizon for Horizon, 0 for None.
  int64_t target_len() const;
};

/// The declarations of SequenceWindowOptions.
std::span<const OptionSpec<SequenceWindowOptions>> sequence_window_option_specs();

/// std::invalid_argument naming the option, its value and the limit; `shuffle` is the order's
/// (random starts need it).
void check_sequence_window(const SequenceWindowOptions& options, bool shuffle);

}  // namespace nocopy
