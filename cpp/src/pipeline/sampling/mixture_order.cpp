// MixtureOrder: largest-remainder slot counts, shuffled slot labels, and per-dataset passes.
#include "nocopy/pipeline/sampling/mixture_order.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>
#include <utility>

#include "nocopy/pipeline/sampling/random_streams.hpp"

namespace nocopy {
namespace {

__extension__ using u128 = unsigned __int128;  // GCC/Clang extension: epoch x count products

/// Largest epoch size accepted (the order keeps one int64 per slot).
constexpr int64_t kMaxMixtureSamples = int64_t{1} << 32;

/// Permutation of n samples for pass `pass` of dataset `d` (the identity without shuffle).
std::vector<int64_t> pass_order(int64_t n, bool shuffle, uint64_t seed, uint64_t pass, size_t d) {
  std::vector<int64_t> p(static_cast<size_t>(n));
  std::iota(p.begin(), p.end(), int64_t{0});
  if (!shuffle) return p;
  for (uint64_t i = p.size() - 1; i > 0; --i) {
    const uint64_t j = bounded(draw_bits(seed, pass, i, RandomStream::MixturePassBase, d), i + 1);
    std::swap(p[i], p[j]);
  }
  return p;
}

double weight_sum(const std::vector<double>& weights) {
  if (weights.empty()) throw std::invalid_argument("a mixture needs at least one dataset");
  double sum = 0.0;
  for (size_t d = 0; d < weights.size(); ++d) {
    const double w = weights[d];
    if (!std::isfinite(w) || w < 0.0) {
      throw std::invalid_argument("weight " + std::to_string(w) + " of dataset " +
                                  std::to_string(d) + " must be a finite number >= 0");
    }
    sum += w;
  }
  if (!(sum > 0.0)) throw std::invalid_argument("mixture weights are all 0");
  return sum;
}

}  // namespace

std::vector<int64_t> mixture_counts(const std::vector<double>& weights, int64_t num_samples) {
  const double sum = weight_sum(weights);
  if (num_samples < 1 || num_samples > kMaxMixtureSamples) {
    throw std::invalid_argument("num_samples " + std::to_string(num_samples) +
                                " must be in [1, 2**32]");
  }
  std::vector<int64_t> counts(weights.size());
  std::vector<std::pair<double, size_t>> remainders;
  int64_t given = 0;
  for (size_t d = 0; d < weights.size(); ++d) {
    const double exact = static_cast<double>(num_samples) * (weights[d] / sum);
    counts[d] = static_cast<int64_t>(std::floor(exact));
    given += counts[d];
    remainders.emplace_back(exact - std::floor(exact), d);
  }
  // The slots left go to the largest remainders (ties to the lower index).
  std::stable_sort(remainders.begin(), remainders.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  for (size_t k = 0; given < num_samples && k < remainders.size(); ++k, ++given) {
    ++counts[remainders[k].second];
  }
  for (size_t d = 0; given < num_samples; d = (d + 1) % counts.size()) {  // rounding slack
    if (weights[d] > 0.0) ++counts[d], ++given;
  }
  return counts;
}

int64_t mixture_default_size(const std::vector<int64_t>& sizes,
                             const std::vector<double>& weights) {
  const double sum = weight_sum(weights);
  if (sizes.empty() || weights.size() != sizes.size()) {
    throw std::invalid_argument("a mixture needs one weight per dataset");
  }
  if (!(weights[0] > 0.0)) {
    throw std::invalid_argument(
        "the first dataset has weight 0, so an epoch cannot be defined by exhausting it: give "
        "num_samples");
  }
  const double n = std::ceil(static_cast<double>(sizes[0]) * sum / weights[0] - 1e-9);
  if (!(n <= static_cast<double>(kMaxMixtureSamples))) {
    throw std::invalid_argument(
        "the mixture's epoch would have more than 2**32 samples: give "
        "num_samples");
  }
  return std::max<int64_t>(1, static_cast<int64_t>(n));
}

MixtureOrder::MixtureOrder(std::vector<int64_t> sizes, std::vector<double> weights,
                           int64_t num_samples, bool shuffle, uint64_t seed)
    : sizes_(std::move(sizes)), num_samples_(num_samples), shuffle_(shuffle), seed_(seed) {
  if (weights.size() != sizes_.size()) {
    throw std::invalid_argument("a mixture of " + std::to_string(sizes_.size()) +
                                " datasets needs as many weights, not " +
                                std::to_string(weights.size()));
  }
  counts_ = mixture_counts(weights, num_samples_);
  int64_t at = 0;
  for (size_t d = 0; d < sizes_.size(); ++d) {
    if (sizes_[d] < 1) {
      throw std::invalid_argument("dataset " + std::to_string(d) + " of the mixture is empty");
    }
    offsets_.push_back(at);
    at += sizes_[d];
  }
}

std::vector<int64_t> MixtureOrder::compute(int64_t epoch) const {
  const size_t n = static_cast<size_t>(num_samples_);
  // The dataset of each slot.
  std::vector<int64_t> label(n);
  if (shuffle_) {
    size_t at = 0;
    for (size_t d = 0; d < counts_.size(); ++d) {
      std::fill_n(label.begin() + static_cast<std::ptrdiff_t>(at), counts_[d],
                  static_cast<int64_t>(d));
      at += static_cast<size_t>(counts_[d]);
    }
    for (uint64_t i = n - 1; i > 0; --i) {
      const uint64_t j = bounded(
          draw_bits(seed_, static_cast<uint64_t>(epoch), i, RandomStream::MixtureSlots), i + 1);
      std::swap(label[i], label[j]);
    }
  } else {
    // Evenly interleaved: dataset d's k-th slot sits at (k + 1/2) / c_d of the epoch.
    std::vector<std::pair<double, int64_t>> at;
    at.reserve(n);
    for (size_t d = 0; d < counts_.size(); ++d) {
      for (int64_t k = 0; k < counts_[d]; ++k) {
        at.emplace_back((static_cast<double>(k) + 0.5) / static_cast<double>(counts_[d]),
                        static_cast<int64_t>(d));
      }
    }
    std::stable_sort(at.begin(), at.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    for (size_t g = 0; g < n; ++g) label[g] = at[g].second;
  }
  // Each slot's sample: dataset d's (epoch * c_d + k)-th draw, through its passes.
  struct Walk {
    uint64_t pass = 0;
    int64_t pos = 0;
    std::vector<int64_t> perm;
  };
  std::vector<Walk> walks(counts_.size());
  for (size_t d = 0; d < counts_.size(); ++d) {
    if (counts_[d] == 0) continue;
    const u128 first = static_cast<u128>(epoch) * static_cast<u128>(counts_[d]);
    walks[d].pass = static_cast<uint64_t>(first / static_cast<u128>(sizes_[d]));
    walks[d].pos = static_cast<int64_t>(first % static_cast<u128>(sizes_[d]));
    walks[d].perm = pass_order(sizes_[d], shuffle_, seed_, walks[d].pass, d);
  }
  std::vector<int64_t> out(n);
  for (size_t g = 0; g < n; ++g) {
    const auto d = static_cast<size_t>(label[g]);
    Walk& w = walks[d];
    if (w.pos == sizes_[d]) {
      w.perm = pass_order(sizes_[d], shuffle_, seed_, ++w.pass, d);
      w.pos = 0;
    }
    out[g] = offsets_[d] + w.perm[static_cast<size_t>(w.pos++)];
  }
  return out;
}

}  // namespace nocopy
