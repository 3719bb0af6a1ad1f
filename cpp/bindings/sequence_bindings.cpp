// Bindings of the sequence domain: sliding windows, raw files, sequences opened on demand
// (_ShardedSequences: a remote token dataset's shards, opened by Python callables through
// python_shard_provider.hpp) and the sequence loader's core (wrapped by nocopy._sequence; its
// options parsed by the option table, the rest is _BatchEngine's). No logic here; see
// nocopy/{core/sliding_window,storage/raw_file,pipeline/sources/sequence_source,
// pipeline/producers/sequence_loader}.hpp.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "bindings.hpp"
#include "nocopy/core/sliding_window.hpp"
#include "nocopy/pipeline/producers/sequence_loader.hpp"
#include "nocopy/storage/raw_file.hpp"
#include "python_shard_provider.hpp"

namespace nocopy::bindings {
namespace {

/// The Python handle of sequences opened on demand (_ShardedSequences): what the loader reads.
struct ShardedSequences {
  LazySequences sequences;
};

/// The sources of nc.SequenceLoader's `data`: a _ShardedSequences or a list of arrays.
template <class Make>
auto with_sources(nb::handle data, Make&& make) {
  if (nb::isinstance<ShardedSequences>(data)) {
    return make(nb::cast<const ShardedSequences&>(data).sequences);
  }
  if (!nb::isinstance<nb::list>(data)) {
    throw TypeError("data must be a list of arrays or a _ShardedSequences");
  }
  std::vector<View> sources;
  for (nb::handle h : nb::cast<nb::list>(data)) sources.push_back(view_from_object(h));
  return make(std::move(sources));
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

  nb::class_<ShardedSequences>(m, "_ShardedSequences",
                               "Token shards opened on demand (nocopy's remote token datasets; "
                               "use them through nc.open_tokens(url)).")
      .def(
          "__init__",
          [](ShardedSequences* self, nb::handle open, nb::handle prefetch, nb::handle lengths,
             const std::string& dtype, nb::handle max_open) {
            if (!PyCallable_Check(open.ptr()) || !PyCallable_Check(prefetch.ptr())) {
              throw TypeError("open and prefetch must be callable");
            }
            LazySequences s;
            s.layout.lengths = int64_args(lengths, "lengths");
            s.layout.dtype = dtype_from_name(dtype);
            s.layout.max_open = int64_arg(max_open, "max_open");
            s.provider =
                std::make_shared<const PythonShardProvider<View>>(open, prefetch, "a View");
            // The layout is checked now (the loader checks it again when it is built).
            (void)SequenceSource(s, 1);
            new (self) ShardedSequences{std::move(s)};
          },
          nb::arg("open"), nb::arg("prefetch"), nb::arg("lengths"), nb::arg("dtype"),
          nb::arg("max_open"),
          "open(k) -> View and prefetch(k) (Python callables), the tokens of each shard, the "
          "dtype name and how many shards stay open.")
      .def("__len__", [](const ShardedSequences& s) { return s.sequences.layout.lengths.size(); });

  nb::class_<SequenceLoader, BatchEngine>(
      m, "_SequenceLoader", "C++ core of nocopy.SequenceLoader (use nocopy.SequenceLoader)")
      .def(
          "__init__",
          [](SequenceLoader* self, nb::handle data, nb::kwargs options) {
            const SequenceOptions o =
                options_from(options, sequence_option_specs(), "SequenceLoader");
            with_sources(data, [&](auto sources) {
              new (self) SequenceLoader(std::move(sources), o);
              return 0;
            });
          },
          nb::arg("data"), nb::arg("options"),
          "data (a list of arrays or a _ShardedSequences), then nc.SequenceLoader's options as "
          "keyword arguments.")
      .def_prop_ro("windows_per_epoch", &SequenceLoader::windows_per_epoch,
                   "Windows per epoch over all ranks.")
      .def(
          "plan",
          [](const SequenceLoader& l, nb::handle b, nb::handle epoch) {
            const int64_t index = int64_arg(b, "batch");
            SequencePlan p;
            if (epoch.is_none()) {
              p = without_gil([&] { return l.plan(index); });
            } else {
              const int64_t e = int64_arg(epoch, "epoch");
              p = without_gil([&] { return l.plan(index, e); });
            }
            return std::make_tuple(std::move(p.sources), std::move(p.starts));
          },
          nb::arg("batch").none(), nb::arg("epoch").none() = nb::none(),
          "(sources, starts) lists of batch `batch` of `epoch` (default: current).");
}

}  // namespace nocopy::bindings
