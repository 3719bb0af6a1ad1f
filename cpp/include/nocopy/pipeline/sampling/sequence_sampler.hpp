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
//
// A mixture (SequenceMixture: the sources are several datasets end to end, nc.Mixture) has
// epochs of num_samples windows; dataset d's size is its windows per epoch as a lone sampler
// would have (step mode: its windows; random mode: its usable steps / seq_len), and it gets
// exactly counts[d] of the epoch's slots, placed by a MixtureOrder (shuffled per (seed, epoch)).
// Step mode reads dataset d's windows through MixtureOrder's fresh permutations of them (one
// int64 per window); random mode draws a uniform valid start of d from (seed, epoch, global
// position), keeping only the slots' dataset labels (O(1) memory per dataset).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "nocopy/pipeline/sampling/epoch_order.hpp"
#include "nocopy/pipeline/sampling/mixture_order.hpp"
#include "nocopy/pipeline/sampling/shard.hpp"

namespace nocopy {

/// The windows of one batch: source number and first step of each slot.
struct SequencePlan {
  /// Index of the source (array of the list) each window reads.
  std::vector<int64_t> sources;
  /// First step of each window in its source.
  std::vector<int64_t> starts;
  /// With a mixture: the dataset of each window (its source is one of that dataset's); empty
  /// otherwise.
  std::vector<int64_t> datasets;
};

/// Datasets mixed by weight (nc.Mixture of token / series datasets): the sources are theirs, end
/// to end.
struct SequenceMixture {
  /// Sources of each dataset, in order (each >= 1; they add up to the sources).
  std::vector<int64_t> sources;
  /// Weight of each dataset (>= 0, not all 0).
  std::vector<double> weights;
  /// Windows per epoch; 0: enough that dataset 0 is drawn about once (mixture_default_size).
  int64_t num_samples = 0;
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
  /// The same over the datasets of `mixture` (std::invalid_argument naming a dataset without a
  /// window, sources that do not add up, or a bad weight or num_samples).
  SequenceSampler(std::span<const int64_t> lengths, const WindowSampling& windows,
                  const SequenceMixture& mixture);

  /// Steps each window reads from its source (seq_len + target steps).
  int64_t window_steps() const { return window_steps_; }
  /// Windows in one epoch over all ranks, before sharding (the epoch's positions).
  int64_t windows_per_epoch() const { return windows_; }
  /// True when the sampler mixes datasets.
  bool mixed() const { return mixture_.has_value(); }
  /// With a mixture: each dataset's windows per epoch as a lone sampler (empty otherwise).
  const std::vector<int64_t>& dataset_sizes() const { return dataset_sizes_; }
  /// With a mixture: each dataset's windows in every epoch (empty otherwise).
  std::vector<int64_t> dataset_counts() const;
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
  /// With a mixture: step mode, the window numbers of each epoch; random mode, the dataset of
  /// each slot (each dataset one sample).
  std::optional<MixtureOrder> mixture_;
  /// With a mixture: each dataset's size, first source, and first window number (or valid
  /// start), one past the last dataset included.
  std::vector<int64_t> dataset_sizes_, first_source_, first_window_;
};

}  // namespace nocopy
