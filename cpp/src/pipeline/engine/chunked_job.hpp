// Internal: chunked jobs, how the batch engine splits one batch over its worker threads, learns
// that it is finished, and drops batches that are no longer wanted; the locks it shares with
// its workers; and how an engine destroyed in a forked child leaves its workers alone.
//
// A batch job is cut into chunks of consecutive samples, each a task on the engine's
// ThreadPool. The job counts the chunks still to finish; the last one marks the job done and,
// only when the consumer sleeps on the condition variable, takes the state mutex to wake it. A
// cancelled job (set_epoch, load_state, an error, destruction) is forgotten by the engine at once;
// its queued chunks see the flag and skip their work, and the job's memory goes with the last chunk
// that holds it.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "nocopy/core/thread_pool.hpp"

namespace nocopy {

/// The locks an engine shares with its worker threads. Heap-held, so that an engine destroyed in
/// a forked child can leave them untouched: a parent thread may have held them at the fork, and
/// destroying a condition variable the parent's threads waited on can block forever.
struct LoaderLocks {
  std::mutex consumer;  // serializes next / set_epoch / load_state (taken before state)
  std::mutex state;     // guards the position and the jobs in flight
  std::condition_variable job_done;
  /// Set (under `state`) while the consumer sleeps on job_done: only then does a finished job
  /// take the mutex and notify.
  std::atomic<bool> consumer_sleeps{false};
};

/// For an engine's destructor: true in a forked child (not the process `creator_pid`), after
/// letting go of `workers` and `locks` without joining or destroying them. The worker threads
/// exist only in the parent, and the locks may have been held by threads that are gone, so
/// either could wait forever; they stay as the child's copy of the parent's memory. False (and
/// nothing done) in the creating process.
bool leave_in_forked_child(int creator_pid, std::unique_ptr<ThreadPool>& workers,
                           std::unique_ptr<LoaderLocks>& locks);

/// The completion state of one batch job (the engine's jobs derive from it).
struct ChunkedJob {
  /// Chunks queued and not finished yet.
  std::atomic<int64_t> remaining{0};
  /// Set when the engine no longer wants the batch: chunks not started skip their work.
  std::atomic<bool> cancelled{false};
  /// All chunks finished (set once, by the last chunk; what the consumer waits on).
  std::atomic<bool> done{false};
};

/// How `len` samples are cut for `threads` workers: `count` chunks of `per` samples (the last
/// may be shorter); two per worker thread, so that a slow chunk does not hold a batch back, and
/// none smaller than one sample. count is 0 for no samples.
struct ChunkSplit {
  int64_t per = 1, count = 0;
};
ChunkSplit split_chunks(int64_t len, size_t threads);

/// Cuts `len` samples into chunks for `pool` (split_chunks), sets job.remaining, and queues
/// run(begin, end) for each [begin, end). Called with the engine's state mutex held; a job of
/// no samples is done at once. Every task is built before the first is queued; if queuing fails
/// (std::bad_alloc) the job is cancelled, so chunks already queued skip their work, and the
/// exception propagates: the caller must not publish the job. A template so that each task
/// holds `run` itself (one allocation per task; the loaders' allocation-failure tests count
/// them).
template <class Run>
void queue_chunks(ThreadPool& pool, ChunkedJob& job, int64_t len, const Run& run) {
  const ChunkSplit split = split_chunks(len, pool.size());
  job.remaining.store(split.count, std::memory_order_relaxed);
  if (split.count == 0) {
    job.done.store(true, std::memory_order_release);
    return;
  }
  std::vector<std::function<void()>> tasks;
  tasks.reserve(static_cast<size_t>(split.count));
  for (int64_t begin = 0; begin < len; begin += split.per) {
    const int64_t end = std::min(len, begin + split.per);
    tasks.emplace_back([run, begin, end] { run(begin, end); });
  }
  try {
    for (auto& task : tasks) pool.submit(std::move(task));
  } catch (...) {
    job.cancelled.store(true, std::memory_order_relaxed);  // queued chunks skip their work
    throw;
  }
}

/// queue_chunks, then appends `job` to the engine's jobs in flight: the job is published only
/// once all its chunks are queued, and if queuing or the append fails (std::bad_alloc) it is
/// cancelled and dropped, so the consumer never waits for chunks that will not run.
template <class Job, class Run>
void queue_and_publish(ThreadPool& pool, std::deque<std::shared_ptr<Job>>& inflight,
                       const std::shared_ptr<Job>& job, int64_t len, const Run& run) {
  queue_chunks(pool, *job, len, run);
  try {
    inflight.push_back(job);
  } catch (...) {
    job->cancelled.store(true, std::memory_order_relaxed);
    throw;
  }
}

/// Records that one chunk of `job` has finished; the last one sets job.done and, when the
/// consumer sleeps, wakes it (taking and releasing `locks.state` first, so that the wake cannot
/// come between its check and its sleep; notified after the release, so that a woken consumer
/// does not block on the mutex at once). `locks` belong to the engine, which joins its workers
/// before it is destroyed.
void finish_chunk(ChunkedJob& job, LoaderLocks& locks);

/// Marks `job` done and wakes a sleeping consumer (what finish_chunk does for the last chunk).
void mark_job_done(ChunkedJob& job, LoaderLocks& locks);

/// finish_chunk that first runs `last()` in the last chunk's thread, after every chunk's writes
/// and before the job is marked done (batch-level work on the finished batch).
template <class Last>
void finish_chunk(ChunkedJob& job, LoaderLocks& locks, const Last& last) {
  if (job.remaining.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  last();
  mark_job_done(job, locks);
}

/// Waits on locks.job_done until job.done (`lock` holds locks.state; released while waiting),
/// for at most `timeout` when given. False when the timeout passed first.
bool wait_until_done(const ChunkedJob& job, std::unique_lock<std::mutex>& lock, LoaderLocks& locks,
                     std::optional<std::chrono::nanoseconds> timeout);

/// Cancels every job in flight and forgets them (the caller holds the state mutex).
template <class Job>
void cancel_jobs(std::deque<std::shared_ptr<Job>>& inflight) {
  for (auto& job : inflight) job->cancelled.store(true, std::memory_order_relaxed);
  inflight.clear();
}

}  // namespace nocopy
