// Tests of SequenceSampler over a mixture of datasets: exact per-dataset counts every epoch,
// windows inside their dataset, step windows drawn equally often over epochs, random starts in
// range, the errors; and (suite SequenceLoader, run by the sanitizer targets) a mixture of parts
// given up front and opened on demand reading the same bytes as the same parts all given up front.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstring>
#include <map>
#include <memory>
#include <stdexcept>
#include <utility>
#include <vector>

#include "nocopy/pipeline/producers/sequence_loader.hpp"
#include "nocopy/pipeline/sampling/sequence_sampler.hpp"
#include "nocopy/pipeline/sources/sequence_parts.hpp"

using nocopy::SequenceMixture;
using nocopy::SequencePlan;
using nocopy::SequenceSampler;
using nocopy::ShardGeometry;
using nocopy::View;
using nocopy::WindowSampling;

namespace {

/// Dataset 0: sources 0-1; dataset 1: sources 2-4 (source 3 shorter than a window).
const std::vector<int64_t> kLengths{100, 57, 40, 5, 63};
constexpr int64_t kSeqLen = 8;

WindowSampling sampling(int64_t step) {
  return {kSeqLen, 1, 0, step, true, 7};
}

SequenceMixture mixture(int64_t num_samples) {
  return {{2, 3}, {0.7, 0.3}, num_samples};
}

/// Every (dataset, source, start) of one epoch.
std::vector<std::array<int64_t, 3>> epoch_windows(const SequenceSampler& s, int64_t epoch) {
  const ShardGeometry geo(s.windows_per_epoch(), 16, 1, 0, false, 0);
  std::vector<std::array<int64_t, 3>> out;
  for (int64_t b = 0; b < geo.num_batches(); ++b) {
    const SequencePlan p = s.plan(epoch, geo, b);
    for (size_t k = 0; k < p.starts.size(); ++k) {
      out.push_back({p.datasets[k], p.sources[k], p.starts[k]});
    }
  }
  return out;
}

}  // namespace

TEST(SequenceSampler, MixtureEpochsHoldExactCountsOfWindowsInsideTheirDataset) {
  for (int64_t step : {0, 5}) {
    const SequenceSampler s(kLengths, sampling(step), mixture(50));
    ASSERT_EQ(s.windows_per_epoch(), 50);
    ASSERT_EQ(s.dataset_counts(), (std::vector<int64_t>{35, 15}));
    for (int64_t epoch : {0, 1}) {
      std::vector<int64_t> counts(2);
      for (const auto& [d, source, start] : epoch_windows(s, epoch)) {
        ++counts[static_cast<size_t>(d)];
        EXPECT_EQ(d, source < 2 ? 0 : 1);
        EXPECT_GE(start, 0);
        EXPECT_LE(start + kSeqLen + 1, kLengths[static_cast<size_t>(source)]);
        if (step > 0) {
          EXPECT_EQ(start % step, 0);
        }
      }
      EXPECT_EQ(counts, s.dataset_counts()) << "step " << step << " epoch " << epoch;
    }
  }
}

TEST(SequenceSampler, MixtureSizesAreThoseOfALoneSampler) {
  for (int64_t step : {0, 3}) {
    const SequenceSampler mixed(kLengths, sampling(step), mixture(0));
    const std::vector<int64_t> first(kLengths.begin(), kLengths.begin() + 2);
    const std::vector<int64_t> second(kLengths.begin() + 2, kLengths.end());
    const SequenceSampler a(first, sampling(step)), b(second, sampling(step));
    EXPECT_EQ(mixed.dataset_sizes(),
              (std::vector<int64_t>{a.windows_per_epoch(), b.windows_per_epoch()}));
    // The default epoch: dataset 0 drawn about once.
    EXPECT_EQ(mixed.windows_per_epoch(),
              nocopy::mixture_default_size(mixed.dataset_sizes(), {0.7, 0.3}));
  }
}

TEST(SequenceSampler, MixtureStepWindowsAreDrawnEquallyOftenOverEpochs) {
  // Dataset 0 (29 windows of step 5) subsampled, dataset 1 (18) upsampled: 20 each an epoch.
  const SequenceSampler s(kLengths, sampling(5), {{2, 3}, {0.5, 0.5}, 40});
  const std::vector<int64_t> sizes = s.dataset_sizes();
  const std::vector<int64_t> counts = s.dataset_counts();
  ASSERT_EQ(sizes, (std::vector<int64_t>{29, 18}));
  std::map<std::pair<int64_t, int64_t>, int64_t> seen;
  const int64_t epochs = sizes[0] * sizes[1];  // every dataset's draws end on a whole pass
  for (int64_t e = 0; e < epochs; ++e) {
    for (const auto& [d, source, start] : epoch_windows(s, e)) ++seen[{source, start}];
  }
  ASSERT_EQ(static_cast<int64_t>(seen.size()), sizes[0] + sizes[1]);
  for (const auto& [window, n] : seen) {
    const size_t d = window.first < 2 ? 0 : 1;
    EXPECT_EQ(n, epochs * counts[d] / sizes[d]) << window.first << " " << window.second;
  }
}

TEST(SequenceSampler, MixtureErrorsNameTheDataset) {
  // Dataset 1 is a 5-step source: no window of 9 steps.
  const std::vector<int64_t> lengths{100, 5};
  EXPECT_THROW(SequenceSampler(lengths, sampling(0), {{1, 1}, {1, 1}, 10}), std::invalid_argument);
  EXPECT_THROW(SequenceSampler(kLengths, sampling(0), {{2, 2}, {1, 1}, 10}), std::invalid_argument);
  EXPECT_THROW(SequenceSampler(kLengths, sampling(0), {{2, 3}, {1}, 10}), std::invalid_argument);
  EXPECT_THROW(SequenceSampler(kLengths, sampling(0), {{2, 3}, {0, 1}, 0}), std::invalid_argument);
}

namespace {

/// `n` int32 tokens, token i equal to base + i.
View tokens(int64_t n, int32_t base) {
  View v = View::empty(nocopy::DType::Int32, {n});
  for (int64_t i = 0; i < n; ++i) v.data_as<int32_t>()[i] = base + static_cast<int32_t>(i);
  return v;
}

/// Two sequences opened on demand, counting hints.
class CountingProvider final : public nocopy::SequenceShardProvider {
 public:
  CountingProvider() : views_{tokens(90, 10000), tokens(70, 20000)} {}
  View open(size_t k) const override { return views_.at(k); }
  void prefetch(size_t) const noexcept override { hints_.fetch_add(1); }
  std::vector<View> views_;
  mutable std::atomic<int> hints_{0};
};

}  // namespace

TEST(SequenceLoader, MixtureOfPartsGivenUpFrontAndOpenedOnDemandReadsTheSameBytes) {
  nocopy::SequenceOptions o;
  o.seq_len = 12;
  o.batch_size = 6;
  o.num_threads = 3;
  o.seed = 5;
  auto provider = std::make_shared<const CountingProvider>();
  const std::vector<View> local{tokens(120, 0), tokens(33, 1000)};
  nocopy::LazySequences remote;
  remote.provider = provider;
  remote.layout.lengths = {90, 70};
  remote.layout.dtype = nocopy::DType::Int32;
  remote.layout.max_open = 1;
  const SequenceMixture m{{2, 2}, {0.5, 0.5}, 40};
  std::vector<View> all = local;
  all.insert(all.end(), provider->views_.begin(), provider->views_.end());
  std::vector<nocopy::SequencePart> parts{local, remote};
  nocopy::SequenceLoader eager(all, o, m);
  nocopy::SequenceLoader mixed(nocopy::concat_sequence_parts(std::move(parts)), o, m);
  for (int64_t b = 0; b < 6; ++b) {
    ASSERT_EQ(eager.plan(b).sources, mixed.plan(b).sources);
    nocopy::SequenceBatch x, y;
    ASSERT_EQ(eager.next(x), nocopy::NextStatus::Ready);
    ASSERT_EQ(mixed.next(y), nocopy::NextStatus::Ready);
    ASSERT_EQ(x.x.nbytes(), y.x.nbytes());
    EXPECT_EQ(std::memcmp(x.x.data(), y.x.data(), x.x.nbytes()), 0) << "batch " << b;
    EXPECT_EQ(std::memcmp(x.y->data(), y.y->data(), x.y->nbytes()), 0) << "batch " << b;
  }
  EXPECT_GT(provider->hints_.load(), 0);  // the hints reach the part opened on demand
}

TEST(SequenceLoader, MixturePartsOfDifferentLayoutsAreRefused) {
  nocopy::LazySequences remote;
  remote.provider = std::make_shared<const CountingProvider>();
  remote.layout.lengths = {90, 70};
  remote.layout.dtype = nocopy::DType::UInt16;
  std::vector<nocopy::SequencePart> parts{std::vector<View>{tokens(50, 0)}, remote};
  EXPECT_THROW(nocopy::concat_sequence_parts(std::move(parts)), std::invalid_argument);
}
