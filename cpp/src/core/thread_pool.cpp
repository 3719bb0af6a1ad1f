// ThreadPool: workers pop tasks from one mutex-protected queue.
#include "nocopy/core/thread_pool.hpp"

#include <sched.h>
#include <unistd.h>

namespace nocopy {
namespace {

/// Index of this thread within its pool; -1 on threads that are no pool's worker.
thread_local int t_worker_index = -1;

}  // namespace

size_t usable_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return static_cast<size_t>(n);
  }
  const unsigned hw = std::thread::hardware_concurrency();
  return hw > 0 ? hw : 1;
}

ThreadPool::ThreadPool(size_t threads) {
  if (threads == 0) threads = usable_cores();
  threads_.reserve(threads);
  try {
    for (size_t i = 0; i < threads; ++i) {
      threads_.emplace_back([this, i] { run(static_cast<int>(i)); });
    }
  } catch (...) {
    stop();
    throw;
  }
}

ThreadPool::~ThreadPool() {
  stop();
}

void ThreadPool::submit(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return;
    queue_.push_back(std::move(task));
  }
  cv_.notify_one();
}

void ThreadPool::stop() {
  std::deque<std::function<void()>> dropped;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    dropped.swap(queue_);
  }
  cv_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  // `dropped` is destroyed here, outside the lock: tasks may own resources with destructors.
}

int ThreadPool::worker_index() {
  return t_worker_index;
}

void ThreadPool::run(int index) {
  t_worker_index = index;
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();
  }
}

ThreadPool& shared_thread_pool() {
  static std::mutex mutex;
  static ThreadPool* pool = nullptr;
  static pid_t owner_pid = 0;
  std::lock_guard<std::mutex> lock(mutex);
  if (pool == nullptr || owner_pid != getpid()) {
    // First use, or a forked child: the parent's workers do not exist here, so the old pool is
    // abandoned (not destroyed: joining threads that are not there would hang).
    pool = new ThreadPool(0);
    owner_pid = getpid();
  }
  return *pool;
}

}  // namespace nocopy
