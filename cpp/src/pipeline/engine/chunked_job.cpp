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

void finish_chunk(ChunkedJob& job, std::mutex& state, std::condition_variable& done_cv) {
  if (job.remaining.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  {
    std::lock_guard<std::mutex> lock(state);
    job.done = true;
  }
  done_cv.notify_all();
}

bool wait_until_done(const ChunkedJob& job, std::unique_lock<std::mutex>& lock,
                     std::condition_variable& done_cv,
                     std::optional<std::chrono::nanoseconds> timeout) {
  auto done = [&job] { return job.done; };
  if (timeout) return done_cv.wait_for(lock, *timeout, done);
  done_cv.wait(lock, done);
  return true;
}

}  // namespace nocopy
