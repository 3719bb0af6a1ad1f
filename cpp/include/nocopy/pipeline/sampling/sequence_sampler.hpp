// SequenceSampler: which window (source, start) each batch slot holds, as a pure function of
// (seed, epoch, position).
//
// A window reads seq_len steps plus its target steps from one source and never crosses into the
// next one. Two modes: random starts (step 0) draw each slot's start uniformly over every valid
// start of every source, about (usable steps / seq_len) windows per epoch, in O(1) memory; step
// k takes starts 0, k, 2k, ... of each source, shuffled by the image Sampler (one int64 per
// window), so an epoch covers the data once. Sharding is DistributedSampler's (ShardGeometry,
// shard.hpp): rank r takes global positions r, r + world, ...; every rank gets the same count.
// An epoch may start at a global position (elastic resume), with the window of each position
// the same whatever the world size.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "nocopy/pipeline/ops/sequence_options.hpp"
#include "nocopy/pipeline/sampling/sampler.hpp"
#include "nocopy/pipeline/sampling/shard.hpp"

namespace nocopy {

/// The windows of one batch: source number and first step of each slot.
struct SequencePlan {
  /// Index of the source (array of the list) each window reads.
  std::vector<int64_t> sources;
  /// First step of each window in its source.
  std::vector<int64_t> starts;
};

/// Deterministic window choice and sharding over a list of sources of given lengths.
class SequenceSampler {
 public:
  /// `lengths`: steps in each source (first-axis extents). Checks that at least one window fits
  /// (std::invalid_argument naming seq_len / horizon and the longest source). `options` must
  /// have been validated.
  SequenceSampler(std::span<const int64_t> lengths, const SequenceOptions& options);

  /// Selects the epoch later calls describe, its batch 0 at global position `start` (0: the
  /// whole epoch); std::invalid_argument when epoch is outside [0, kMaxEpoch] or start outside
  /// [0, windows_per_epoch()].
  void set_epoch(int64_t epoch, int64_t start = 0);
  int64_t epoch() const { return epoch_; }
  /// Global position where batch 0 of the selected epoch starts.
  int64_t start() const { return current_.start(); }
  /// Global position of batch `b` of the selected epoch, b in [0, num_batches()]: all ranks
  /// together have consumed the windows at positions [0, position).
  int64_t position(int64_t b) const { return current_.position(b); }

  /// Steps each window reads from its source (seq_len + target steps).
  int64_t window_steps() const { return window_steps_; }
  /// Windows in one epoch over all ranks, before sharding.
  int64_t windows_per_epoch() const { return windows_; }
  /// Windows this rank sees in the selected epoch (identical on every rank).
  int64_t samples_per_rank() const { return current_.per_rank(); }
  /// Batches this rank yields in the selected epoch (identical on every rank).
  int64_t num_batches() const { return current_.num_batches(); }
  /// Batches this rank yields in a whole epoch (start 0).
  int64_t epoch_batches() const { return whole_.num_batches(); }
  /// Windows this rank sees in a whole epoch (start 0).
  int64_t epoch_samples_per_rank() const { return whole_.per_rank(); }
  /// Batches this rank yields in an epoch started at global position `start` (in [0, N]).
  int64_t batches_from(int64_t start) const { return geometry(start).num_batches(); }
  /// Windows in batch `b`; std::out_of_range outside [0, num_batches()).
  int64_t batch_len(int64_t b) const;
  /// The windows of batch `b` of the current epoch (std::out_of_range outside the epoch).
  SequencePlan plan(int64_t b) const;

 private:
  /// (source, start) of the window numbered `w` in [0, total) of the prefix table `prefix`.
  void locate(int64_t w, int64_t& source, int64_t& offset) const;
  /// The shards of the windows from global position `start` on.
  ShardGeometry geometry(int64_t start) const;

  SequenceOptions options_;
  int64_t window_steps_ = 0;
  int64_t windows_ = 0;
  int64_t epoch_ = 0;
  ShardGeometry whole_;    // a whole epoch
  ShardGeometry current_;  // the selected epoch, from its start
  /// prefix_[s]: windows (step mode) or valid starts (random mode) in the sources before s.
  std::vector<int64_t> prefix_;
  /// Step mode: the shuffled, sharded order of window numbers.
  std::optional<Sampler> order_;
};

}  // namespace nocopy
