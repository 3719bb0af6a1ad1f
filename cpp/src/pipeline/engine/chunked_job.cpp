// Chunked jobs: the chunk split, the completion count and the wait shared by the loaders, and
// their forked-child check.
#include "pipeline/engine/chunked_job.hpp"

#include <unistd.h>

#include <algorithm>

namespace nocopy {

bool leave_in_forked_child(int creator_pid, std::unique_ptr<ThreadPool>& workers,
                           std::unique_ptr<LoaderLocks>& locks) {
  if (static_cast<int>(getpid()) == creator_pid) return false;
  (void)workers.release();
  (void)locks.release();
  return true;
}

ChunkSplit split_chunks(int64_t len, size_t threads) {
  if (len <= 0) return {1, 0};
  const int64_t chunks = std::min(len, 2 * std::max<int64_t>(static_cast<int64_t>(threads), 1));
  const int64_t per = (len + chunks - 1) / chunks;
  return {per, (len + per - 1) / per};
}

void finish_chunk(ChunkedJob& job, LoaderLocks& locks) {
  if (job.remaining.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  mark_job_done(job, locks);
}

void mark_job_done(ChunkedJob& job, LoaderLocks& locks) {
  // Sequentially consistent with the consumer's `consumer_sleeps` then `done`: one of the two
  // sees the other's store, so either the consumer sees done or this sees it sleeping.
  job.done.store(true, std::memory_order_seq_cst);
  if (!locks.consumer_sleeps.load(std::memory_order_seq_cst)) return;
  { std::lock_guard<std::mutex> lock(locks.state); }  // it is inside wait(), not before it
  locks.job_done.notify_all();
}

bool wait_until_done(const ChunkedJob& job, std::unique_lock<std::mutex>& lock, LoaderLocks& locks,
                     std::optional<std::chrono::nanoseconds> timeout) {
  const auto start = std::chrono::steady_clock::now();
  auto done = [&job] { return job.done.load(std::memory_order_seq_cst); };
  if (done()) return true;
  locks.consumer_sleeps.store(true, std::memory_order_seq_cst);
  bool finished = true;
  if (timeout) {
    finished = locks.job_done.wait_until(lock, start + *timeout, done);
  } else {
    locks.job_done.wait(lock, done);
  }
  locks.consumer_sleeps.store(false, std::memory_order_relaxed);
  return finished;
}

}  // namespace nocopy
