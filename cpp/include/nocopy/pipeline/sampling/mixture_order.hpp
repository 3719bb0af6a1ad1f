// MixtureOrder: the epoch order of a weighted mixture of datasets (nc.Mixture), laid end to end
// as one index space (dataset d's sample j is offsets[d] + j).
//
// An epoch has `num_samples` slots; dataset d gets c_d of them, num_samples * w_d / sum(w)
// rounded by largest remainder (exact proportions every epoch, never a drift). The slots' dataset
// labels are shuffled per (seed, epoch) (RandomStream::MixtureSlots), or interleaved evenly
// without shuffle. Dataset d's k-th slot of epoch e is its (e * c_d + k)-th draw overall: draws
// walk through passes over the dataset, each pass a fresh permutation keyed by (seed, pass, d)
// (RandomStream::MixturePassBase + d), so every sample of d is drawn equally often over the
// epochs, whether d is upsampled (c_d > N_d) or subsampled (c_d < N_d). Everything is a pure
// function of (seed, epoch, position), like every order.
#pragma once

#include <cstdint>
#include <vector>

#include "nocopy/pipeline/sampling/epoch_order.hpp"

namespace nocopy {

/// Slots of an epoch each dataset gets: num_samples * w_d / sum(w), rounded by largest
/// remainder (ties to the lower index); std::invalid_argument for a bad weight (negative, NaN,
/// infinite, all zero) or count.
std::vector<int64_t> mixture_counts(const std::vector<double>& weights, int64_t num_samples);

/// The epoch size a mixture has when none is given: enough slots that the first dataset is
/// drawn about once per epoch, ceil(N_0 * sum(w) / w_0) (std::invalid_argument when w_0 is 0).
int64_t mixture_default_size(const std::vector<int64_t>& sizes, const std::vector<double>& weights);

/// The order of a mixture of datasets of `sizes` samples.
class MixtureOrder final : public CachedSampleOrder {
 public:
  /// Datasets of `sizes` (each >= 1) mixed by `weights` (>= 0, not all 0; one per dataset) into
  /// epochs of `num_samples` (>= 1, at most 2**32) slots; std::invalid_argument naming the
  /// value otherwise.
  MixtureOrder(std::vector<int64_t> sizes, std::vector<double> weights, int64_t num_samples,
               bool shuffle, uint64_t seed);

  int64_t size() const override { return num_samples_; }
  /// Where each dataset starts in the combined index space.
  const std::vector<int64_t>& offsets() const { return offsets_; }
  /// Slots per epoch of each dataset.
  const std::vector<int64_t>& counts() const { return counts_; }

 private:
  std::vector<int64_t> compute(int64_t epoch) const override;

  std::vector<int64_t> sizes_, offsets_, counts_;
  int64_t num_samples_;
  bool shuffle_;
  uint64_t seed_;
};

}  // namespace nocopy
