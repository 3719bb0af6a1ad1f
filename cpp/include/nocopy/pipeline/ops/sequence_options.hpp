// SequenceOptions: every knob of the sequence loader (the Python nc.SequenceLoader arguments),
// declared once with its meaning and validated once, here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "nocopy/core/dtype.hpp"
#include "nocopy/pipeline/engine/engine_options.hpp"

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

/// Options of a SequenceLoader: the engine's (EngineOptions: batch_size, drop_last (true by
/// default here), num_threads, prefetch, allocator, rank, world_size, on_error) and the
/// windows'; validate() checks them all (the data-dependent checks happen when the loader sees
/// its sources).
struct SequenceOptions : EngineOptions {
  SequenceOptions() { drop_last = true; }
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
  /// Shuffle the windows of step mode each epoch (random starts need it true).
  bool shuffle = true;
  /// Key of every random decision.
  uint64_t seed = 0;
  /// Throws std::invalid_argument naming the option, its value and the limit (the engine's
  /// options included).
  void validate() const;
  /// Steps of y after the window's start offset: 1 for Next, horizon for Horizon, 0 for None.
  int64_t target_steps() const;
  /// Steps of y per window: seq_len for Next, horizon for Horizon, 0 for None.
  int64_t target_len() const;
};

/// The declarations of the sequence loader's own options (the engine's are
/// engine_option_specs()).
std::span<const OptionSpec<SequenceOptions>> sequence_option_specs();

}  // namespace nocopy
