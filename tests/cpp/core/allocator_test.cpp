// Tests of Allocator: alignment, counting (in use, peak, blocks), a user allocator plugged into
// the owners and the batch pool, and the allocator living as long as its last block.
#include "nocopy/core/allocator.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <new>
#include <thread>
#include <vector>

#include "nocopy/core/owner.hpp"
#include "nocopy/core/view.hpp"
#include "nocopy/pipeline/engine/batch_pool.hpp"

namespace {

// A user allocator that records its calls and counts its own destruction.
class RecordingAllocator final : public nocopy::Allocator {
 public:
  explicit RecordingAllocator(int* destroyed) : destroyed_(destroyed) {}
  ~RecordingAllocator() override { ++*destroyed_; }
  std::string_view name() const override { return "recording"; }
  int allocations = 0;
  int deallocations = 0;
  bool fail = false;

 protected:
  void* do_allocate(size_t bytes) override {
    if (fail) throw std::bad_alloc();
    ++allocations;
    EXPECT_EQ(bytes % nocopy::kAlignment, 0u);
    return std::aligned_alloc(nocopy::kAlignment, bytes);
  }
  void do_deallocate(void* block, size_t bytes) noexcept override {
    ++deallocations;
    EXPECT_EQ(bytes % nocopy::kAlignment, 0u);
    std::free(block);
  }

 private:
  int* destroyed_;
};

}  // namespace

TEST(Allocator, DefaultIsAlignedAndCounts) {
  nocopy::Allocator& heap = *nocopy::default_allocator();
  EXPECT_EQ(heap.name(), "heap");
  const int64_t before = heap.bytes_in_use();
  const int64_t blocks = heap.blocks_in_use();
  void* a = heap.allocate(100);
  void* b = heap.allocate(0);  // never null, one unit
  EXPECT_NE(a, nullptr);
  EXPECT_NE(b, nullptr);
  EXPECT_NE(a, b);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a) % nocopy::kAlignment, 0u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(b) % nocopy::kAlignment, 0u);
  EXPECT_EQ(heap.bytes_in_use() - before, 128 + 64);
  EXPECT_EQ(heap.blocks_in_use() - blocks, 2);
  EXPECT_GE(heap.peak_bytes(), heap.bytes_in_use());
  heap.deallocate(a, 100);
  heap.deallocate(b, 0);
  heap.deallocate(nullptr, 10);  // a no-op
  EXPECT_EQ(heap.bytes_in_use(), before);
  EXPECT_EQ(heap.blocks_in_use(), blocks);
}

TEST(Allocator, ImpossibleSizesThrowBadAlloc) {
  EXPECT_THROW(nocopy::default_allocator()->allocate(SIZE_MAX), std::bad_alloc);
  EXPECT_THROW(nocopy::default_allocator()->allocate(SIZE_MAX - 10), std::bad_alloc);
}

TEST(Allocator, PeakTracksTheHighestUse) {
  int destroyed = 0;
  auto alloc = std::make_shared<RecordingAllocator>(&destroyed);
  void* a = alloc->allocate(640);
  void* b = alloc->allocate(64);
  alloc->deallocate(a, 640);
  void* c = alloc->allocate(64);
  EXPECT_EQ(alloc->bytes_in_use(), 128);
  EXPECT_EQ(alloc->peak_bytes(), 704);
  alloc->deallocate(b, 64);
  alloc->deallocate(c, 64);
  EXPECT_EQ(alloc->bytes_in_use(), 0);
  EXPECT_EQ(alloc->peak_bytes(), 704);
}

TEST(Allocator, CountsStayExactUnderConcurrency) {
  int destroyed = 0;
  auto alloc = std::make_shared<RecordingAllocator>(&destroyed);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&alloc] {
      for (int i = 0; i < 500; ++i)
        alloc->deallocate(alloc->allocate(64 * (i % 4 + 1)), 64 * (i % 4 + 1));
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(alloc->bytes_in_use(), 0);
  EXPECT_EQ(alloc->blocks_in_use(), 0);
  EXPECT_LE(alloc->peak_bytes(), 4 * 256);
  EXPECT_GE(alloc->peak_bytes(), 64);
}

TEST(Allocator, AlignedBufferFromAUserAllocatorKeepsItAlive) {
  int destroyed = 0;
  auto alloc = std::make_shared<RecordingAllocator>(&destroyed);
  RecordingAllocator* raw = alloc.get();
  auto buffer = nocopy::AlignedBuffer::allocate(1000, alloc);
  EXPECT_EQ(buffer->allocator().get(), raw);
  EXPECT_EQ(raw->bytes_in_use(), 1024);
  alloc.reset();
  EXPECT_EQ(destroyed, 0);  // the buffer holds its allocator
  EXPECT_EQ(raw->deallocations, 0);
  buffer.reset();
  EXPECT_EQ(destroyed, 1);  // last block back, then the allocator goes
}

TEST(Allocator, FailingUserAllocatorThrowsAndLeaksNothing) {
  int destroyed = 0;
  auto alloc = std::make_shared<RecordingAllocator>(&destroyed);
  alloc->fail = true;
  EXPECT_THROW(nocopy::AlignedBuffer::allocate(10, alloc), std::bad_alloc);
  EXPECT_EQ(alloc->bytes_in_use(), 0);
  EXPECT_EQ(alloc->blocks_in_use(), 0);
}

TEST(Allocator, BatchPoolTakesItsBuffersFromTheAllocator) {
  int destroyed = 0;
  auto alloc = std::make_shared<RecordingAllocator>(&destroyed);
  auto pool = nocopy::BatchPool::create(100, 1, alloc);
  EXPECT_EQ(pool->allocator(), alloc);
  auto a = pool->acquire();
  auto b = pool->acquire();
  EXPECT_EQ(alloc->allocations, 2);
  EXPECT_EQ(alloc->bytes_in_use(), 256);
  a.reset();  // kept as the one spare
  b.reset();  // beyond max_spare: given back
  EXPECT_EQ(alloc->deallocations, 1);
  auto c = pool->acquire();  // reuses the spare
  EXPECT_EQ(alloc->allocations, 2);
  pool.reset();
  alloc.reset();
  EXPECT_EQ(destroyed, 0);  // c still holds the allocator
  c.reset();
  EXPECT_EQ(destroyed, 1);
}

TEST(Allocator, ViewsMadeByTheCoreUseTheDefaultAllocator) {
  const int64_t before = nocopy::default_allocator()->bytes_in_use();
  {
    nocopy::View v = nocopy::View::empty(nocopy::DType::Float32, {10, 10});
    EXPECT_EQ(nocopy::default_allocator()->bytes_in_use() - before, 448);  // 400 -> 7 units
  }
  EXPECT_EQ(nocopy::default_allocator()->bytes_in_use(), before);
}
