// SequenceOptions: every knob of the sequence loader (the Python nc.SequenceLoader arguments),
// declared once with its meaning and validated once, here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "nocopy/core/allocator.hpp"
#include "nocopy/core/dtype.hpp"

namespace nocopy {

/// What each window is paired with.
enum class SequenceTargets : uint8_t {
  Next,     ///< y = the window shifted by one step (language modelling)
  Horizon,  ///< y = the `horizon` steps after the window (forecasting)
  None,     ///< x only
};

/// Parses "next", "horizon" or "none"; std::invalid_argument naming the text otherwise.
SequenceTargets sequence_targets_from_string(std::string_view text);

/// Options of a SequenceLoader; validate() checks them all (the data-dependent checks happen
/// when the loader sees its sources).
struct SequenceOptions {
  /// Steps in each input window (>= 1).
  int64_t seq_len = 1;
  /// Windows per batch (>= 1).
  int64_t batch_size = 1;
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
  /// Trim so ranks divide the windows evenly and drop the last incomplete batch.
  bool drop_last = true;
  /// Worker threads; 0 means the cores this process may use (at most 1024).
  size_t num_threads = 0;
  /// Batches produced ahead of the consumer (>= 1).
  int64_t prefetch = 2;
  /// Where batch buffers come from (pinned host memory, a caller's arena); null means
  /// default_allocator(). The pool keeps and reuses its blocks and writes batches into them.
  AllocatorPtr allocator;
  /// Shard of this process in [0, world_size), and the number of shards (>= 1).
  int64_t rank = 0, world_size = 1;

  /// Throws std::invalid_argument naming the option, its value and the limit.
  void validate() const;
  /// Steps of y after the window's start offset: 1 for Next, horizon for Horizon, 0 for None.
  int64_t target_steps() const;
  /// Steps of y per window: seq_len for Next, horizon for Horizon, 0 for None.
  int64_t target_len() const;
};

}  // namespace nocopy
