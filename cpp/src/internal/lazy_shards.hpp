// LazyShards: the open shards of a dataset read shard by shard, the one state machine of every
// lazily opened source (images, videos, token sequences). Each shard is closed, opening or open;
// the first worker that needs a closed shard opens it outside the lock while the others wait for
// it, and the shards beyond `max_open`, least recently used first, are closed (a worker still
// reading one keeps its own handle until it is done).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <stdexcept>
#include <utility>
#include <vector>

namespace nocopy::internal {

/// `count` shards, each held open as a `Handle` (a shared_ptr or another cheap, shared handle).
template <class Handle>
class LazyShards {
 public:
  /// std::invalid_argument when there is no shard or max_open < 1.
  LazyShards(size_t count, int64_t max_open) : max_open_(max_open), slots_(count) {
    if (count == 0) throw std::invalid_argument("a sharded dataset has no shard");
    if (max_open < 1) throw std::invalid_argument("max_open must be >= 1");
  }

  /// Shards.
  size_t size() const { return slots_.size(); }

  /// True when shard k is neither open nor being opened (a read-ahead hint is worth sending).
  bool closed(size_t k) const {
    std::lock_guard<std::mutex> lock(mutex_);
    return slots_[k].state == State::Closed;
  }

  /// Shard k open: `open(k)` is called here by the first caller that finds it closed (outside
  /// the lock), the others wait for it. An opening that throws leaves the shard closed (the next
  /// caller tries again) and the exception goes to its caller.
  template <class Open>
  Handle acquire(size_t k, Open&& open) const {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      Slot& s = slots_[k];
      if (s.state == State::Open) {
        touch(k);
        return s.handle;
      }
      if (s.state == State::Opening) {
        opened_.wait(lock);
        continue;
      }
      s.state = State::Opening;
      lock.unlock();
      Handle handle;
      try {
        handle = open(k);
      } catch (...) {
        lock.lock();
        slots_[k].state = State::Closed;
        opened_.notify_all();
        throw;
      }
      lock.lock();
      slots_[k].state = State::Open;
      slots_[k].handle = handle;
      touch(k);
      close_beyond_limit(k);
      opened_.notify_all();
      return handle;
    }
  }

 private:
  enum class State : uint8_t { Closed, Opening, Open };
  struct Slot {
    State state = State::Closed;
    Handle handle{};
  };

  /// Marks shard k used last (the mutex is held).
  void touch(size_t k) const {
    used_.remove(k);
    used_.push_front(k);
  }

  /// Closes the least recently used open shards beyond max_open, never `keep` (mutex held).
  void close_beyond_limit(size_t keep) const {
    while (static_cast<int64_t>(used_.size()) > max_open_) {
      const size_t k = used_.back();
      used_.pop_back();
      if (k == keep) {
        used_.push_front(k);
        continue;
      }
      slots_[k].state = State::Closed;
      slots_[k].handle = Handle{};
    }
  }

  int64_t max_open_;
  mutable std::mutex mutex_;
  mutable std::condition_variable opened_;
  mutable std::vector<Slot> slots_;
  mutable std::list<size_t> used_;  // open shards, most recently used first
};

}  // namespace nocopy::internal
