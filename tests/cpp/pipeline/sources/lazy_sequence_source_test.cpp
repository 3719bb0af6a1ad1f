// Tests of sequences opened on demand (SequenceSource over a SequenceShardProvider) with an
// in-memory provider: one opening per sequence however many workers read it at once, a failing
// opening retried by the next read, max_open honoured, hints sent once per closed sequence, a
// sequence that does not match the layout refused, and a loader whose batches equal, byte for
// byte, those of the same sequences given up front. The suite is SequenceLoader's, so that the
// sanitizer runs (make asan-test / tsan-test) pick these concurrent tests up.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstring>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "nocopy/pipeline/producers/sequence_loader.hpp"
#include "nocopy/pipeline/sources/sequence_source.hpp"

using nocopy::DType;
using nocopy::LazySequences;
using nocopy::NextStatus;
using nocopy::SequenceBatch;
using nocopy::SequenceLoader;
using nocopy::SequenceOptions;
using nocopy::SequenceShardProvider;
using nocopy::SequenceSource;
using nocopy::View;
using nocopy::WindowPart;

namespace {

constexpr size_t kShards = 5;

/// Shard k: `length(k)` uint16 tokens, token i of it k * 1000 + i.
int64_t length(size_t k) {
  return 300 + 37 * static_cast<int64_t>(k);
}

View shard(size_t k) {
  View v = View::empty(DType::UInt16, {length(k)});
  for (int64_t i = 0; i < length(k); ++i) {
    v.data_as<uint16_t>()[i] = static_cast<uint16_t>(1000 * k + static_cast<size_t>(i));
  }
  return v;
}

/// An in-memory provider counting its openings and hints; the first `fail_first` openings of
/// shard `failing` throw.
class MemoryProvider final : public SequenceShardProvider {
 public:
  explicit MemoryProvider(size_t failing = kShards, int fail_first = 0)
      : failing_(failing), fail_left_(fail_first) {
    for (size_t k = 0; k < kShards; ++k) shards_.push_back(shard(k));
  }

  View open(size_t k) const override {
    opens_[k].fetch_add(1);
    if (k == failing_ && fail_left_.fetch_sub(1) > 0) {
      throw std::runtime_error("shard " + std::to_string(k) + ": unreachable");
    }
    // Give the other readers time to pile up on this opening.
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return shards_[k];
  }

  void prefetch(size_t k) const noexcept override { hints_[k].fetch_add(1); }

  int opens(size_t k) const { return opens_[k].load(); }
  int hints(size_t k) const { return hints_[k].load(); }

 private:
  std::vector<View> shards_;
  size_t failing_;
  mutable std::atomic<int> fail_left_;
  mutable std::array<std::atomic<int>, kShards> opens_{};
  mutable std::array<std::atomic<int>, kShards> hints_{};
};

LazySequences lazy(std::shared_ptr<const MemoryProvider> provider, int64_t max_open) {
  LazySequences s;
  s.provider = std::move(provider);
  for (size_t k = 0; k < kShards; ++k) s.layout.lengths.push_back(length(k));
  s.layout.dtype = DType::UInt16;
  s.layout.max_open = max_open;
  return s;
}

/// Reads the 16-token window at `start` of shard k as int32 and checks every token.
void read_and_check(const SequenceSource& source, size_t k, int64_t start) {
  std::vector<int32_t> out(16);
  const WindowPart part{0, 16, reinterpret_cast<char*>(out.data())};
  source.read_window(k, start, std::span<const WindowPart>(&part, 1), DType::Int32, false);
  for (int64_t j = 0; j < 16; ++j) {
    ASSERT_EQ(out[static_cast<size_t>(j)], static_cast<int32_t>(1000 * k + start + j));
  }
}

/// `threads` threads reading `per_thread` windows each, shards and starts spread over all.
void read_concurrently(const SequenceSource& source, int threads, int per_thread) {
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&source, t, per_thread] {
      for (int i = 0; i < per_thread; ++i) {
        const auto k = static_cast<size_t>((t + i) % static_cast<int>(kShards));
        read_and_check(source, k, (7 * i + t) % (length(k) - 16));
      }
    });
  }
  for (auto& th : pool) th.join();
}

}  // namespace

TEST(SequenceLoader, LazySourceKnowsItsLayoutBeforeAnyShardOpens) {
  auto provider = std::make_shared<const MemoryProvider>();
  SequenceSource source(lazy(provider, 2), 16);
  EXPECT_TRUE(source.lazy());
  EXPECT_EQ(source.size(), static_cast<int64_t>(kShards));
  EXPECT_EQ(source.lengths()[3], length(3));
  EXPECT_EQ(source.dtype(), DType::UInt16);
  EXPECT_TRUE(source.extents().empty());
  for (size_t k = 0; k < kShards; ++k) EXPECT_EQ(provider->opens(k), 0);
}

TEST(SequenceLoader, LazySourceOneOpeningPerShardUnderConcurrentReads) {
  auto provider = std::make_shared<const MemoryProvider>();
  SequenceSource source(lazy(provider, static_cast<int64_t>(kShards)), 16);
  read_concurrently(source, 8, 40);
  for (size_t k = 0; k < kShards; ++k) EXPECT_EQ(provider->opens(k), 1) << "shard " << k;
}

TEST(SequenceLoader, LazySourceMaxOpenOneStillReadsEveryShardRight) {
  auto provider = std::make_shared<const MemoryProvider>();
  SequenceSource source(lazy(provider, 1), 16);
  read_concurrently(source, 4, 30);
  // Shards were closed and opened again; a reader's own handle kept each mapped meanwhile.
  int opens = 0;
  for (size_t k = 0; k < kShards; ++k) opens += provider->opens(k);
  EXPECT_GT(opens, static_cast<int>(kShards));
}

TEST(SequenceLoader, LazySourceAFailingOpeningIsRetriedByTheNextRead) {
  auto provider = std::make_shared<const MemoryProvider>(/*failing=*/2, /*fail_first=*/1);
  SequenceSource source(lazy(provider, 4), 16);
  try {
    read_and_check(source, 2, 10);
    FAIL() << "the first opening of shard 2 fails";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("shard 2"), std::string::npos) << e.what();
  }
  read_and_check(source, 2, 10);
  EXPECT_EQ(provider->opens(2), 2);
  read_and_check(source, 2, 11);
  EXPECT_EQ(provider->opens(2), 2);
}

TEST(SequenceLoader, LazySourceFailingOpeningsUnderConcurrentReadsNeverHang) {
  auto provider = std::make_shared<const MemoryProvider>(/*failing=*/1, /*fail_first=*/3);
  SequenceSource source(lazy(provider, static_cast<int64_t>(kShards)), 16);
  std::atomic<int> failures{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < 6; ++t) {
    pool.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        try {
          read_and_check(source, 1, i);
        } catch (const std::runtime_error&) {
          failures.fetch_add(1);
        }
      }
    });
  }
  for (auto& th : pool) th.join();
  EXPECT_EQ(failures.load(), 3);
  EXPECT_EQ(provider->opens(1), 4);
}

TEST(SequenceLoader, LazySourceHintsEachClosedShardOnceUntilItOpens) {
  auto provider = std::make_shared<const MemoryProvider>();
  SequenceSource source(lazy(provider, static_cast<int64_t>(kShards)), 16);
  read_and_check(source, 0, 0);
  const std::vector<int64_t> ahead{0, 1, 1, 3, 1, 3, -1, 99};
  source.will_read(ahead);
  source.will_read(ahead);
  EXPECT_EQ(provider->hints(0), 0);  // open already
  EXPECT_EQ(provider->hints(1), 1);
  EXPECT_EQ(provider->hints(3), 1);
  EXPECT_EQ(provider->hints(2), 0);
}

TEST(SequenceLoader, LazySourcePrefetchNeitherOpensNorFaults) {
  auto provider = std::make_shared<const MemoryProvider>();
  SequenceSource source(lazy(provider, 1), 16);
  source.prefetch_window(0, 0);  // not open: nothing (the read opens it)
  EXPECT_EQ(provider->opens(0), 0);
  read_and_check(source, 0, 0);
  source.prefetch_window(0, 5);
  source.prefetch_window(0, length(0));  // past the end: nothing
  read_and_check(source, 1, 0);          // max_open 1: shard 0 closed
  source.prefetch_window(0, 5);          // its old address: a dropped hint, never a fault
  EXPECT_EQ(provider->opens(0), 1);
}

TEST(SequenceLoader, LazySourceAShardThatDoesNotMatchTheLayoutIsRefused) {
  auto provider = std::make_shared<const MemoryProvider>();
  LazySequences s = lazy(provider, 2);
  s.layout.lengths[1] += 1;
  SequenceSource source(std::move(s), 16);
  try {
    read_and_check(source, 1, 0);
    FAIL() << "shard 1 is shorter than the layout says";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("shard 1"), std::string::npos) << e.what();
  }
}

TEST(SequenceLoader, LazySourceBadLayoutsAreInvalidArguments) {
  auto provider = std::make_shared<const MemoryProvider>();
  LazySequences none = lazy(provider, 2);
  none.layout.lengths.clear();
  EXPECT_THROW(SequenceSource(std::move(none), 16), std::invalid_argument);
  EXPECT_THROW(SequenceSource(lazy(provider, 0), 16), std::invalid_argument);
  LazySequences no_provider = lazy(provider, 2);
  no_provider.provider = nullptr;
  EXPECT_THROW(SequenceSource(std::move(no_provider), 16), std::invalid_argument);
  LazySequences bools = lazy(provider, 2);
  bools.layout.dtype = DType::Bool;
  EXPECT_THROW(SequenceSource(std::move(bools), 16), std::invalid_argument);
}

TEST(SequenceLoader, LazyBatchesEqualThoseOfTheSameShardsGivenUpFront) {
  for (int64_t step : {0, 24}) {
    SequenceOptions o;
    o.seq_len = 20;
    o.batch_size = 7;
    o.step = step;
    o.num_threads = 4;
    o.seed = 11;
    o.fetch_ahead = 2;
    std::vector<View> views;
    for (size_t k = 0; k < kShards; ++k) views.push_back(shard(k));
    auto provider = std::make_shared<const MemoryProvider>();
    SequenceLoader eager(views, o);
    SequenceLoader lazy_loader(lazy(provider, static_cast<int64_t>(kShards)), o);
    ASSERT_EQ(eager.windows_per_epoch(), lazy_loader.windows_per_epoch());
    for (int64_t b = 0; b < 8; ++b) {
      const nocopy::SequencePlan want = eager.plan(b), got = lazy_loader.plan(b);
      ASSERT_EQ(want.sources, got.sources);
      ASSERT_EQ(want.starts, got.starts);
      SequenceBatch x, y;
      ASSERT_EQ(eager.next(x), NextStatus::Ready);
      ASSERT_EQ(lazy_loader.next(y), NextStatus::Ready);
      ASSERT_EQ(x.x.nbytes(), y.x.nbytes());
      EXPECT_EQ(std::memcmp(x.x.data(), y.x.data(), x.x.nbytes()), 0) << "batch " << b;
      EXPECT_EQ(std::memcmp(x.y->data(), y.y->data(), x.y->nbytes()), 0) << "batch " << b;
    }
    for (size_t k = 0; k < kShards; ++k) EXPECT_EQ(provider->opens(k), 1) << "shard " << k;
  }
}

TEST(SequenceLoader, LazyAShardThatCannotBeHadIsALoaderErrorNamingIt) {
  SequenceOptions o;
  o.seq_len = 20;
  o.batch_size = 64;
  o.num_threads = 2;
  auto provider = std::make_shared<const MemoryProvider>(/*failing=*/3, /*fail_first=*/1000);
  SequenceLoader loader(lazy(provider, 2), o);
  SequenceBatch batch;
  try {
    loader.next(batch);
    FAIL() << "shard 3 cannot be opened";
  } catch (const nocopy::LoaderError& e) {
    EXPECT_EQ(e.sample(), 3);
    EXPECT_NE(std::string(e.what()).find("shard 3"), std::string::npos) << e.what();
  }
}

TEST(SequenceLoader, LazyFetchAheadHintsTheShardsOfTheBatchesAhead) {
  SequenceOptions o;
  o.seq_len = 20;
  o.batch_size = 2;
  o.step = 20;
  o.shuffle = false;
  o.num_threads = 1;
  o.fetch_ahead = 1000;
  auto provider = std::make_shared<const MemoryProvider>();
  SequenceLoader loader(lazy(provider, static_cast<int64_t>(kShards)), o);
  (void)loader.plan(0);  // plans batch 0 and hints every batch of the epoch after it
  for (size_t k = 1; k < kShards; ++k) EXPECT_EQ(provider->hints(k), 1) << "shard " << k;
  o.fetch_ahead = 1025;
  EXPECT_THROW(SequenceLoader(lazy(provider, 2), o), std::invalid_argument);
}

TEST(SequenceLoader, LazyPlansInOrderHintEveryShardOnce) {
  SequenceOptions o;
  o.seq_len = 20;
  o.batch_size = 3;
  o.step = 20;
  o.shuffle = false;
  o.num_threads = 1;
  o.fetch_ahead = 2;
  auto provider = std::make_shared<const MemoryProvider>();
  SequenceLoader loader(lazy(provider, static_cast<int64_t>(kShards)), o);
  const int64_t batches = loader.windows_per_epoch() / 3;
  // In order (each plan hints only the batch newly in reach), then a jump back: nothing missed,
  // nothing hinted twice while it stays closed.
  for (int64_t b = 0; b < batches; ++b) (void)loader.plan(b, 0);
  (void)loader.plan(0, 0);
  for (size_t k = 0; k < kShards; ++k) EXPECT_EQ(provider->hints(k), 1) << "shard " << k;
}
