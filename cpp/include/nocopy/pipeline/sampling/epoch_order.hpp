// SampleOrder: which sample each global position of an epoch reads, the interface a producer's
// plan asks; CachedSampleOrder keeps the two epochs used last. EpochOrder is the uniform one: a
// Fisher-Yates shuffle of 0..N-1 whose swaps are drawn from (seed, epoch, slot)
// (RandomStream::Shuffle), or the identity (sampling/mixture_order.hpp is the weighted one).
// Shared by every loader; one int64 per sample per cached epoch. OrderOptions (shuffle, seed)
// are declared here, once, for every loader.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "nocopy/core/option_spec.hpp"

namespace nocopy {

/// The options of the order (and the key of every random draw of a loader).
struct OrderOptions {
  /// Shuffle the order each epoch (else 0, 1, 2, ...).
  bool shuffle = true;
  /// Key of every random decision, in [0, 2**64).
  uint64_t seed = 0;
};

/// The declarations of OrderOptions.
std::span<const OptionSpec<OrderOptions>> order_option_specs();

/// Which sample each global position of an epoch reads: what a producer's plan asks (the
/// uniform shuffle of EpochOrder, a weighted mixture of datasets, ...).
class SampleOrder {
 public:
  virtual ~SampleOrder() = default;
  /// Positions per epoch (>= 1).
  virtual int64_t size() const = 0;
  /// The order of `epoch` in [0, kMaxEpoch] (std::invalid_argument otherwise): element g is the
  /// sample global position g reads (positions past size() wrap around: g % size()). Thread-safe.
  virtual std::shared_ptr<const std::vector<int64_t>> order(int64_t epoch) const = 0;
};

/// A shared, immutable order.
using SampleOrderPtr = std::shared_ptr<const SampleOrder>;

/// A SampleOrder that computes each epoch's order once and keeps the two epochs used last, so
/// planning across an epoch's end computes each order once.
class CachedSampleOrder : public SampleOrder {
 public:
  std::shared_ptr<const std::vector<int64_t>> order(int64_t epoch) const final;

 protected:
  /// The order of `epoch` (a valid epoch), computed afresh.
  virtual std::vector<int64_t> compute(int64_t epoch) const = 0;

 private:
  mutable std::mutex mutex_;
  struct Cached {
    int64_t epoch = -1;
    std::shared_ptr<const std::vector<int64_t>> order;
  };
  mutable Cached cache_[2];  // most recent first
};

/// The order of the N samples in each epoch.
class EpochOrder final : public CachedSampleOrder {
 public:
  /// N = `size` (>= 1) samples, shuffled per epoch with `seed` or kept in order.
  EpochOrder(int64_t size, bool shuffle, uint64_t seed);

  /// Samples per epoch.
  int64_t size() const override { return size_; }
  /// Whether the order is shuffled.
  bool shuffle() const { return shuffle_; }

 private:
  std::vector<int64_t> compute(int64_t epoch) const override;

  int64_t size_;
  bool shuffle_;
  uint64_t seed_;
};

}  // namespace nocopy
