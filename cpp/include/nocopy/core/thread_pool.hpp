// ThreadPool: a fixed set of worker threads running queued tasks in FIFO order.
//
// Used by the loader to spread the samples of each batch over cores, and (one shared pool) by the
// core's parallel kernels such as copy. Tasks must not throw (the loader's tasks catch and record
// their errors); stop() drops tasks not yet started, waits for running ones and joins every
// thread, and is called by the destructor.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace nocopy {

/// Number of CPUs this process may run on (its affinity mask), at least 1.
size_t usable_cores();

/// Fixed-size worker pool with a FIFO task queue.
class ThreadPool {
 public:
  /// Starts `threads` workers (0 means usable_cores()).
  explicit ThreadPool(size_t threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  /// Queues a task; ignored after stop(). A task that throws terminates the program.
  void submit(std::function<void()> task);
  /// Drops queued tasks, waits for running ones and joins the threads (idempotent).
  void stop();
  /// Number of worker threads.
  size_t size() const { return threads_.size(); }
  /// The calling thread's index in [0, size()) within the pool whose worker it is, or -1 when
  /// it is no pool's worker (for per-worker statistics).
  static int worker_index();

 private:
  void run(int index);

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

/// The pool the core's parallel kernels share (copy): usable_cores() workers started on first
/// use, so no kernel call creates threads. Never destroyed (its workers end with the process); a
/// forked child gets a new one. Kernels submit helpers and work themselves too, never waiting for
/// a helper to start, so a kernel called from inside a pool task cannot deadlock.
ThreadPool& shared_thread_pool();

}  // namespace nocopy
