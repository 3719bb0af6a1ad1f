// Tests of Sampler: permutations, determinism, DistributedSampler-style sharding, crop draws.
#include "nocopy/pipeline/sampling/sampler.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <set>
#include <string>
#include <tuple>

using nocopy::BatchPlan;
using nocopy::CropMode;
using nocopy::Sampler;
using nocopy::SamplerConfig;

namespace {

SamplerConfig config(int64_t n, int64_t batch) {
  SamplerConfig c;
  c.num_samples = n;
  c.batch_size = batch;
  c.image_h = 10;
  c.image_w = 12;
  c.crop_h = 4;
  c.crop_w = 5;
  c.mirror = 0.5;
  c.seed = 7;
  return c;
}

std::vector<int64_t> epoch_indices(const Sampler& s) {
  std::vector<int64_t> all;
  for (int64_t b = 0; b < s.num_batches(); ++b) {
    BatchPlan p = s.plan(b);
    all.insert(all.end(), p.indices.begin(), p.indices.end());
  }
  return all;
}

}  // namespace

TEST(Sampler, CounterHashDependsOnEveryKey) {
  const uint64_t h = nocopy::counter_hash(1, 2, 3, 4);
  EXPECT_EQ(h, nocopy::counter_hash(1, 2, 3, 4));
  EXPECT_NE(h, nocopy::counter_hash(0, 2, 3, 4));
  EXPECT_NE(h, nocopy::counter_hash(1, 0, 3, 4));
  EXPECT_NE(h, nocopy::counter_hash(1, 2, 0, 4));
  EXPECT_NE(h, nocopy::counter_hash(1, 2, 3, 0));
  EXPECT_EQ(nocopy::bounded(~uint64_t{0}, 10), 9u);
  EXPECT_EQ(nocopy::bounded(0, 10), 0u);
}

TEST(Sampler, ShuffleIsAPermutationThatChangesPerEpoch) {
  Sampler s(config(101, 8));
  EXPECT_EQ(s.num_batches(), 13);
  EXPECT_EQ(s.batch_len(12), 5);
  auto e0 = epoch_indices(s);
  ASSERT_EQ(e0.size(), 101u);
  auto sorted = e0;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 101; ++i) EXPECT_EQ(sorted[i], i);
  std::vector<int64_t> identity(101);
  std::iota(identity.begin(), identity.end(), 0);
  EXPECT_NE(e0, identity);
  s.set_epoch(1);
  auto e1 = epoch_indices(s);
  EXPECT_NE(e0, e1);
  s.set_epoch(0);
  EXPECT_EQ(epoch_indices(s), e0);  // a pure function of (seed, epoch)
  Sampler other(config(101, 8));
  EXPECT_EQ(epoch_indices(other), e0);
}

TEST(Sampler, NoShuffleKeepsOrder) {
  auto c = config(10, 4);
  c.shuffle = false;
  Sampler s(c);
  EXPECT_EQ(epoch_indices(s), (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
}

TEST(Sampler, ShardsAreDisjointAndCoverWhenDivisible) {
  std::set<int64_t> seen;
  for (int64_t r = 0; r < 4; ++r) {
    auto c = config(40, 3);
    c.rank = r;
    c.world_size = 4;
    Sampler s(c);
    EXPECT_EQ(s.samples_per_rank(), 10);
    EXPECT_EQ(s.num_batches(), 4);
    for (int64_t i : epoch_indices(s)) EXPECT_TRUE(seen.insert(i).second) << i;
  }
  EXPECT_EQ(seen.size(), 40u);
}

TEST(Sampler, ShardsPadByWrappingOrTrimWithDropLast) {
  // 10 samples over 4 ranks: 3 each, positions 10 and 11 wrap to the first two of the order.
  std::map<int64_t, int> count;
  for (int64_t r = 0; r < 4; ++r) {
    auto c = config(10, 2);
    c.rank = r;
    c.world_size = 4;
    Sampler s(c);
    EXPECT_EQ(s.samples_per_rank(), 3);
    EXPECT_EQ(s.num_batches(), 2);
    for (int64_t i : epoch_indices(s)) ++count[i];
  }
  EXPECT_EQ(count.size(), 10u);
  int twice = 0;
  for (auto& [i, n] : count) twice += n == 2;
  EXPECT_EQ(twice, 2);
  // drop_last: 2 per rank, 1 full batch each, no sample repeated across ranks.
  std::set<int64_t> seen;
  for (int64_t r = 0; r < 4; ++r) {
    auto c = config(10, 2);
    c.rank = r;
    c.world_size = 4;
    c.drop_last = true;
    Sampler s(c);
    EXPECT_EQ(s.samples_per_rank(), 2);
    EXPECT_EQ(s.num_batches(), 1);
    for (int64_t i : epoch_indices(s)) EXPECT_TRUE(seen.insert(i).second);
  }
  EXPECT_EQ(seen.size(), 8u);
}

TEST(Sampler, DropLastDropsPartialBatch) {
  auto c = config(10, 4);
  c.drop_last = true;
  EXPECT_EQ(Sampler(c).num_batches(), 2);
  c.drop_last = false;
  EXPECT_EQ(Sampler(c).num_batches(), 3);
}

TEST(Sampler, CropsInRangeAndCoverTheWholeRange) {
  auto c = config(2000, 100);
  Sampler s(c);
  std::set<int64_t> tops, lefts;
  int mirrored = 0, total = 0;
  for (int64_t b = 0; b < s.num_batches(); ++b) {
    BatchPlan p = s.plan(b);
    for (size_t k = 0; k < p.indices.size(); ++k) {
      ASSERT_GE(p.top[k], 0);
      ASSERT_LE(p.top[k], 6);
      ASSERT_GE(p.left[k], 0);
      ASSERT_LE(p.left[k], 7);
      tops.insert(p.top[k]);
      lefts.insert(p.left[k]);
      mirrored += p.mirror[k];
      ++total;
    }
  }
  EXPECT_EQ(tops.size(), 7u);
  EXPECT_EQ(lefts.size(), 8u);
  EXPECT_NEAR(static_cast<double>(mirrored) / total, 0.5, 0.05);
}

TEST(Sampler, CenterNoneAndMirrorExtremes) {
  auto c = config(5, 5);
  c.crop_mode = CropMode::Center;
  c.mirror = 0.0;
  BatchPlan p = Sampler(c).plan(0);
  for (size_t k = 0; k < 5; ++k) {
    EXPECT_EQ(p.top[k], 3);
    EXPECT_EQ(p.left[k], 3);
    EXPECT_EQ(p.mirror[k], 0);
  }
  c.crop_mode = CropMode::None;
  c.crop_h = 10;
  c.crop_w = 12;
  c.mirror = 1.0;
  p = Sampler(c).plan(0);
  for (size_t k = 0; k < 5; ++k) {
    EXPECT_EQ(p.top[k], 0);
    EXPECT_EQ(p.left[k], 0);
    EXPECT_EQ(p.mirror[k], 1);
  }
}

TEST(Sampler, RejectsBadConfigs) {
  auto bad = [](auto edit) {
    auto c = config(10, 2);
    edit(c);
    EXPECT_THROW(Sampler{c}, std::invalid_argument);
  };
  bad([](SamplerConfig& c) { c.num_samples = 0; });
  bad([](SamplerConfig& c) { c.batch_size = 0; });
  bad([](SamplerConfig& c) { c.rank = 2, c.world_size = 2; });
  bad([](SamplerConfig& c) { c.rank = -1; });
  bad([](SamplerConfig& c) { c.world_size = 0; });
  bad([](SamplerConfig& c) { c.mirror = 1.5; });
  bad([](SamplerConfig& c) { c.crop_h = 11; });
  bad([](SamplerConfig& c) { c.crop_w = 0; });
  bad([](SamplerConfig& c) { c.crop_mode = CropMode::None; });
  Sampler s(config(10, 4));
  EXPECT_THROW(s.plan(3), std::out_of_range);
  EXPECT_THROW(s.plan(-1), std::out_of_range);
  EXPECT_THROW(s.set_epoch(-1), std::invalid_argument);
  try {
    auto c = config(10, 2);
    c.crop_h = 11;
    Sampler{c};
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "crop (11, 5) is larger than image (10, 12) on axes (1, 2)");
  }
}

namespace {

/// One planned slot: dataset index and its augmentation parameters.
using Slot = std::tuple<int64_t, int64_t, int64_t, uint8_t>;

/// Every slot of batches [first, last) of the selected epoch, on every rank of `world`.
std::vector<Slot> slots(SamplerConfig c, int64_t world, int64_t start, int64_t first,
                        int64_t last) {
  std::vector<Slot> all;
  c.world_size = world;
  for (int64_t r = 0; r < world; ++r) {
    c.rank = r;
    Sampler s(c);
    s.set_epoch(1, start);
    const int64_t end = last < 0 ? s.num_batches() : last;
    for (int64_t b = first; b < end; ++b) {
      const BatchPlan p = s.plan(b);
      for (size_t k = 0; k < p.indices.size(); ++k)
        all.emplace_back(p.indices[k], p.top[k], p.left[k], p.mirror[k]);
    }
  }
  std::sort(all.begin(), all.end());
  return all;
}

}  // namespace

TEST(Sampler, ElasticResumeDeliversExactlyTheRestWithTheSameParameters) {
  // The reference: one rank reads the epoch order position by position, so slot g of its
  // epoch is global position g (the crop and mirror of a position do not depend on the world).
  const int64_t n = 37, batch = 3;
  SamplerConfig c = config(n, batch);
  Sampler one(c);
  one.set_epoch(1);
  std::vector<Slot> ref;
  for (int64_t b = 0; b < one.num_batches(); ++b) {
    const BatchPlan p = one.plan(b);
    for (size_t k = 0; k < p.indices.size(); ++k)
      ref.emplace_back(p.indices[k], p.top[k], p.left[k], p.mirror[k]);
  }
  ASSERT_EQ(ref.size(), static_cast<size_t>(n));
  for (bool drop_last : {false, true}) {
    c.drop_last = drop_last;
    for (int64_t w1 : {1, 2, 3, 4, 8}) {
      SamplerConfig c1 = c;
      c1.world_size = w1;
      Sampler first(c1);
      first.set_epoch(1);
      for (int64_t b1 = 0; b1 < first.num_batches(); ++b1) {
        const int64_t pos = first.position(b1);
        ASSERT_EQ(pos, std::min(n, b1 * batch * w1));
        // Before the save: exactly the positions [0, pos).
        std::vector<Slot> consumed = slots(c, w1, 0, 0, b1);
        std::vector<Slot> want(ref.begin(), ref.begin() + pos);
        std::sort(want.begin(), want.end());
        ASSERT_EQ(consumed, want) << "w1 " << w1 << " b1 " << b1;
        for (int64_t w2 : {1, 2, 3, 4, 8}) {
          SCOPED_TRACE("drop_last " + std::to_string(drop_last) + " w1 " + std::to_string(w1) +
                       " b1 " + std::to_string(b1) + " w2 " + std::to_string(w2));
          std::vector<Slot> rest = slots(c, w2, pos, 0, -1);
          const int64_t remaining = n - pos;
          if (drop_last) {
            // Trimmed to a multiple of w2, then each rank's partial batch is dropped.
            const int64_t per_rank = remaining / w2;
            const int64_t kept = per_rank / batch * batch * w2;
            std::vector<Slot> head(ref.begin() + pos, ref.begin() + pos + kept);
            std::sort(head.begin(), head.end());
            EXPECT_EQ(rest, head);
          } else {
            // Every remaining position exactly once, plus fewer than w2 wrap-around pads.
            std::multiset<Slot> got(rest.begin(), rest.end());
            for (auto it = ref.begin() + pos; it != ref.end(); ++it) {
              auto hit = got.find(*it);
              ASSERT_NE(hit, got.end());
              got.erase(hit);
            }
            const int64_t padded = (remaining + w2 - 1) / w2 * w2;
            EXPECT_EQ(static_cast<int64_t>(got.size()), padded - remaining);
          }
          // Equal batch counts on every rank.
          SamplerConfig c2 = c;
          c2.world_size = w2;
          std::set<int64_t> counts;
          for (int64_t r = 0; r < w2; ++r) {
            c2.rank = r;
            Sampler s(c2);
            s.set_epoch(1, pos);
            counts.insert(s.num_batches());
          }
          EXPECT_EQ(counts.size(), 1u);
        }
      }
    }
  }
}

TEST(Sampler, StartZeroIsTheWholeEpochAndOtherEpochsStayWhole) {
  SamplerConfig c = config(37, 3);
  c.world_size = 3;
  c.rank = 1;
  Sampler a(c), b(c);
  b.set_epoch(2, 0);
  a.set_epoch(2);
  for (int64_t i = 0; i < a.num_batches(); ++i) EXPECT_EQ(a.plan(i).indices, b.plan(i).indices);
  b.set_epoch(2, 20);
  EXPECT_EQ(b.num_batches(), 2);  // 17 samples left over 3 ranks: 6 each (1 padded), 2 batches
  EXPECT_EQ(b.epoch_batches(), a.num_batches());
  EXPECT_EQ(b.plan(0, 3).indices, a.plan(0, 3).indices);  // another epoch: a whole one
  b.set_epoch(2, 37);
  EXPECT_EQ(b.num_batches(), 0);
  EXPECT_THROW(b.set_epoch(2, 38), std::invalid_argument);
  EXPECT_THROW(b.set_epoch(2, -1), std::invalid_argument);
}
