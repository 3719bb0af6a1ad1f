// Tests of Loader: batches equal the plan applied by SampleTransform, determinism across thread
// counts, resume, epochs, held batches, worker errors and shutdown while busy.
#include "nocopy/pipeline/producers/loader.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <set>

using nocopy::Batch;
using nocopy::BatchPlan;
using nocopy::DType;
using nocopy::Loader;
using nocopy::LoaderOptions;
using nocopy::NextStatus;
using nocopy::View;

namespace {

View random_u8(std::vector<int64_t> shape, unsigned seed) {
  View v = View::empty(DType::UInt8, std::move(shape));
  std::mt19937 rng(seed);
  for (int64_t i = 0; i < v.size(); ++i) v.data_as<uint8_t>()[i] = static_cast<uint8_t>(rng());
  return v;
}

View labels_for(int64_t n) {
  View v = View::empty(DType::Int64, {n});
  for (int64_t i = 0; i < n; ++i) v.data_as<int64_t>()[i] = 1000 + i;
  return v;
}

LoaderOptions small_options() {
  LoaderOptions o;
  o.batch_size = 5;
  o.crop = std::array<int64_t, 2>{6, 7};
  o.mirror = 0.5;
  o.mean = std::vector<double>{0.5, 0.4, 0.3};
  o.std = std::vector<double>{0.2, 0.25, 0.3};
  o.num_threads = 3;
  o.seed = 42;
  return o;
}

std::vector<unsigned char> bytes_of(const View& v) {
  const auto* p = static_cast<const unsigned char*>(v.data());
  return {p, p + v.nbytes()};
}

Batch take(Loader& l) {
  Batch b;
  EXPECT_EQ(l.next(b), NextStatus::Ready);
  return b;
}

}  // namespace

TEST(Loader, BatchesMatchPlanThroughTransform) {
  View images = random_u8({23, 10, 12, 3}, 1);
  LoaderOptions o = small_options();
  Loader loader(images, labels_for(23), o);
  nocopy::SampleTransform t(images, loader.config().transform);
  ASSERT_EQ(loader.num_batches(), 5);
  std::set<int64_t> seen;
  for (int64_t b = 0; b < 5; ++b) {
    BatchPlan plan = loader.plan(b);
    Batch batch = take(loader);
    EXPECT_EQ(batch.index, b);
    EXPECT_EQ(batch.epoch, 0);
    const auto n = static_cast<int64_t>(plan.indices.size());
    EXPECT_EQ(batch.images.shape(), (std::vector<int64_t>{n, 3, 6, 7}));
    EXPECT_EQ(reinterpret_cast<uintptr_t>(batch.images.data()) % 64, 0u);
    ASSERT_TRUE(batch.labels.has_value());
    std::vector<unsigned char> want(t.sample_bytes());
    for (int64_t k = 0; k < n; ++k) {
      seen.insert(plan.indices[k]);
      t.apply(plan.indices[k], plan.top[k], plan.left[k], plan.mirror[k] != 0, want.data());
      EXPECT_EQ(std::memcmp(static_cast<char*>(batch.images.data()) + k * t.sample_bytes(),
                            want.data(), want.size()),
                0)
          << "batch " << b << " sample " << k;
      EXPECT_EQ(batch.labels->data_as<int64_t>()[k], 1000 + plan.indices[k]);
    }
  }
  EXPECT_EQ(seen.size(), 23u);
  EXPECT_EQ(loader.state().epoch, 0);  // the end of epoch 0, until the next batch is asked for
  EXPECT_EQ(loader.state().batch, 5);
  EXPECT_EQ(take(loader).epoch, 1);
}

TEST(Loader, SameBytesWhateverTheThreadCount) {
  View images = random_u8({40, 9, 9, 3}, 2);
  std::vector<std::vector<unsigned char>> ref;
  for (size_t threads : {1u, 2u, 5u}) {
    LoaderOptions o = small_options();
    o.num_threads = threads;
    o.dtype = DType::BFloat16;
    o.layout = nocopy::Layout::HWC;
    Loader loader(images, std::nullopt, o);
    EXPECT_EQ(loader.num_threads(), threads);
    std::vector<std::vector<unsigned char>> got;
    for (int i = 0; i < 2 * loader.num_batches(); ++i) got.push_back(bytes_of(take(loader).images));
    if (ref.empty()) {
      ref = got;
    } else {
      EXPECT_EQ(got, ref) << threads << " threads";
    }
  }
  // Epoch 1 differs from epoch 0.
  const size_t per_epoch = ref.size() / 2;
  EXPECT_NE(std::vector(ref.begin(), ref.begin() + per_epoch),
            std::vector(ref.begin() + per_epoch, ref.end()));
}

TEST(Loader, ResumeGivesIdenticalFollowingBatches) {
  View images = random_u8({30, 8, 8, 3}, 3);
  Loader a(images, std::nullopt, small_options());
  for (int i = 0; i < 8; ++i) take(a);  // into epoch 1 (6 batches per epoch)
  const nocopy::LoaderState s = a.state();
  EXPECT_EQ(s.epoch, 1);
  EXPECT_EQ(s.batch, 2);
  std::vector<std::vector<unsigned char>> rest;
  for (int i = 0; i < 7; ++i) rest.push_back(bytes_of(take(a).images));
  LoaderOptions o = small_options();
  o.num_threads = 1;
  Loader b(images, std::nullopt, o);
  b.load_state(s);
  for (int i = 0; i < 7; ++i) EXPECT_EQ(bytes_of(take(b).images), rest[i]) << i;
  EXPECT_THROW(b.load_state({0, 7}), std::invalid_argument);
  EXPECT_THROW(b.load_state({-1, 0}), std::invalid_argument);
  b.load_state({3, 6});  // the end of epoch 3: the next batch starts epoch 4
  EXPECT_EQ(b.state().epoch, 3);
  EXPECT_EQ(b.state().batch, 6);
  const Batch next = take(b);
  EXPECT_EQ(next.epoch, 4);
  EXPECT_EQ(next.index, 0);
}

TEST(Loader, SetEpochMidStreamRestartsThatEpoch) {
  View images = random_u8({20, 8, 8, 3}, 4);
  Loader a(images, std::nullopt, small_options());
  Batch first = take(a);
  take(a);
  a.set_epoch(0);
  EXPECT_EQ(bytes_of(take(a).images), bytes_of(first.images));
  a.set_epoch(5);
  Batch e5 = take(a);
  EXPECT_EQ(e5.epoch, 5);
  EXPECT_NE(bytes_of(e5.images), bytes_of(first.images));
}

TEST(Loader, HeldBatchesAreNeverOverwrittenAndMemoryStaysBounded) {
  View images = random_u8({64, 8, 8, 3}, 5);
  LoaderOptions o = small_options();
  o.prefetch = 2;
  Loader loader(images, std::nullopt, o);
  Batch kept = take(loader);
  const auto snapshot = bytes_of(kept.images);
  for (int i = 0; i < 100; ++i) take(loader);
  EXPECT_EQ(bytes_of(kept.images), snapshot);
  // In flight (prefetch) + the kept one + spares kept for reuse (prefetch + 2).
  EXPECT_LE(loader.buffers_allocated(), static_cast<size_t>(2 * o.prefetch + 3));
}

TEST(Loader, WorkerErrorReachesConsumerWithSampleIndex) {
  View images = random_u8({20, 8, 8, 3}, 6);
  LoaderOptions o = small_options();
  o.shuffle = false;
  Loader loader(images, std::nullopt, o);
  nocopy::inject_loader_fault_for_testing(loader, 12);  // batch 2, position 2
  take(loader);
  take(loader);
  Batch b;
  try {
    loader.next(b);
    FAIL() << "expected a LoaderError";
  } catch (const nocopy::LoaderError& e) {
    EXPECT_EQ(e.sample(), 12);
    EXPECT_EQ(e.batch(), 2);
    EXPECT_NE(std::string(e.what()).find("sample 12"), std::string::npos) << e.what();
  }
  EXPECT_EQ(loader.state().batch, 2);  // a retry fails the same way
  EXPECT_THROW(loader.next(b), nocopy::LoaderError);
  loader.set_epoch(0);
  EXPECT_EQ(take(loader).index, 0);  // the loader still works afterwards
}

TEST(Loader, SkipFillsAFailedSlotWithTheNextGoodSampleOfItsBatch) {
  View images = random_u8({20, 8, 8, 3}, 6);
  LoaderOptions o = small_options();
  o.shuffle = false;
  Loader reference(images, labels_for(20), o);
  o.on_error = nocopy::OnError::Skip;
  for (const auto& [fault, substitute] : {std::pair<int64_t, int64_t>{12, 3}, {14, 0}}) {
    Loader loader(images, labels_for(20), o);
    nocopy::inject_loader_fault_for_testing(loader, fault);  // batch 2 holds samples 10..14
    reference.set_epoch(0);
    for (int64_t b = 0; b < 4; ++b) {
      const Batch got = take(loader);
      const Batch want = take(reference);
      const size_t bytes = got.images.nbytes() / 5;
      const auto* g = static_cast<const unsigned char*>(got.images.data());
      const auto* w = static_cast<const unsigned char*>(want.images.data());
      for (int64_t k = 0; k < 5; ++k) {
        const bool failed = b == 2 && k == fault - 10;
        const int64_t from = failed ? substitute : k;
        EXPECT_EQ(std::memcmp(g + k * bytes, w + from * bytes, bytes), 0) << b << " " << k;
        EXPECT_EQ(got.labels->data_as<int64_t>()[k], want.labels->data_as<int64_t>()[from]);
      }
    }
    EXPECT_EQ(loader.num_skipped(), 1);
    EXPECT_EQ(loader.skipped_samples(), std::vector<int64_t>{fault});
  }
  // A batch whose every sample fails has no substitute: LoaderError, as with Raise.
  o.batch_size = 1;
  Loader single(images, std::nullopt, o);
  nocopy::inject_loader_fault_for_testing(single, 0);
  Batch b;
  try {
    single.next(b);
    FAIL() << "expected a LoaderError";
  } catch (const nocopy::LoaderError& e) {
    EXPECT_EQ(e.sample(), 0);
    EXPECT_NE(std::string(e.what()).find("every sample"), std::string::npos) << e.what();
  }
  EXPECT_EQ(single.num_skipped(), 0);
  EXPECT_EQ(nocopy::on_error_from_name("skip"), nocopy::OnError::Skip);
  EXPECT_THROW(nocopy::on_error_from_name("ignore"), std::invalid_argument);
}

TEST(Loader, TimeoutAndDestructionWhileBusy) {
  View images = random_u8({64, 64, 64, 3}, 7);
  LoaderOptions o = small_options();
  o.batch_size = 16;
  o.crop = std::array<int64_t, 2>{48, 48};
  o.prefetch = 4;
  o.num_threads = 2;
  for (int round = 0; round < 20; ++round) {
    Loader loader(images, labels_for(64), o);
    Batch b;
    NextStatus s = loader.next(b, std::chrono::nanoseconds(0));
    if (s == NextStatus::Timeout) s = loader.next(b);
    EXPECT_EQ(s, NextStatus::Ready);
    // Destroyed with batches in flight: must join promptly, without leaks.
  }
}

TEST(Loader, ValidationMessages) {
  View images = random_u8({4, 8, 8, 3}, 8);
  auto message = [&](auto edit, std::optional<View> labels = std::nullopt) -> std::string {
    LoaderOptions o = small_options();
    edit(o);
    try {
      Loader l(images, labels, o);
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_EQ(message([](LoaderOptions& o) {
              o.crop = std::array<int64_t, 2>{9, 7};
            }),
            "crop (9, 7) is larger than image (8, 8) on axes (1, 2)");
  EXPECT_EQ(message([](LoaderOptions& o) { o.crop.reset(); }),
            "crop_mode 'random' needs a crop size; pass crop=(h, w) or crop_mode='none'");
  EXPECT_EQ(message([](LoaderOptions& o) { o.crop_mode = nocopy::CropMode::None; }),
            "crop_mode 'none' keeps the whole image (8, 8), but crop is (6, 7); pass no crop "
            "(crop=None)");
  EXPECT_EQ(message([](LoaderOptions& o) { o.mean = std::vector<double>{}; }),
            "mean is empty; pass None for no normalization");
  EXPECT_EQ(message([](LoaderOptions& o) { o.num_threads = 0; }),
            "num_threads 0 is not in [1, 1024]");
  EXPECT_EQ(message([](LoaderOptions& o) { o.rank = 2, o.world_size = 2; }),
            "rank 2 is not in [0, world_size=2)");
  EXPECT_EQ(message([](LoaderOptions& o) { o.prefetch = 0; }), "prefetch 0 is not in [1, 1024]");
  EXPECT_EQ(message([](LoaderOptions& o) {
              o.mean = std::vector<double>{1, 2};
            }),
            "mean has 2 values but the images have 3 channels");
  EXPECT_EQ(message([](LoaderOptions&) {}, labels_for(5)),
            "labels shape (5,) does not match images: first axis must be 4");
  EXPECT_EQ(message([](LoaderOptions& o) { o.batch_size = 0; }), "batch_size 0 must be >= 1");
  EXPECT_THROW(Loader(View::empty(DType::UInt8, {4, 8, 8}), std::nullopt, small_options()),
               std::invalid_argument);
  // 4 samples over 8 ranks with drop_last: no batch for anyone, refused up front.
  EXPECT_EQ(message([](LoaderOptions& o) { o.world_size = 8, o.drop_last = true; }),
            "drop_last leaves no batch: 4 samples over world_size 8 give 0 samples per rank, "
            "fewer than batch_size 5");
}

TEST(Loader, EpochEndIsLazyAndPlansOfAnyEpochMatchTheirBatches) {
  View images = random_u8({11, 8, 8, 3}, 9);
  LoaderOptions o = small_options();
  o.batch_size = 4;
  Loader loader(images, labels_for(11), o);
  ASSERT_EQ(loader.num_batches(), 3);
  const BatchPlan ahead = loader.plan(0, 1);
  for (int64_t b = 0; b < 3; ++b) {
    Batch batch = take(loader);
    const BatchPlan p = loader.plan(b);  // right after batch b: describes it, the last included
    for (size_t k = 0; k < p.indices.size(); ++k) {
      EXPECT_EQ(batch.labels->data_as<int64_t>()[k], 1000 + p.indices[k]);
    }
  }
  EXPECT_EQ(loader.state().epoch, 0);  // epoch 0 stays current until the next batch ...
  EXPECT_EQ(loader.state().batch, 3);
  EXPECT_EQ(loader.current_batches(), 3);
  EXPECT_EQ(loader.plan(2).indices.size(), 3u);  // ... so plan() still describes epoch 0
  Batch first = take(loader);
  EXPECT_EQ(first.epoch, 1);
  for (size_t k = 0; k < ahead.indices.size(); ++k) {
    EXPECT_EQ(first.labels->data_as<int64_t>()[k], 1000 + ahead.indices[k]);
  }
  EXPECT_THROW(loader.set_epoch(nocopy::kMaxEpoch + 1), std::invalid_argument);
  loader.set_epoch(nocopy::kMaxEpoch);
  for (int i = 0; i < 3; ++i) take(loader);
  Batch b;
  EXPECT_THROW(loader.next(b), std::invalid_argument);  // no epoch after the last one
  EXPECT_EQ(loader.state().batch, 3);
}

TEST(Loader, BuffersHoldTheLargestBatchThatCanOccur) {
  View images = random_u8({6, 8, 8, 3}, 10);
  LoaderOptions o = small_options();
  o.batch_size = int64_t{1} << 40;  // far above the 6 samples: one batch of 6
  o.dtype = DType::UInt8;
  o.mean.reset();
  o.std.reset();
  Loader loader(images, std::nullopt, o);
  EXPECT_EQ(loader.buffer_bytes(), 6u * 3 * 6 * 7);
  EXPECT_EQ(take(loader).images.shape()[0], 6);
}
