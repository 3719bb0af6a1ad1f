// Tests of the chunked jobs shared by the loaders: the chunk split covers a batch once, the
// job is done only after its last chunk, waits time out, cancelling marks and forgets jobs.
#include "pipeline/engine/chunked_job.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

using nocopy::ChunkedJob;
using nocopy::ThreadPool;

TEST(ChunkedJob, ChunksCoverTheBatchOnceAndTheLastOneFinishesIt) {
  for (size_t threads : {1u, 2u, 3u}) {
    for (int64_t len : {1, 2, 5, 6, 7, 64, 1000}) {
      // The loader's order: what the chunks use outlives the workers (the pool, declared
      // last, is destroyed first and joins them): the last chunk wakes the consumer after
      // releasing the state mutex, so the consumer may be done before that call returns.
      nocopy::LoaderLocks locks;
      std::mutex& state = locks.state;
      ChunkedJob job;
      std::vector<int> hits(static_cast<size_t>(len), 0);
      std::mutex hits_mutex;
      int64_t chunks = 0;
      ThreadPool pool(threads);
      {
        std::lock_guard<std::mutex> lock(state);  // as the loaders call it
        nocopy::queue_chunks(pool, job, len, [&](int64_t begin, int64_t end) {
          {
            std::lock_guard<std::mutex> h(hits_mutex);
            ++chunks;
            for (int64_t i = begin; i < end; ++i) ++hits[static_cast<size_t>(i)];
          }
          nocopy::finish_chunk(job, locks);
        });
      }
      std::unique_lock<std::mutex> lock(state);
      ASSERT_TRUE(nocopy::wait_until_done(job, lock, locks, std::chrono::seconds(30)));
      std::lock_guard<std::mutex> h(hits_mutex);
      EXPECT_EQ(job.remaining.load(), 0);
      EXPECT_LE(chunks, std::min<int64_t>(len, 2 * static_cast<int64_t>(threads)));
      for (int hit : hits) EXPECT_EQ(hit, 1) << "len " << len << ", threads " << threads;
    }
  }
}

TEST(ChunkedJob, DoneOnlyAfterEveryChunkAndWaitsTimeOut) {
  nocopy::LoaderLocks locks;
  std::mutex& state = locks.state;
  ChunkedJob job;
  std::mutex gate;
  std::unique_lock<std::mutex> closed(gate);  // the chunks wait here until released
  ThreadPool pool(1);                         // last: destroyed (joined) first
  {
    std::lock_guard<std::mutex> lock(state);
    nocopy::queue_chunks(pool, job, 4, [&](int64_t, int64_t) {
      std::lock_guard<std::mutex> g(gate);
      nocopy::finish_chunk(job, locks);
    });
  }
  {
    std::unique_lock<std::mutex> lock(state);
    EXPECT_FALSE(nocopy::wait_until_done(job, lock, locks, std::chrono::milliseconds(20)));
    EXPECT_FALSE(job.done);
  }
  closed.unlock();
  std::unique_lock<std::mutex> lock(state);
  EXPECT_TRUE(nocopy::wait_until_done(job, lock, locks, std::nullopt));
  EXPECT_TRUE(job.done);
}

TEST(ChunkedJob, AnEmptyJobIsDoneAtOnce) {
  ThreadPool pool(2);
  ChunkedJob job;
  nocopy::queue_chunks(pool, job, 0, [](int64_t, int64_t) { FAIL() << "no chunk expected"; });
  EXPECT_TRUE(job.done);
  EXPECT_EQ(job.remaining.load(), 0);
}

TEST(ChunkedJob, CancelMarksEveryJobAndForgetsThem) {
  std::deque<std::shared_ptr<ChunkedJob>> inflight{std::make_shared<ChunkedJob>(),
                                                   std::make_shared<ChunkedJob>()};
  const std::vector<std::shared_ptr<ChunkedJob>> kept(inflight.begin(), inflight.end());
  nocopy::cancel_jobs(inflight);
  EXPECT_TRUE(inflight.empty());
  for (const auto& job : kept) EXPECT_TRUE(job->cancelled.load());
}
