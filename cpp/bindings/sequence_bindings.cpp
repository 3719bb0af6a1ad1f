// Bindings of the sequence domain: sliding windows, raw files and the sequence loader (wrapped
// by nocopy._sequence). No logic here; see nocopy/{core/sliding_window,storage/raw_file,
// pipeline/sequence_loader}.hpp.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "bindings.hpp"
#include "nocopy/core/sliding_window.hpp"
#include "nocopy/pipeline/producers/sequence_loader.hpp"
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
  m.def(
      "_sliding_windows",
      [](const View& v, nb::handle size, nb::handle step, nb::handle axis) {
        return sliding_windows(v, int64_arg(size, "size"), int64_arg(step, "step"),
                               int64_arg(axis, "axis"));
      },
      nb::arg("view"), nb::arg("size").none(), nb::arg("step").none(), nb::arg("axis").none());
  m.def(
      "_open_raw_fd",
      [](int fd, const std::string& path, const std::string& dtype, nb::handle shape,
         nb::handle offset, const std::string& mode) {
        const DType t = dtype_from_name(dtype);
        const MapMode mm = map_mode_from_string(mode);
        std::optional<std::vector<int64_t>> dims;
        if (!shape.is_none()) dims = int64_args(shape, "shape", /*allow_scalar=*/true);
        const int64_t at = int64_arg(offset, "offset");
        if (at < 0) throw std::invalid_argument("offset " + std::to_string(at) + " must be >= 0");
        nb::gil_scoped_release release;
        return open_raw_fd(fd, path, t, dims, static_cast<uint64_t>(at), mm);
      },
      nb::arg("fd"), nb::arg("path"), nb::arg("dtype"), nb::arg("shape").none(),
      nb::arg("offset").none(), nb::arg("mode"));

  nb::class_<SequenceLoader>(m, "_SequenceLoader",
                             "C++ core of nocopy.SequenceLoader (use nocopy.SequenceLoader)")
      .def(
          "__init__",
          [](SequenceLoader* self, const std::vector<nb::handle>& data, nb::handle seq_len,
             nb::handle batch_size, const std::string& targets, nb::handle horizon, nb::handle step,
             const std::string& dtype, bool shuffle, nb::handle seed, bool drop_last,
             nb::handle num_threads, nb::handle prefetch, nb::handle rank, nb::handle world_size,
             nb::handle allocator) {
            SequenceOptions o;
            o.seq_len = int64_arg(seq_len, "seq_len");
            o.batch_size = int64_arg(batch_size, "batch_size");
            o.targets = sequence_targets_from_string(targets);
            o.horizon = int64_arg(horizon, "horizon");
            o.step = int64_arg(step, "step");
            o.dtype = dtype_from_name(dtype);
            o.shuffle = shuffle;
            o.seed = uint64_arg(seed, "seed");
            o.drop_last = drop_last;
            const int64_t threads = int64_arg(num_threads, "num_threads");
            if (threads < 0) {
              throw std::invalid_argument("num_threads " + std::to_string(threads) +
                                          " must be >= 1 (or None)");
            }
            o.num_threads = static_cast<size_t>(threads);
            o.prefetch = int64_arg(prefetch, "prefetch");
            o.rank = int64_arg(rank, "rank");
            o.world_size = int64_arg(world_size, "world_size");
            o.allocator = python_allocator(allocator);
            std::vector<View> sources;
            sources.reserve(data.size());
            for (nb::handle h : data) sources.push_back(view_from_object(h));
            new (self) SequenceLoader(std::move(sources), o);
          },
          // .none(): None reaches int64_arg, which names the argument in its TypeError.
          nb::arg("data"), nb::arg("seq_len").none(), nb::arg("batch_size").none(),
          nb::arg("targets"), nb::arg("horizon").none(), nb::arg("step").none(), nb::arg("dtype"),
          nb::arg("shuffle"), nb::arg("seed").none(), nb::arg("drop_last"),
          nb::arg("num_threads").none(), nb::arg("prefetch").none(), nb::arg("rank").none(),
          nb::arg("world_size").none(), nb::arg("allocator").none() = nb::none())
      .def("__len__", &SequenceLoader::num_batches, "Batches per epoch on this rank.")
      .def_prop_ro("num_threads", &SequenceLoader::num_threads, "Worker threads running.")
      .def_prop_ro("samples_per_rank", &SequenceLoader::samples_per_rank,
                   "Windows per epoch on this rank.")
      .def_prop_ro("windows_per_epoch", &SequenceLoader::windows_per_epoch,
                   "Windows per epoch over all ranks.")
      .def_prop_ro("buffers_allocated", &SequenceLoader::buffers_allocated,
                   "Batch buffers the pool holds (in flight, held by users, spare).")
      .def_prop_ro("buffer_bytes", &SequenceLoader::buffer_bytes,
                   "Bytes of one batch buffer (x and y of the largest batch that can occur).")
      .def(
          "state",
          [](const SequenceLoader& l) {
            const LoaderState s = without_gil([&] { return l.state(); });
            return std::make_tuple(s.epoch, s.batch, s.start);
          },
          "(epoch, index, start) of the next batch (start: the epoch's first global position).")
      .def_prop_ro(
          "global_position",
          [](const SequenceLoader& l) { return without_gil([&] { return l.global_position(); }); },
          "Windows of the epoch all ranks have consumed before the next batch.")
      .def_prop_ro(
          "state_epoch_batches",
          [](const SequenceLoader& l) {
            return without_gil([&] { return l.state_epoch_batches(); });
          },
          "Batches of the epoch the next batch belongs to, counted from its start.")
      .def(
          "load_state",
          [](SequenceLoader& l, nb::handle epoch, nb::handle batch, nb::handle start) {
            const LoaderState s{int64_arg(epoch, "epoch"), int64_arg(batch, "batch"),
                                int64_arg(start, "start")};
            nb::gil_scoped_release release;
            l.load_state(s);
          },
          nb::arg("epoch").none(), nb::arg("batch").none(), nb::arg("start").none() = 0,
          "Moves to (epoch, batch) of an epoch starting at global position `start`; drops work "
          "in flight.")
      .def(
          "plan",
          [](const SequenceLoader& l, nb::handle b) {
            const int64_t index = int64_arg(b, "batch");
            SequencePlan p = without_gil([&] { return l.plan(index); });
            return std::make_tuple(std::move(p.sources), std::move(p.starts));
          },
          nb::arg("batch").none(), "(sources, starts) lists of batch `batch`.")
      .def("next", &next_batch,
           "(x View, y View or None, epoch, index) of the next batch; waits with the GIL "
           "released, raising KeyboardInterrupt on Ctrl-C.");
}

}  // namespace nocopy::bindings
