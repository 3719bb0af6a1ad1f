// Tests of SequenceSampler and SequenceOptions: windows never cross a source, step mode covers
// every window once, random starts are deterministic and stay in range, shards split the
// positions, and the options' and data's errors.
#include "nocopy/pipeline/sampling/sequence_sampler.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <set>
#include <span>
#include <stdexcept>
#include <utility>

#include "nocopy/pipeline/producers/sequence_options.hpp"

using nocopy::SequenceOptions;
using nocopy::SequencePlan;
using nocopy::SequenceTargets;
using nocopy::ShardGeometry;

namespace {

SequenceOptions options(int64_t seq_len, int64_t batch, int64_t step) {
  SequenceOptions o;
  o.seq_len = seq_len;
  o.batch_size = batch;
  o.step = step;
  o.validate();
  return o;
}

nocopy::WindowSampling windows(const SequenceOptions& o) {
  return {o.seq_len, o.target_steps(), o.targets == SequenceTargets::Horizon ? o.horizon : 0,
          o.step,    o.shuffle,        o.seed};
}

/// A sequence sampler with the epoch and sharding a loader's engine would give it.
class SequenceSampler : public nocopy::SequenceSampler {
 public:
  SequenceSampler(std::span<const int64_t> lengths, const SequenceOptions& o)
      : nocopy::SequenceSampler(lengths, windows(o)), o_(o), geo_(geometry()) {}
  void set_epoch(int64_t epoch) { epoch_ = epoch; }
  int64_t num_batches() const { return geo_.num_batches(); }
  SequencePlan plan(int64_t b) const { return nocopy::SequenceSampler::plan(epoch_, geo_, b); }

 private:
  ShardGeometry geometry() const {
    return ShardGeometry(windows_per_epoch(), o_.batch_size, o_.world_size, o_.rank, o_.drop_last,
                         0);
  }
  SequenceOptions o_;
  ShardGeometry geo_;
  int64_t epoch_ = 0;
};

std::vector<std::pair<int64_t, int64_t>> epoch_windows(const SequenceSampler& s) {
  std::vector<std::pair<int64_t, int64_t>> out;
  for (int64_t b = 0; b < s.num_batches(); ++b) {
    SequencePlan p = s.plan(b);
    for (size_t k = 0; k < p.starts.size(); ++k) out.emplace_back(p.sources[k], p.starts[k]);
  }
  return out;
}

}  // namespace

TEST(SequenceSampler, StepModeCoversEveryWindowOnce) {
  const std::vector<int64_t> lengths{20, 3, 11};
  SequenceOptions o = options(4, 3, 2);
  o.drop_last = false;
  SequenceSampler s(lengths, o);
  EXPECT_EQ(s.window_steps(), 5);
  auto got = epoch_windows(s);
  std::set<std::pair<int64_t, int64_t>> expected;
  for (int64_t src = 0; src < 3; ++src) {
    for (int64_t t = 0; t + 5 <= lengths[static_cast<size_t>(src)]; t += 2) {
      expected.insert({src, t});
    }
  }
  EXPECT_EQ(static_cast<int64_t>(expected.size()), s.windows_per_epoch());
  std::set<std::pair<int64_t, int64_t>> seen(got.begin(), got.end());
  EXPECT_EQ(seen, expected);
  EXPECT_EQ(got.size(), expected.size());
}

TEST(SequenceSampler, RandomStartsAreInRangeAndDeterministic) {
  const std::vector<int64_t> lengths{1000, 10, 500};
  SequenceSampler a(lengths, options(16, 8, 0));
  SequenceSampler b(lengths, options(16, 8, 0));
  EXPECT_EQ(a.windows_per_epoch(), 1500 / 16);
  for (int64_t i = 0; i < a.num_batches(); ++i) {
    SequencePlan p = a.plan(i), q = b.plan(i);
    EXPECT_EQ(p.starts, q.starts);
    for (size_t k = 0; k < p.starts.size(); ++k) {
      EXPECT_NE(p.sources[k], 1);  // 10 steps hold no window of 17
      EXPECT_LE(p.starts[k] + 17, lengths[static_cast<size_t>(p.sources[k])]);
    }
  }
  a.set_epoch(1);
  EXPECT_NE(a.plan(0).starts, b.plan(0).starts);
}

TEST(SequenceSampler, ShardsSplitThePositions) {
  const std::vector<int64_t> lengths{4000};
  SequenceSampler whole(lengths, options(10, 4, 0));
  std::multiset<int64_t> all, ranks;
  for (auto& w : epoch_windows(whole)) all.insert(w.second);
  int64_t batches = -1;
  for (int64_t r = 0; r < 4; ++r) {
    SequenceOptions o = options(10, 1, 0);
    o.rank = r;
    o.world_size = 4;
    SequenceSampler s(lengths, o);
    if (batches >= 0) {
      EXPECT_EQ(s.num_batches(), batches);
    }
    batches = s.num_batches();
    for (auto& w : epoch_windows(s)) ranks.insert(w.second);
  }
  EXPECT_EQ(ranks, all);  // 400 positions, divisible by 4: the same draws, split
}

TEST(SequenceSampler, ErrorsNameTheLimit) {
  const std::vector<int64_t> lengths{100};
  EXPECT_THROW(SequenceSampler(lengths, options(101, 1, 0)), std::invalid_argument);
  SequenceOptions o = options(95, 1, 0);
  o.targets = SequenceTargets::Horizon;
  o.horizon = 10;
  try {
    SequenceSampler s(lengths, o);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("horizon 10 does not fit"), std::string::npos);
  }
  EXPECT_THROW(SequenceSampler(std::vector<int64_t>{}, options(1, 1, 0)), std::invalid_argument);
  SequenceOptions bad;
  bad.seq_len = 0;
  EXPECT_THROW(bad.validate(), std::invalid_argument);
  bad = SequenceOptions{};
  bad.shuffle = false;
  EXPECT_THROW(bad.validate(), std::invalid_argument);  // random starts need shuffling
  bad = SequenceOptions{};
  bad.dtype = nocopy::DType::Complex64;
  EXPECT_THROW(bad.validate(), std::invalid_argument);
  EXPECT_THROW(nocopy::sequence_targets_from_string("prev"), std::invalid_argument);
}

TEST(SequenceSampler, AStepNearTheInt64LimitTakesEachDocumentsFirstWindow) {
  // ceil(starts / step) once overflowed for steps near 2^63: documents (100, 9, 9) with
  // seq_len 8 (9 steps a window) hold one window each, three in all.
  const std::vector<int64_t> lengths{100, 9, 9};
  for (int64_t step : {int64_t{1} << 62, std::numeric_limits<int64_t>::max() - 1,
                       std::numeric_limits<int64_t>::max()}) {
    SequenceOptions o = options(8, 1, step);
    SequenceSampler s(lengths, o);
    EXPECT_EQ(s.windows_per_epoch(), 3) << step;
    std::set<std::pair<int64_t, int64_t>> seen;
    for (auto& w : epoch_windows(s)) seen.insert(w);
    EXPECT_EQ(seen, (std::set<std::pair<int64_t, int64_t>>{{0, 0}, {1, 0}, {2, 0}}));
  }
}
