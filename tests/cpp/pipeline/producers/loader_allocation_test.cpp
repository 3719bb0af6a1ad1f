// Tests of Loader::next() and SequenceLoader::next() when an allocation fails: whichever
// allocation of the call fails
// (plans, tasks, the worker queue, the delivered views), next() reports
// std::bad_alloc, never waits for work that was not queued, and the following calls deliver
// exactly the batches a loader without failures delivers.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <new>
#include <vector>

#include "nocopy/pipeline/producers/loader.hpp"
#include "nocopy/pipeline/producers/sequence_loader.hpp"

namespace {

/// Allocations on this thread before one fails (-1: none fails). Only the consumer arms it.
thread_local long g_allocations_before_failure = -1;

}  // namespace

// Replaced global allocation functions of this test binary: fail on demand, else malloc. Every
// unaligned form is replaced, so that new/delete pairs always match (sanitizers check it); the
// aligned forms keep the runtime's own pair.
namespace {
void* allocate(std::size_t n) {
  if (g_allocations_before_failure >= 0 && g_allocations_before_failure-- == 0) {
    throw std::bad_alloc();
  }
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void* allocate_nothrow(std::size_t n) noexcept {
  try {
    return allocate(n);
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
}
}  // namespace

void* operator new(std::size_t n) {
  return allocate(n);
}
void* operator new[](std::size_t n) {
  return allocate(n);
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  return allocate_nothrow(n);
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  return allocate_nothrow(n);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}

namespace {

using nocopy::Batch;
using nocopy::DType;
using nocopy::Loader;
using nocopy::LoaderOptions;
using nocopy::NextStatus;
using nocopy::View;

std::vector<unsigned char> bytes_of(const Batch& b) {
  const auto* p = static_cast<const unsigned char*>(b.images.data());
  return {p, p + b.images.nbytes()};
}

std::vector<unsigned char> bytes_of(const nocopy::SequenceBatch& b) {
  const auto* p = static_cast<const unsigned char*>(b.x.data());
  std::vector<unsigned char> v(p, p + b.x.nbytes());
  const auto* q = static_cast<const unsigned char*>(b.y->data());
  v.insert(v.end(), q, q + b.y->nbytes());
  return v;
}

/// Calls loader.next() with its (k % 24)-th allocation failing, k = 0, 1, ..., until every batch
/// of `want` (what an equal loader without failures delivered) came, in order: a failed call
/// must neither wait for work that was never queued nor lose the batch it was delivering.
template <class LoaderT, class BatchT>
void expect_every_batch_despite_failures(LoaderT& loader,
                                         const std::vector<std::vector<unsigned char>>& want) {
  size_t delivered = 0;
  int failures = 0, in_a_row = 0;
  for (long k = 0; delivered < want.size(); ++k) {
    // 24 failed calls in a row: every allocation point k % 24 fails, so a call makes more than
    // 24 allocations and this loop would never end; say so instead.
    ASSERT_LT(in_a_row, 24) << "next() makes more than 24 allocations; raise the period";
    BatchT b;
    NextStatus s = NextStatus::Timeout;
    bool failed = false;
    g_allocations_before_failure = k % 24;
    try {
      s = loader.next(b, std::chrono::seconds(10));
    } catch (const std::bad_alloc&) {
      failed = true;
    }
    g_allocations_before_failure = -1;
    if (failed) {
      ++failures;
      ++in_a_row;
      continue;
    }
    in_a_row = 0;
    ASSERT_EQ(s, NextStatus::Ready) << "next() waited after a failed allocation (k = " << k << ")";
    ASSERT_EQ(bytes_of(b), want[delivered]) << "batch " << delivered << " (k = " << k << ")";
    ++delivered;
  }
  EXPECT_GT(failures, 10);
}

}  // namespace

TEST(LoaderAllocation, FailedAllocationInNextNeverHangsOrSkipsABatch) {
  View images = View::empty(DType::UInt8, {22, 8, 8, 3});
  for (int64_t i = 0; i < images.size(); ++i) images.data_as<uint8_t>()[i] = uint8_t(i * 7);
  LoaderOptions o;
  o.batch_size = 4;
  o.crop = std::array<int64_t, 2>{4, 4};
  o.num_threads = 2;
  o.prefetch = 3;
  o.seed = 3;

  // No labels: their per-batch View::empty would hit a leak of the core's AlignedBuffer::allocate
  // when its `new` fails (the aligned block is not freed); the images check every batch anyway.
  Loader reference(images, std::nullopt, o);
  std::vector<std::vector<unsigned char>> want;
  for (int i = 0; i < 3 * reference.num_batches(); ++i) {  // three epochs
    Batch b;
    ASSERT_EQ(reference.next(b), NextStatus::Ready);
    want.push_back(bytes_of(b));
  }

  Loader loader(images, std::nullopt, o);
  expect_every_batch_despite_failures<Loader, Batch>(loader, want);
}

TEST(LoaderAllocation, FailedAllocationInSequenceNextNeverHangsOrSkipsABatch) {
  View tokens = View::empty(DType::UInt16, {3000});
  for (int64_t i = 0; i < tokens.size(); ++i) tokens.data_as<uint16_t>()[i] = uint16_t(i * 7);
  nocopy::SequenceOptions o;
  o.seq_len = 16;
  o.batch_size = 5;
  o.num_threads = 2;
  o.prefetch = 3;
  o.seed = 3;
  nocopy::SequenceLoader reference({tokens}, o);
  std::vector<std::vector<unsigned char>> want;
  for (int i = 0; i < 2 * reference.num_batches(); ++i) {  // two epochs
    nocopy::SequenceBatch b;
    ASSERT_EQ(reference.next(b), NextStatus::Ready);
    want.push_back(bytes_of(b));
  }

  nocopy::SequenceLoader loader({tokens}, o);
  expect_every_batch_despite_failures<nocopy::SequenceLoader, nocopy::SequenceBatch>(loader, want);
}
