// PythonShardProvider: a ShardProvider whose shards a Python object opens on demand (nocopy's
// remote datasets: download, verify, map). The Python side is called with the GIL from the
// loader's workers (open) and from one background thread per provider (prefetch hints, queued so
// that no loader lock is ever held while waiting for the GIL). Shared by the bindings of every
// lazily opened source (images, videos, token sequences).
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

#include "bindings.hpp"
#include "nocopy/storage/shard_provider.hpp"

namespace nocopy::bindings {

/// Shards opened by `open(k)` (returning a Python object that casts to `Shard`, e.g. an
/// _ImageSet) and hinted by `prefetch(k)`, two Python callables.
template <class Shard>
class PythonShardProvider final : public ShardProvider<Shard> {
 public:
  /// `open` and `prefetch` are kept alive (TypeError when one is not callable); `shard_type`
  /// names what open must return (messages).
  PythonShardProvider(nb::handle open, nb::handle prefetch, const char* shard_type)
      : shard_type_(shard_type),
        open_owner_(python_owner(callable(open, "open"))),
        prefetch_owner_(python_owner(callable(prefetch, "prefetch"))),
        open_(open.ptr()),
        prefetch_(prefetch.ptr()),
        hints_([this] { run_hints(); }) {}

  ~PythonShardProvider() override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    // The hint thread may be waiting for the GIL: never join while holding it.
    if (interpreter_alive() && PyGILState_Check() != 0) {
      nb::gil_scoped_release release;
      hints_.join();
    } else {
      hints_.join();
    }
  }

  Shard open(size_t k) const override {
    if (!interpreter_alive())
      throw std::runtime_error("shard provider: the interpreter is exiting");
    nb::gil_scoped_acquire gil;
    try {
      const nb::handle fn(open_);
      nb::object set = fn(k);
      return nb::cast<Shard>(set);
    } catch (nb::python_error& e) {
      rethrow_as_cpp(e);
    } catch (const nb::cast_error&) {
      throw std::runtime_error("shard " + std::to_string(k) + ": the opener did not return " +
                               shard_type_);
    }
  }

  void prefetch(size_t k) const noexcept override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stop_ || queued_.size() >= kMaxQueued) return;
      queued_.push_back(k);
    }
    wake_.notify_one();
  }

 private:
  static constexpr size_t kMaxQueued = 4096;

  /// `h`, or TypeError naming it when it is not callable (before the hint thread starts).
  static nb::handle callable(nb::handle h, const char* name) {
    if (!PyCallable_Check(h.ptr())) throw TypeError(std::string(name) + " must be callable");
    return h;
  }

  void run_hints() {
    for (;;) {
      size_t k = 0;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return stop_ || !queued_.empty(); });
        if (stop_) return;
        k = queued_.front();
        queued_.pop_front();
      }
      if (!interpreter_alive()) return;
      nb::gil_scoped_acquire gil;
      try {
        const nb::handle fn(prefetch_);
        fn(k);
      } catch (nb::python_error& e) {
        e.discard_as_unraisable("nocopy shard prefetch");
      }
    }
  }

  const char* shard_type_;
  OwnerPtr open_owner_, prefetch_owner_;
  PyObject* open_;
  PyObject* prefetch_;
  mutable std::mutex mutex_;
  mutable std::condition_variable wake_;
  mutable std::deque<size_t> queued_;
  bool stop_ = false;
  std::thread hints_;
};

}  // namespace nocopy::bindings
