// The loader's binding: construction from Python arrays, and next() with the GIL released while
// waiting (in short slices, so Ctrl-C interrupts a wait). No logic beyond argument plumbing.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <chrono>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "bindings.hpp"
#include "nocopy/pipeline/loader.hpp"

namespace nocopy::bindings {
namespace {

/// How long the consumer sleeps between checks for signals while waiting for a batch.
constexpr std::chrono::milliseconds kWaitSlice{50};

CropMode crop_mode_from(const std::string& s) {
  if (s == "random") return CropMode::Random;
  if (s == "center") return CropMode::Center;
  if (s == "none") return CropMode::None;
  throw std::invalid_argument("crop_mode '" + s + "' is not one of 'random', 'center', 'none'");
}

Layout layout_from(const std::string& s) {
  if (s == "CHW") return Layout::CHW;
  if (s == "HWC") return Layout::HWC;
  throw std::invalid_argument("layout '" + s + "' is not one of 'CHW', 'HWC'");
}

LoaderOptions make_options(int64_t batch_size, int64_t crop_h, int64_t crop_w,
                           const std::string& crop_mode, double mirror, std::vector<double> mean,
                           std::vector<double> stdev, double scale, const std::string& layout,
                           const std::string& dtype, bool shuffle, uint64_t seed, bool drop_last,
                           size_t num_threads, int64_t prefetch, int64_t rank, int64_t world_size,
                           int64_t fault_sample) {
  LoaderOptions o;
  o.batch_size = batch_size;
  o.crop_h = crop_h;
  o.crop_w = crop_w;
  o.crop_mode = crop_mode_from(crop_mode);
  o.mirror = mirror;
  o.mean = std::move(mean);
  o.std = std::move(stdev);
  o.scale = scale;
  o.layout = layout_from(layout);
  o.dtype = dtype_from_name(dtype);
  o.shuffle = shuffle;
  o.seed = seed;
  o.drop_last = drop_last;
  o.num_threads = num_threads;
  o.prefetch = prefetch;
  o.rank = rank;
  o.world_size = world_size;
  o.fault_sample = fault_sample;
  return o;
}

/// The next batch as (images, labels or None, epoch, index); waits without the GIL.
nb::tuple next_batch(Loader& loader) {
  Batch b;
  for (;;) {
    NextStatus s;
    {
      nb::gil_scoped_release release;
      s = loader.next(b, kWaitSlice);
    }
    if (s == NextStatus::Ready) break;
    if (PyErr_CheckSignals() != 0) throw nb::python_error();
  }
  nb::object labels = b.labels ? nb::cast(std::move(*b.labels)) : nb::none();
  return nb::make_tuple(nb::cast(std::move(b.images)), labels, b.epoch, b.index);
}

}  // namespace

void bind_loader(nb::module_& m) {
  nb::class_<Loader>(m, "_Loader", "C++ core of nocopy.Loader (use nocopy.Loader)")
      .def(
          "__init__",
          [](Loader* self, nb::handle images, nb::handle labels, int64_t batch_size, int64_t crop_h,
             int64_t crop_w, const std::string& crop_mode, double mirror, std::vector<double> mean,
             std::vector<double> stdev, double scale, const std::string& layout,
             const std::string& dtype, bool shuffle, uint64_t seed, bool drop_last,
             size_t num_threads, int64_t prefetch, int64_t rank, int64_t world_size,
             int64_t fault_sample) {
            const LoaderOptions o =
                make_options(batch_size, crop_h, crop_w, crop_mode, mirror, std::move(mean),
                             std::move(stdev), scale, layout, dtype, shuffle, seed, drop_last,
                             num_threads, prefetch, rank, world_size, fault_sample);
            std::optional<View> label_view;
            if (!labels.is_none()) label_view = view_from_object(labels);
            new (self) Loader(view_from_object(images), std::move(label_view), o);
          },
          nb::arg("images"), nb::arg("labels").none(), nb::arg("batch_size"), nb::arg("crop_h"),
          nb::arg("crop_w"), nb::arg("crop_mode"), nb::arg("mirror"), nb::arg("mean"),
          nb::arg("std"), nb::arg("scale"), nb::arg("layout"), nb::arg("dtype"), nb::arg("shuffle"),
          nb::arg("seed"), nb::arg("drop_last"), nb::arg("num_threads"), nb::arg("prefetch"),
          nb::arg("rank"), nb::arg("world_size"), nb::arg("fault_sample"))
      .def("__len__", &Loader::num_batches, "Batches per epoch on this rank.")
      .def_prop_ro("num_threads", &Loader::num_threads, "Worker threads running.")
      .def_prop_ro("samples_per_rank", &Loader::samples_per_rank, "Samples per epoch here.")
      .def_prop_ro("buffers_allocated", &Loader::buffers_allocated,
                   "Batch buffers the loader's pool holds (in flight, held by users, spare).")
      .def(
          "state",
          [](const Loader& l) {
            const LoaderState s = l.state();
            return std::make_tuple(s.epoch, s.batch);
          },
          "(epoch, next batch index).")
      .def(
          "load_state",
          [](Loader& l, int64_t epoch, int64_t batch) {
            nb::gil_scoped_release release;  // may wait for a running chunk to notice
            l.load_state({epoch, batch});
          },
          nb::arg("epoch"), nb::arg("batch"), "Moves to (epoch, batch); drops work in flight.")
      .def(
          "plan",
          [](const Loader& l, int64_t b) {
            BatchPlan p = l.plan(b);
            std::vector<bool> mirror(p.mirror.begin(), p.mirror.end());
            return std::make_tuple(std::move(p.indices), std::move(p.top), std::move(p.left),
                                   std::move(mirror));
          },
          nb::arg("batch"), "(indices, top, left, mirror) lists of batch `batch`.")
      .def("next", &next_batch,
           "(images View, labels View or None, epoch, index) of the next batch; waits for it "
           "with the GIL released, raising KeyboardInterrupt on Ctrl-C.");
}

}  // namespace nocopy::bindings
