// Tests of Loader::next() when an allocation fails: whichever allocation of the call fails
// (plans, label buffers, tasks, the worker queue, the delivered views), next() reports
// std::bad_alloc, never waits for work that was not queued, and the following calls deliver
// exactly the batches a loader without failures delivers.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <new>
#include <vector>

#include "nocopy/pipeline/loader.hpp"

namespace {

/// Allocations on this thread before one fails (-1: none fails). Only the consumer arms it.
thread_local long g_allocations_before_failure = -1;

}  // namespace

// Replaced global allocation functions (for this test binary): fail on demand, else malloc.
void* operator new(std::size_t n) {
  if (g_allocations_before_failure >= 0 && g_allocations_before_failure-- == 0) {
    throw std::bad_alloc();
  }
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}

namespace {

using nocopy::Batch;
using nocopy::DType;
using nocopy::Loader;
using nocopy::LoaderOptions;
using nocopy::NextStatus;
using nocopy::View;

std::vector<int64_t> labels_of(const Batch& b) {
  const auto* p = b.labels->data_as<int64_t>();
  return {p, p + b.labels->size()};
}

}  // namespace

TEST(LoaderAllocation, FailedAllocationInNextNeverHangsOrSkipsABatch) {
  View images = View::empty(DType::UInt8, {22, 8, 8, 3});
  for (int64_t i = 0; i < images.size(); ++i) images.data_as<uint8_t>()[i] = uint8_t(i * 7);
  View labels = View::empty(DType::Int64, {22});
  for (int64_t i = 0; i < 22; ++i) labels.data_as<int64_t>()[i] = i;
  LoaderOptions o;
  o.batch_size = 4;
  o.crop = std::array<int64_t, 2>{4, 4};
  o.num_threads = 2;
  o.prefetch = 3;
  o.seed = 3;

  Loader reference(images, labels, o);
  std::vector<std::vector<int64_t>> want;
  for (int i = 0; i < 3 * reference.num_batches(); ++i) {  // three epochs
    Batch b;
    ASSERT_EQ(reference.next(b), NextStatus::Ready);
    want.push_back(labels_of(b));
  }

  Loader loader(images, labels, o);
  size_t delivered = 0;
  int failures = 0;
  for (long k = 0; delivered < want.size(); ++k) {
    Batch b;
    NextStatus s = NextStatus::Timeout;
    bool failed = false;
    g_allocations_before_failure = k % 24;  // fail the (k % 24)-th allocation of this call
    try {
      s = loader.next(b, std::chrono::seconds(10));
    } catch (const std::bad_alloc&) {
      failed = true;
    }
    g_allocations_before_failure = -1;
    if (failed) {
      ++failures;
      continue;
    }
    ASSERT_EQ(s, NextStatus::Ready) << "next() waited after a failed allocation (k = " << k << ")";
    ASSERT_EQ(labels_of(b), want[delivered]) << "batch " << delivered << " (k = " << k << ")";
    ++delivered;
  }
  EXPECT_GT(failures, 10);
}
