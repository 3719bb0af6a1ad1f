// Bindings of the sequence domain: sliding windows, raw files and the sequence loader (wrapped
// by nocopy._sequence). No logic here; see nocopy/{core/sliding_window,storage/raw_file,
// pipeline/sequence_loader}.hpp.
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
#include "nocopy/core/sliding_window.hpp"
#include "nocopy/pipeline/sequence_loader.hpp"
#include "nocopy/storage/raw_file.hpp"

namespace nocopy::bindings {
namespace {

/// How long the consumer sleeps between checks for signals while waiting for a batch.
constexpr std::chrono::milliseconds kWaitSlice{50};

/// The next batch as (x, y or None, epoch, index); waits without the GIL.
nb::tuple next_batch(SequenceLoader& loader) {
  SequenceBatch b;
  for (;;) {
    NextStatus s;
    {
      nb::gil_scoped_release release;
      s = loader.next(b, kWaitSlice);
    }
    if (s == NextStatus::Ready) break;
    if (PyErr_CheckSignals() != 0) throw nb::python_error();
  }
  nb::object y = b.y ? nb::cast(std::move(*b.y)) : nb::none();
  return nb::make_tuple(nb::cast(std::move(b.x)), y, b.epoch, b.index);
}

}  // namespace

void bind_sequence(nb::module_& m) {
  m.def("_sliding_windows", &sliding_windows, nb::arg("view"), nb::arg("size"), nb::arg("step"),
        nb::arg("axis"));
  m.def(
      "_open_raw_fd",
      [](int fd, const std::string& path, const std::string& dtype,
         std::optional<std::vector<int64_t>> shape, uint64_t offset, const std::string& mode) {
        const DType t = dtype_from_name(dtype);
        const MapMode mm = map_mode_from_string(mode);
        nb::gil_scoped_release release;
        return open_raw_fd(fd, path, t, shape, offset, mm);
      },
      nb::arg("fd"), nb::arg("path"), nb::arg("dtype"), nb::arg("shape").none(), nb::arg("offset"),
      nb::arg("mode"));

  nb::class_<SequenceLoader>(m, "_SequenceLoader",
                             "C++ core of nocopy.SequenceLoader (use nocopy.SequenceLoader)")
      .def(
          "__init__",
          [](SequenceLoader* self, const std::vector<nb::handle>& data, int64_t seq_len,
             int64_t batch_size, const std::string& targets, int64_t horizon, int64_t step,
             const std::string& dtype, bool shuffle, uint64_t seed, bool drop_last,
             size_t num_threads, int64_t prefetch, int64_t rank, int64_t world_size,
             nb::handle allocator) {
            SequenceOptions o;
            o.seq_len = seq_len;
            o.batch_size = batch_size;
            o.targets = sequence_targets_from_string(targets);
            o.horizon = horizon;
            o.step = step;
            o.dtype = dtype_from_name(dtype);
            o.shuffle = shuffle;
            o.seed = seed;
            o.drop_last = drop_last;
            o.num_threads = num_threads;
            o.prefetch = prefetch;
            o.rank = rank;
            o.world_size = world_size;
            o.allocator = python_allocator(allocator);
            std::vector<View> sources;
            sources.reserve(data.size());
            for (nb::handle h : data) sources.push_back(view_from_object(h));
            new (self) SequenceLoader(std::move(sources), o);
          },
          nb::arg("data"), nb::arg("seq_len"), nb::arg("batch_size"), nb::arg("targets"),
          nb::arg("horizon"), nb::arg("step"), nb::arg("dtype"), nb::arg("shuffle"),
          nb::arg("seed"), nb::arg("drop_last"), nb::arg("num_threads"), nb::arg("prefetch"),
          nb::arg("rank"), nb::arg("world_size"), nb::arg("allocator").none() = nb::none())
      .def("__len__", &SequenceLoader::num_batches, "Batches per epoch on this rank.")
      .def_prop_ro("num_threads", &SequenceLoader::num_threads, "Worker threads running.")
      .def_prop_ro("samples_per_rank", &SequenceLoader::samples_per_rank,
                   "Windows per epoch on this rank.")
      .def_prop_ro("windows_per_epoch", &SequenceLoader::windows_per_epoch,
                   "Windows per epoch over all ranks.")
      .def_prop_ro("buffers_allocated", &SequenceLoader::buffers_allocated,
                   "Batch buffers the pool holds (in flight, held by users, spare).")
      .def(
          "state",
          [](const SequenceLoader& l) {
            const LoaderState s = without_gil([&] { return l.state(); });
            return std::make_tuple(s.epoch, s.batch);
          },
          "(epoch, next batch index).")
      .def(
          "load_state",
          [](SequenceLoader& l, int64_t epoch, int64_t batch) {
            nb::gil_scoped_release release;
            l.load_state({epoch, batch});
          },
          nb::arg("epoch"), nb::arg("batch"), "Moves to (epoch, batch); drops work in flight.")
      .def(
          "plan",
          [](const SequenceLoader& l, int64_t b) {
            SequencePlan p = without_gil([&] { return l.plan(b); });
            return std::make_tuple(std::move(p.sources), std::move(p.starts));
          },
          nb::arg("batch"), "(sources, starts) lists of batch `batch`.")
      .def("next", &next_batch,
           "(x View, y View or None, epoch, index) of the next batch; waits with the GIL "
           "released, raising KeyboardInterrupt on Ctrl-C.");
}

}  // namespace nocopy::bindings
