// SequenceSampler: which window (source, start) each batch slot holds, as a pure function of
// (seed, epoch, position).
//
// A window reads seq_len steps plus its target steps from one source and never crosses into the
// next one. Two modes: random starts (step 0) draw each slot's start uniformly over every valid
// start of every source, about (usable steps / seq_len) windows per epoch, in O(1) memory; step
// k takes starts 0, k, 2k, ... of each source in a shuffled EpochOrder (one int64 per window),
// so an epoch covers the data once. Which global positions a batch's slots read (the sharding
// over ranks, an epoch started elsewhere for elastic resume) is the ShardGeometry the caller
// passes; the window of each position is the same whatever the world size.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "nocopy/pipeline/sampling/epoch_order.hpp"
#include "nocopy/pipeline/sampling/shard.hpp"

namespace nocopy {

/// The windows of one batch: source number and first step of each slot.
struct SequencePlan {
  /// Index of the source (array of the list) each window reads.
  std::vector<int64_t> sources;
  /// First step of each window in its source.
  std::vector<int64_t> starts;
};

/// What the sampler needs to know of a loader's windows.
struct WindowSampling {
  /// Steps of x in each window (>= 1).
  int64_t seq_len = 1;
  /// Steps of y past the window's start offset (1 for next-step targets, the horizon, or 0).
  int64_t target_steps = 0;
  /// The horizon when y is the steps after the window, else 0 (for messages).
  int64_t horizon = 0;
  /// 0: random starts; k >= 1: every k-th start.
  int64_t step = 0;
  /// Shuffle the step windows each epoch.
  bool shuffle = true;
  /// Key of every random decision.
  uint64_t seed = 0;
};

/// Deterministic window choice over a list of sources of given lengths.
class SequenceSampler {
 public:
  /// `lengths`: steps in each source (first-axis extents). Checks that at least one window fits
  /// (std::invalid_argument naming seq_len / horizon and the longest source). `windows` must
  /// have been validated (check_sequence_window).
  SequenceSampler(std::span<const int64_t> lengths, const WindowSampling& windows);

  /// Steps each window reads from its source (seq_len + target steps).
  int64_t window_steps() const { return window_steps_; }
  /// Windows in one epoch over all ranks, before sharding (the epoch's positions).
  int64_t windows_per_epoch() const { return windows_; }
  /// The windows of batch `b` of `epoch` (in [0, kMaxEpoch]) whose slots read the global
  /// positions of `geometry` (std::out_of_range when b is not one of its batches).
  SequencePlan plan(int64_t epoch, const ShardGeometry& geometry, int64_t b) const;

 private:
  /// (source, start) of the window numbered `w` in [0, total) of the prefix table.
  void locate(int64_t w, int64_t& source, int64_t& offset) const;

  WindowSampling options_;
  int64_t window_steps_ = 0;
  int64_t windows_ = 0;
  /// prefix_[s]: windows (step mode) or valid starts (random mode) in the sources before s.
  std::vector<int64_t> prefix_;
  /// Step mode: the order of the window numbers in each epoch.
  std::optional<EpochOrder> order_;
};

}  // namespace nocopy
