// Tests of ThreadPool and the shared kernel pool: every task runs once, stop() drops queued work
// and joins, destruction of dropped tasks, and copies from inside pool tasks never deadlock.
#include "nocopy/core/thread_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <vector>

#include "nocopy/core/copy.hpp"
#include "nocopy/core/view.hpp"

using nocopy::ThreadPool;

TEST(ThreadPool, RunsEveryTaskOnce) {
  std::atomic<int> sum{0};
  {
    ThreadPool pool(3);
    EXPECT_EQ(pool.size(), 3u);
    std::vector<std::promise<void>> done(100);
    for (int i = 0; i < 100; ++i) {
      pool.submit([&sum, &done, i] {
        sum += i;
        done[static_cast<size_t>(i)].set_value();
      });
    }
    for (auto& d : done) d.get_future().wait();
  }
  EXPECT_EQ(sum.load(), 4950);
}

TEST(ThreadPool, ZeroMeansUsableCores) {
  ThreadPool pool(0);
  EXPECT_EQ(pool.size(), nocopy::usable_cores());
  EXPECT_GE(nocopy::usable_cores(), 1u);
}

TEST(ThreadPool, StopDropsQueuedTasksAndDestroysThemOnce) {
  auto tracked = std::make_shared<int>(0);
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  std::atomic<int> ran{0};
  ThreadPool pool(1);
  pool.submit([gate, &ran] {
    gate.wait();
    ++ran;
  });
  for (int i = 0; i < 5; ++i) pool.submit([tracked, &ran] { ++ran; });
  EXPECT_EQ(tracked.use_count(), 6);  // five queued copies
  std::thread stopper([&pool] { pool.stop(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  release.set_value();
  stopper.join();
  EXPECT_LE(ran.load(), 6);
  EXPECT_EQ(tracked.use_count(), 1);    // every dropped task destroyed
  pool.submit([&ran] { ran += 100; });  // ignored after stop
  pool.stop();                          // idempotent
  EXPECT_LT(ran.load(), 100);
}

TEST(ThreadPool, SharedPoolIsOneInstance) {
  ThreadPool& a = nocopy::shared_thread_pool();
  ThreadPool& b = nocopy::shared_thread_pool();
  EXPECT_EQ(&a, &b);
  EXPECT_EQ(a.size(), nocopy::usable_cores());
}

TEST(ThreadPool, ParallelCopiesFromInsideEverySharedWorkerFinish) {
  // Occupy every worker of the shared pool with a task that itself makes a parallel copy (which
  // submits helpers to the same, busy pool): each caller must finish on its own.
  ThreadPool& pool = nocopy::shared_thread_pool();
  const size_t n = pool.size() + 1;
  const int64_t elems = (int64_t{8} << 20) / 4;  // above kParallelCopyBytes
  std::vector<nocopy::View> src, dst;
  for (size_t i = 0; i < n; ++i) {
    src.push_back(nocopy::View::empty(nocopy::DType::Float32, {elems}));
    dst.push_back(nocopy::View::empty(nocopy::DType::Float32, {elems}));
    auto* p = static_cast<float*>(src.back().data());
    for (int64_t k = 0; k < elems; k += 4096) p[k] = static_cast<float>(i + 1);
  }
  std::vector<std::promise<void>> done(n);
  for (size_t i = 0; i < n; ++i) {
    pool.submit([&, i] {
      nocopy::copy(src[i], dst[i], 8);
      done[i].set_value();
    });
  }
  for (auto& d : done) {
    ASSERT_EQ(d.get_future().wait_for(std::chrono::seconds(60)), std::future_status::ready);
  }
  for (size_t i = 0; i < n; ++i) {
    const auto* q = static_cast<const float*>(dst[i].data());
    for (int64_t k = 0; k < elems; k += 4096) ASSERT_EQ(q[k], static_cast<float>(i + 1));
  }
}
