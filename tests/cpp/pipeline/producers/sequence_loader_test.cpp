// Tests of SequenceLoader: batches equal their plan gathered by hand, identical bytes across
// thread counts and after a resume, held batches never reused, token overflow and data errors,
// and shutdown while busy (these suites also run under ThreadSanitizer).
#include "nocopy/pipeline/producers/sequence_loader.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <stdexcept>
#include <string>

using nocopy::DType;
using nocopy::NextStatus;
using nocopy::SequenceBatch;
using nocopy::SequenceLoader;
using nocopy::SequenceOptions;
using nocopy::SequencePlan;
using nocopy::SequenceTargets;
using nocopy::View;

namespace {

View tokens(int64_t n, uint16_t mul = 7) {
  View v = View::empty(DType::UInt16, {n});
  for (int64_t i = 0; i < n; ++i) v.data_as<uint16_t>()[i] = static_cast<uint16_t>(i * mul);
  return v;
}

SequenceOptions opts(int64_t threads) {
  SequenceOptions o;
  o.seq_len = 32;
  o.batch_size = 6;
  o.num_threads = static_cast<size_t>(threads);
  o.seed = 3;
  return o;
}

}  // namespace

TEST(SequenceLoader, BatchesEqualTheirPlan) {
  View t = tokens(5000);
  SequenceLoader loader({t}, opts(3));
  for (int64_t b = 0; b < 5; ++b) {
    SequencePlan p = loader.plan(b);
    SequenceBatch batch;
    ASSERT_EQ(loader.next(batch), NextStatus::Ready);
    ASSERT_TRUE(batch.y);
    EXPECT_EQ(batch.x.shape(), (std::vector<int64_t>{6, 32}));
    EXPECT_EQ(reinterpret_cast<uintptr_t>(batch.x.data()) % 64, 0u);
    for (size_t k = 0; k < p.starts.size(); ++k) {
      for (int64_t j = 0; j < 32; ++j) {
        const int64_t want = t.data_as<uint16_t>()[p.starts[k] + j];
        EXPECT_EQ(batch.x.data_as<int64_t>()[static_cast<int64_t>(k) * 32 + j], want);
        EXPECT_EQ(batch.y->data_as<int64_t>()[static_cast<int64_t>(k) * 32 + j],
                  t.data_as<uint16_t>()[p.starts[k] + j + 1]);
      }
    }
  }
}

TEST(SequenceLoader, SameBytesForAnyThreadCountAndAfterResume) {
  View t = tokens(3000, 13);
  auto run = [&](int64_t threads, int64_t skip) {
    SequenceLoader loader({t}, opts(threads));
    if (skip) loader.load_state({0, skip});
    std::vector<int64_t> out;
    SequenceBatch b;
    for (int64_t i = skip; i < loader.num_batches(); ++i) {
      loader.next(b);
      out.insert(out.end(), b.x.data_as<int64_t>(), b.x.data_as<int64_t>() + b.x.size());
    }
    return out;
  };
  const auto one = run(1, 0);
  EXPECT_EQ(run(4, 0), one);
  const auto tail = run(2, 3);
  ASSERT_EQ(tail.size(), one.size() - 3 * 6 * 32);
  EXPECT_TRUE(std::equal(tail.begin(), tail.end(), one.begin() + 3 * 6 * 32));
}

TEST(SequenceLoader, HeldBatchesAreNeverReused) {
  SequenceLoader loader({tokens(4000)}, opts(2));
  SequenceBatch first;
  loader.next(first);
  std::vector<int64_t> copy(first.x.data_as<int64_t>(),
                            first.x.data_as<int64_t>() + first.x.size());
  SequenceBatch other;
  for (int i = 0; i < 10; ++i) {
    loader.next(other);
    EXPECT_NE(other.x.data(), first.x.data());
  }
  EXPECT_TRUE(std::equal(copy.begin(), copy.end(), first.x.data_as<int64_t>()));
}

TEST(SequenceLoader, SeriesWithHorizonAndDocuments) {
  View a = View::empty(DType::Float32, {50, 3});
  View b = View::empty(DType::Float32, {20, 3});
  for (int64_t i = 0; i < a.size(); ++i) a.data_as<float>()[i] = static_cast<float>(i);
  for (int64_t i = 0; i < b.size(); ++i) b.data_as<float>()[i] = -static_cast<float>(i);
  SequenceOptions o = opts(2);
  o.seq_len = 10;
  o.targets = SequenceTargets::Horizon;
  o.horizon = 4;
  o.dtype = DType::Float32;
  o.step = 1;
  SequenceLoader loader({a, b}, o);
  EXPECT_EQ(loader.windows_per_epoch(), (50 - 14 + 1) + (20 - 14 + 1));
  SequencePlan p = loader.plan(0);
  SequenceBatch batch;
  loader.next(batch);
  EXPECT_EQ(batch.y->shape(), (std::vector<int64_t>{6, 4, 3}));
  for (size_t k = 0; k < p.starts.size(); ++k) {
    const View& src = p.sources[k] == 0 ? a : b;
    const float* want = src.data_as<float>() + (p.starts[k] + 10) * 3;
    EXPECT_EQ(std::memcmp(batch.y->data_as<float>() + k * 12, want, 12 * sizeof(float)), 0);
  }
}

TEST(SequenceLoader, ErrorsForOverflowAndFloatTokens) {
  View big = View::empty(DType::UInt32, {1000});
  for (int64_t i = 0; i < 1000; ++i) big.data_as<uint32_t>()[i] = 1u << 20;
  SequenceOptions o = opts(2);
  o.dtype = DType::Int16;
  SequenceLoader loader({big}, o);
  SequenceBatch b;
  for (int attempt = 0; attempt < 2; ++attempt) {  // the position stays at that batch
    try {
      loader.next(b);
      FAIL() << "no error";
    } catch (const nocopy::LoaderError& e) {
      EXPECT_EQ(e.sample(), 0);  // sequence 0
      EXPECT_EQ(e.batch(), 0);
      EXPECT_NE(std::string(e.what()).find("does not fit in dtype int16"), std::string::npos);
      EXPECT_THROW(std::rethrow_exception(e.cause()), std::overflow_error);
    }
  }
  EXPECT_EQ(loader.state().batch, 0);
  View f = View::empty(DType::Float32, {100});
  EXPECT_THROW(SequenceLoader({f}, opts(1)), std::invalid_argument);
  View g = View::empty(DType::UInt16, {4, 4, 4});
  EXPECT_THROW(SequenceLoader({g}, opts(1)), std::invalid_argument);
}

TEST(SequenceLoader, DestroyedWhileBusy) {
  View t = tokens(60000);
  for (int i = 0; i < 5; ++i) {
    SequenceOptions o = opts(4);
    o.seq_len = 2048;
    o.batch_size = 16;
    o.prefetch = 4;
    SequenceLoader loader({t}, o);
    SequenceBatch b;
    loader.next(b);
  }
}
