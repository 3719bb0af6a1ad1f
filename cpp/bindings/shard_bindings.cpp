// Bindings of sharded image datasets read shard by shard: _ShardedImages, a source whose shards a
// Python object opens on demand (nocopy's remote datasets: download, verify, map). The Python
// side is called with the GIL from the loader's workers (open) and from one background thread
// per source (prefetch hints, queued so that no loader lock is ever held while waiting for the
// GIL). No logic beyond that; see nocopy/pipeline/sources/shard_image_source.hpp.
#include <nanobind/stl/string.h>

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bindings.hpp"
#include "nocopy/pipeline/sources/shard_image_source.hpp"

namespace nocopy::bindings {
namespace {

/// Shards opened by `open(k) -> _ImageSet` and hinted by `prefetch(k)`, two Python callables.
class PythonShardProvider final : public ImageShardProvider {
 public:
  PythonShardProvider(nb::handle open, nb::handle prefetch)
      : open_owner_(python_owner(open)),
        prefetch_owner_(python_owner(prefetch)),
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

  ImageSet open(size_t k) const override {
    if (!interpreter_alive())
      throw std::runtime_error("shard provider: the interpreter is exiting");
    nb::gil_scoped_acquire gil;
    try {
      const nb::handle fn(open_);
      nb::object set = fn(k);
      return nb::cast<ImageSet>(set);
    } catch (nb::python_error& e) {
      rethrow_as_cpp(e);
    } catch (const nb::cast_error&) {
      throw std::runtime_error("shard " + std::to_string(k) +
                               ": the opener did not return an "
                               "_ImageSet");
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

  OwnerPtr open_owner_, prefetch_owner_;
  PyObject* open_;
  PyObject* prefetch_;
  mutable std::mutex mutex_;
  mutable std::condition_variable wake_;
  mutable std::deque<size_t> queued_;
  bool stop_ = false;
  std::thread hints_;
};

}  // namespace

void bind_shards(nb::module_& m) {
  nb::class_<ShardedImages>(m, "_ShardedImages",
                            "A sharded image dataset opened shard by shard (nocopy's remote "
                            "datasets; use them through nc.ImageSet.open(url)).")
      .def(
          "__init__",
          [](ShardedImages* self, nb::handle open, nb::handle prefetch, nb::handle shard_sizes,
             nb::handle shapes, const std::string& dtype, bool jpeg, nb::handle max_open) {
            if (!PyCallable_Check(open.ptr()) || !PyCallable_Check(prefetch.ptr())) {
              throw TypeError("open and prefetch must be callable");
            }
            ShardedImagesLayout layout;
            layout.shard_sizes = int64_args(shard_sizes, "shard_sizes");
            layout.shapes = int64_args(shapes, "shapes");
            layout.dtype = dtype_from_name(dtype);
            layout.jpeg = jpeg;
            layout.max_open = int64_arg(max_open, "max_open");
            auto provider = std::make_shared<const PythonShardProvider>(open, prefetch);
            std::vector<int64_t> sizes = layout.shard_sizes;
            new (self) ShardedImages{sharded_image_source(std::move(provider), std::move(layout)),
                                     std::move(sizes)};
          },
          nb::arg("open"), nb::arg("prefetch"), nb::arg("shard_sizes"), nb::arg("shapes"),
          nb::arg("dtype"), nb::arg("jpeg"), nb::arg("max_open"),
          "open(k) -> _ImageSet and prefetch(k) (Python callables), the samples of each shard, "
          "every sample's (H, W, C) flat, the dtype name, whether the shards are JPEG, and how "
          "many shards stay open.")
      .def("__len__", [](const ShardedImages& s) { return s.source->size(); });
}

}  // namespace nocopy::bindings
