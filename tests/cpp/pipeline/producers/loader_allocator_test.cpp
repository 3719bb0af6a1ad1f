// Tests of the loaders' allocator option (LoaderOptions::allocator, SequenceOptions::allocator):
// batches are written into blocks of the given allocator, which are reused; a kept batch keeps
// its block (and the allocator) after the loader is gone; a failing allocation is reported and
// retried without losing or changing a batch.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <set>
#include <vector>

#include "nocopy/pipeline/producers/loader.hpp"
#include "nocopy/pipeline/producers/sequence_loader.hpp"

using nocopy::Batch;
using nocopy::DType;
using nocopy::Loader;
using nocopy::LoaderOptions;
using nocopy::NextStatus;
using nocopy::SequenceBatch;
using nocopy::SequenceLoader;
using nocopy::SequenceOptions;
using nocopy::View;

namespace {

// Heap blocks, each recorded while it is out; allocation number `fail_at` (0-based) fails.
class RecordingAllocator final : public nocopy::Allocator {
 public:
  std::string_view name() const override { return "recording"; }
  long fail_at = -1;
  bool owns(const void* p) const {
    std::lock_guard<std::mutex> lock(mutex_);
    return blocks_.count(p) == 1;
  }
  long calls() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return calls_;
  }

 protected:
  void* do_allocate(size_t bytes) override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (calls_++ == fail_at) throw std::bad_alloc();
    void* p = std::aligned_alloc(nocopy::kAlignment, bytes);
    if (p == nullptr) throw std::bad_alloc();
    blocks_.insert(p);
    return p;
  }
  void do_deallocate(void* block, size_t) noexcept override {
    std::lock_guard<std::mutex> lock(mutex_);
    blocks_.erase(block);
    std::free(block);
  }

 private:
  mutable std::mutex mutex_;
  long calls_ = 0;
  std::set<const void*> blocks_;
};

View random_u8(std::vector<int64_t> shape) {
  View v = View::empty(DType::UInt8, std::move(shape));
  for (int64_t i = 0; i < v.size(); ++i) v.data_as<uint8_t>()[i] = static_cast<uint8_t>(i * 37);
  return v;
}

LoaderOptions image_options(nocopy::AllocatorPtr allocator) {
  LoaderOptions o;
  o.batch_size = 4;
  o.crop = std::array<int64_t, 2>{6, 6};
  o.num_threads = 2;
  o.prefetch = 2;
  o.seed = 7;
  o.allocator = std::move(allocator);
  return o;
}

SequenceOptions token_options(nocopy::AllocatorPtr allocator) {
  SequenceOptions o;
  o.seq_len = 16;
  o.batch_size = 4;
  o.num_threads = 2;
  o.prefetch = 1;
  o.seed = 7;
  o.allocator = std::move(allocator);
  return o;
}

std::vector<unsigned char> bytes_of(const View& v) {
  const auto* p = static_cast<const unsigned char*>(v.data());
  return {p, p + v.nbytes()};
}

}  // namespace

TEST(LoaderAllocator, BatchesAreWrittenIntoReusedBlocks) {
  auto alloc = std::make_shared<RecordingAllocator>();
  View images = random_u8({30, 10, 10, 3});
  Loader loader(images, std::nullopt, image_options(alloc));
  Loader ref(images, std::nullopt, image_options(nullptr));
  for (int i = 0; i < 5 * loader.num_batches(); ++i) {
    Batch b, r;
    ASSERT_EQ(loader.next(b), NextStatus::Ready);
    ASSERT_EQ(ref.next(r), NextStatus::Ready);
    EXPECT_TRUE(alloc->owns(b.images.data()));
    EXPECT_EQ(bytes_of(b.images), bytes_of(r.images));
  }
  // In use at once: prefetch (2) + the batch held + one a worker has not let go of yet per
  // thread (2); the pool keeps prefetch + 2 spares. Twice that bounds 50 batches' allocations.
  EXPECT_LE(alloc->calls(), 2 * (2 + 2 + 2));
  EXPECT_EQ(static_cast<long>(loader.buffers_allocated()), alloc->blocks_in_use());
}

TEST(LoaderAllocator, AKeptBatchKeepsItsBlockAfterTheLoaderIsGone) {
  auto alloc = std::make_shared<RecordingAllocator>();
  std::weak_ptr<RecordingAllocator> weak = alloc;
  View images = random_u8({30, 10, 10, 3});
  Batch kept;
  {
    Loader loader(images, std::nullopt, image_options(std::move(alloc)));
    ASSERT_EQ(loader.next(kept), NextStatus::Ready);
  }
  ASSERT_FALSE(weak.expired());  // the batch holds the allocator through its block
  EXPECT_TRUE(weak.lock()->owns(kept.images.data()));
  EXPECT_EQ(weak.lock()->blocks_in_use(), 1);
  Loader ref(images, std::nullopt, image_options(nullptr));
  Batch r;
  ASSERT_EQ(ref.next(r), NextStatus::Ready);
  EXPECT_EQ(bytes_of(kept.images), bytes_of(r.images));
  kept = Batch{};
  EXPECT_TRUE(weak.expired());
}

TEST(LoaderAllocator, AFailedAllocationIsReportedAndRetried) {
  for (long fail_at : {0L, 1L, 2L}) {
    auto alloc = std::make_shared<RecordingAllocator>();
    alloc->fail_at = fail_at;
    View images = random_u8({30, 10, 10, 3});
    Loader loader(images, std::nullopt, image_options(alloc));
    Loader ref(images, std::nullopt, image_options(nullptr));
    for (int i = 0; i < loader.num_batches(); ++i) {
      Batch b, r;
      try {
        ASSERT_EQ(loader.next(b), NextStatus::Ready);
      } catch (const std::bad_alloc&) {
        ASSERT_EQ(loader.next(b), NextStatus::Ready);  // the same batch, on retry
      }
      ASSERT_EQ(ref.next(r), NextStatus::Ready);
      EXPECT_EQ(b.index, r.index);
      EXPECT_EQ(bytes_of(b.images), bytes_of(r.images));
    }
  }
}

TEST(SequenceLoaderAllocator, BatchesAreWrittenIntoReusedBlocks) {
  auto alloc = std::make_shared<RecordingAllocator>();
  View t = random_u8({4000});
  SequenceLoader loader({t}, token_options(alloc));
  SequenceLoader ref({t}, token_options(nullptr));
  for (int i = 0; i < 3 * loader.num_batches(); ++i) {
    SequenceBatch b, r;
    ASSERT_EQ(loader.next(b), NextStatus::Ready);
    ASSERT_EQ(ref.next(r), NextStatus::Ready);
    EXPECT_TRUE(alloc->owns(b.x.data()));
    EXPECT_EQ(bytes_of(b.x), bytes_of(r.x));
    EXPECT_EQ(bytes_of(*b.y), bytes_of(*r.y));
  }
  EXPECT_LE(alloc->calls(), 2 * (1 + 2 + 2));  // as for Loader, with prefetch 1
}

TEST(SequenceLoaderAllocator, AFailedRefillDoesNotLoseTheBatchBeingDelivered) {
  // With prefetch 1, allocation 1 is the refill right after batch 0 is handed out.
  for (long fail_at : {0L, 1L, 2L}) {
    auto alloc = std::make_shared<RecordingAllocator>();
    alloc->fail_at = fail_at;
    View t = random_u8({4000});
    SequenceLoader loader({t}, token_options(alloc));
    SequenceLoader ref({t}, token_options(nullptr));
    for (int i = 0; i < 6; ++i) {
      SequenceBatch b, r;
      try {
        ASSERT_EQ(loader.next(b), NextStatus::Ready);
      } catch (const std::bad_alloc&) {
        ASSERT_EQ(loader.next(b), NextStatus::Ready);
      }
      ASSERT_EQ(ref.next(r), NextStatus::Ready);
      EXPECT_EQ(b.index, r.index);
      EXPECT_EQ(bytes_of(b.x), bytes_of(r.x));
    }
  }
}
