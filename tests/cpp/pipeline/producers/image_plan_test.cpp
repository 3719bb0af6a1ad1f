// Tests of the image producer's plans over ShardGeometry (as the batch engine composes them):
// permutations, determinism, DistributedSampler-style sharding, elastic starts, the crop and
// mirror operators' draws and checks.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <set>
#include <string>
#include <tuple>

#include "nocopy/pipeline/producers/image_producer.hpp"
#include "nocopy/pipeline/sampling/random_streams.hpp"

using nocopy::BatchPlan;
using nocopy::CropMode;
using nocopy::ShardGeometry;

namespace {

/// The sharding the batch engine gives a sampler (batch size, rank, world, drop_last).
struct Shard {
  int64_t batch = 1, rank = 0, world = 1;
  bool drop_last = false;
};

/// n images of 10 x 12, crop (4, 5), mirror 0.5, seed 7.
struct Config {
  int64_t num_samples = 0;
  nocopy::LoaderOptions options;
};

Config config(int64_t n) {
  Config c;
  c.num_samples = n;
  c.options.crop = std::array<int64_t, 2>{4, 5};
  c.options.mirror = 0.5;
  c.options.seed = 7;
  return c;
}

nocopy::ImageProducer producer(const Config& c) {
  return nocopy::ImageProducer(
      nocopy::image_source(nocopy::View::empty(nocopy::DType::UInt8, {c.num_samples, 10, 12, 3})),
      std::nullopt, c.options);
}

/// The image plans with the epoch, start and sharding a loader's engine would give them.
class Sampler {
 public:
  explicit Sampler(const Config& c, Shard shard = {})
      : n_(c.num_samples), producer_(producer(c)), shard_(shard), geo_(geometry(0)) {}
  Sampler(const Config& c, int64_t batch) : Sampler(c, Shard{batch}) {}

  void set_epoch(int64_t epoch, int64_t start = 0) {
    if (epoch < 0) throw std::invalid_argument("epoch");
    geo_ = geometry(start);
    epoch_ = epoch;
  }
  int64_t num_batches() const { return geo_.num_batches(); }
  int64_t samples_per_rank() const { return geo_.per_rank(); }
  int64_t batch_len(int64_t b) const { return geo_.batch_len(b); }
  int64_t position(int64_t b) const { return geo_.position(b); }
  BatchPlan plan(int64_t b) const {
    auto p = producer_.plan(epoch_, geo_, b);
    return static_cast<const nocopy::TypedPlan<BatchPlan>&>(*p).plan;
  }

 private:
  ShardGeometry geometry(int64_t start) const {
    return ShardGeometry(n_, shard_.batch, shard_.world, shard_.rank, shard_.drop_last, start);
  }
  int64_t n_;
  nocopy::ImageProducer producer_;
  Shard shard_;
  ShardGeometry geo_;
  int64_t epoch_ = 0;
};

std::vector<int64_t> epoch_indices(const Sampler& s) {
  std::vector<int64_t> all;
  for (int64_t b = 0; b < s.num_batches(); ++b) {
    BatchPlan p = s.plan(b);
    all.insert(all.end(), p.indices.begin(), p.indices.end());
  }
  return all;
}

}  // namespace

TEST(ImagePlan, ShuffleIsAPermutationThatChangesPerEpoch) {
  Sampler s(config(101), 8);
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
  Sampler other(config(101), 8);
  EXPECT_EQ(epoch_indices(other), e0);
}

TEST(ImagePlan, NoShuffleKeepsOrder) {
  auto c = config(10);
  c.options.shuffle = false;
  Sampler s(c, 4);
  EXPECT_EQ(epoch_indices(s), (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
}

TEST(ImagePlan, ShardsAreDisjointAndCoverWhenDivisible) {
  std::set<int64_t> seen;
  for (int64_t r = 0; r < 4; ++r) {
    Sampler s(config(40), Shard{3, r, 4});
    EXPECT_EQ(s.samples_per_rank(), 10);
    EXPECT_EQ(s.num_batches(), 4);
    for (int64_t i : epoch_indices(s)) EXPECT_TRUE(seen.insert(i).second) << i;
  }
  EXPECT_EQ(seen.size(), 40u);
}

TEST(ImagePlan, ShardsPadByWrappingOrTrimWithDropLast) {
  // 10 samples over 4 ranks: 3 each, positions 10 and 11 wrap to the first two of the order.
  std::map<int64_t, int> count;
  for (int64_t r = 0; r < 4; ++r) {
    Sampler s(config(10), Shard{2, r, 4});
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
    Sampler s(config(10), Shard{2, r, 4, true});
    EXPECT_EQ(s.samples_per_rank(), 2);
    EXPECT_EQ(s.num_batches(), 1);
    for (int64_t i : epoch_indices(s)) EXPECT_TRUE(seen.insert(i).second);
  }
  EXPECT_EQ(seen.size(), 8u);
}

TEST(ImagePlan, DropLastDropsPartialBatch) {
  EXPECT_EQ(Sampler(config(10), Shard{4, 0, 1, true}).num_batches(), 2);
  EXPECT_EQ(Sampler(config(10), Shard{4, 0, 1, false}).num_batches(), 3);
}

TEST(ImagePlan, CropsInRangeAndCoverTheWholeRange) {
  Sampler s(config(2000), 100);
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

TEST(ImagePlan, CenterNoneAndMirrorExtremes) {
  auto c = config(5);
  c.options.crop_mode = CropMode::Center;
  c.options.mirror = 0.0;
  BatchPlan p = Sampler(c, 5).plan(0);
  for (size_t k = 0; k < 5; ++k) {
    EXPECT_EQ(p.top[k], 3);
    EXPECT_EQ(p.left[k], 3);
    EXPECT_EQ(p.mirror[k], 0);
  }
  c.options.crop_mode = CropMode::None;
  c.options.crop = std::array<int64_t, 2>{10, 12};
  c.options.mirror = 1.0;
  p = Sampler(c, 5).plan(0);
  for (size_t k = 0; k < 5; ++k) {
    EXPECT_EQ(p.top[k], 0);
    EXPECT_EQ(p.left[k], 0);
    EXPECT_EQ(p.mirror[k], 1);
  }
}

TEST(ImagePlan, RejectsBadConfigs) {
  auto bad = [](auto edit) {
    auto c = config(10);
    edit(c);
    EXPECT_THROW(producer(c), std::invalid_argument);
  };
  bad([](Config& c) { c.num_samples = 0; });
  bad([](Config& c) { c.options.mirror = 1.5; });
  bad([](Config& c) { c.options.crop = std::array<int64_t, 2>{11, 5}; });
  bad([](Config& c) { c.options.crop = std::array<int64_t, 2>{4, 0}; });
  bad([](Config& c) { c.options.crop_mode = CropMode::None; });
  Sampler s(config(10), 4);
  EXPECT_THROW(s.plan(3), std::out_of_range);
  EXPECT_THROW(s.plan(-1), std::out_of_range);
  const nocopy::ImageProducer plain = producer(config(10));
  const ShardGeometry whole(10, 4, 1, 0, false, 0);
  EXPECT_THROW(plain.plan(-1, whole, 0), std::invalid_argument);
  EXPECT_THROW(plain.plan(nocopy::kMaxEpoch + 1, whole, 0), std::invalid_argument);
  try {
    auto c = config(10);
    c.options.crop = std::array<int64_t, 2>{11, 5};
    producer(c);
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "crop (11, 5) is larger than image (10, 12) on axes (1, 2)");
  }
}

namespace {

/// One planned slot: dataset index and its augmentation parameters.
using Slot = std::tuple<int64_t, int64_t, int64_t, uint8_t>;

/// Every slot of batches [first, last) of the selected epoch, on every rank of `world`.
std::vector<Slot> slots(const Config& c, Shard shard, int64_t world, int64_t start, int64_t first,
                        int64_t last) {
  std::vector<Slot> all;
  shard.world = world;
  for (int64_t r = 0; r < world; ++r) {
    shard.rank = r;
    Sampler s(c, shard);
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

TEST(ImagePlan, ElasticResumeDeliversExactlyTheRestWithTheSameParameters) {
  // The reference: one rank reads the epoch order position by position, so slot g of its
  // epoch is global position g (the crop and mirror of a position do not depend on the world).
  const int64_t n = 37, batch = 3;
  const Config c = config(n);
  Sampler one(c, batch);
  one.set_epoch(1);
  std::vector<Slot> ref;
  for (int64_t b = 0; b < one.num_batches(); ++b) {
    const BatchPlan p = one.plan(b);
    for (size_t k = 0; k < p.indices.size(); ++k)
      ref.emplace_back(p.indices[k], p.top[k], p.left[k], p.mirror[k]);
  }
  ASSERT_EQ(ref.size(), static_cast<size_t>(n));
  for (bool drop_last : {false, true}) {
    const Shard shard{batch, 0, 1, drop_last};
    for (int64_t w1 : {1, 2, 3, 4, 8}) {
      Sampler first(c, Shard{batch, 0, w1, drop_last});
      first.set_epoch(1);
      for (int64_t b1 = 0; b1 < first.num_batches(); ++b1) {
        const int64_t pos = first.position(b1);
        ASSERT_EQ(pos, std::min(n, b1 * batch * w1));
        // Before the save: exactly the positions [0, pos).
        std::vector<Slot> consumed = slots(c, shard, w1, 0, 0, b1);
        std::vector<Slot> want(ref.begin(), ref.begin() + pos);
        std::sort(want.begin(), want.end());
        ASSERT_EQ(consumed, want) << "w1 " << w1 << " b1 " << b1;
        for (int64_t w2 : {1, 2, 3, 4, 8}) {
          SCOPED_TRACE("drop_last " + std::to_string(drop_last) + " w1 " + std::to_string(w1) +
                       " b1 " + std::to_string(b1) + " w2 " + std::to_string(w2));
          std::vector<Slot> rest = slots(c, shard, w2, pos, 0, -1);
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
          std::set<int64_t> counts;
          for (int64_t r = 0; r < w2; ++r) {
            Sampler s(c, Shard{batch, r, w2, drop_last});
            s.set_epoch(1, pos);
            counts.insert(s.num_batches());
          }
          EXPECT_EQ(counts.size(), 1u);
        }
      }
    }
  }
}

TEST(ImagePlan, StartZeroIsTheWholeEpoch) {
  const Shard shard{3, 1, 3};
  Sampler a(config(37), shard), b(config(37), shard);
  b.set_epoch(2, 0);
  a.set_epoch(2);
  for (int64_t i = 0; i < a.num_batches(); ++i) EXPECT_EQ(a.plan(i).indices, b.plan(i).indices);
  b.set_epoch(2, 20);
  EXPECT_EQ(b.num_batches(), 2);  // 17 samples left over 3 ranks: 6 each (1 padded), 2 batches
  b.set_epoch(2, 37);
  EXPECT_EQ(b.num_batches(), 0);
  EXPECT_THROW(b.set_epoch(2, 38), std::invalid_argument);
  EXPECT_THROW(b.set_epoch(2, -1), std::invalid_argument);
}
