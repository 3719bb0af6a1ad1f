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
#include <variant>
#include <vector>

#include "bindings.hpp"
#include "nocopy/core/sliding_window.hpp"
#include "nocopy/pipeline/producers/sequence_loader.hpp"
#include "nocopy/pipeline/sources/sequence_parts.hpp"
#include "nocopy/storage/raw_file.hpp"
#include "python_shard_provider.hpp"

namespace nocopy::bindings {
namespace {

/// The Python handle of sequences opened on demand (_ShardedSequences): what the loader reads.
struct ShardedSequences {
  LazySequences sequences;
};

/// The sources of nc.SequenceLoader's `data`: a _ShardedSequences, or a list of arrays and
/// _ShardedSequences (a mixture's datasets end to end: read as one list opened on demand when
/// some part is).
template <class Make>
auto with_sources(nb::handle data, Make&& make) {
  if (nb::isinstance<ShardedSequences>(data)) {
    return make(nb::cast<const ShardedSequences&>(data).sequences);
  }
  if (!nb::isinstance<nb::list>(data)) {
    throw TypeError("data must be a list of arrays or a _ShardedSequences");
  }
  std::vector<SequencePart> parts;
  bool lazy = false;
  for (nb::handle h : nb::cast<nb::list>(data)) {
    if (nb::isinstance<ShardedSequences>(h)) {
      parts.emplace_back(nb::cast<const ShardedSequences&>(h).sequences);
      lazy = true;
      continue;
    }
    if (parts.empty() || !std::holds_alternative<std::vector<View>>(parts.back())) {
      parts.emplace_back(std::vector<View>{});
    }
    std::get<std::vector<View>>(parts.back()).push_back(view_from_object(h));
  }
  if (lazy) return make(concat_sequence_parts(std::move(parts)));
  std::vector<View> sources;
  if (!parts.empty()) sources = std::move(std::get<std::vector<View>>(parts.front()));
  return make(std::move(sources));
}

/// The mixture of nc.SequenceLoader's `mixture` argument, (sources per dataset, weights,
/// num_samples or None).
SequenceMixture sequence_mixture_from(nb::handle mixture) {
  const nb::tuple m = nb::cast<nb::tuple>(mixture);
  if (m.size() != 3) throw TypeError("mixture must be (sources, weights, num_samples)");
  SequenceMixture out;
  out.sources = int64_args(m[0], "sources");
  for (nb::handle w : m[1]) out.weights.push_back(double_arg(w, "weights"));
  if (out.weights.size() != out.sources.size()) {
    throw std::invalid_argument("a mixture of " + std::to_string(out.sources.size()) +
                                " datasets needs as many weights, not " +
                                std::to_string(out.weights.size()));
  }
  if (!m[2].is_none()) {
    out.num_samples = int64_arg(m[2], "num_samples");
    if (out.num_samples < 1) {
      throw std::invalid_argument("num_samples " + std::to_string(out.num_samples) +
                                  " must be >= 1");
    }
  }
  return out;
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
            std::optional<SequenceMixture> mixture;
            if (options.contains("mixture")) {
              nb::object m = options["mixture"];
              nb::del(options["mixture"]);
              if (!m.is_none()) mixture = sequence_mixture_from(m);
            }
            const SequenceOptions o =
                options_from(options, sequence_option_specs(), "SequenceLoader");
            with_sources(data, [&](auto sources) {
              new (self) SequenceLoader(std::move(sources), o, mixture);
              return 0;
            });
          },
          nb::arg("data"), nb::arg("options"),
          "data (a list of arrays or a _ShardedSequences, or a mixture's datasets end to end: "
          "arrays and _ShardedSequences), then nc.SequenceLoader's options as keyword arguments "
          "(mixture=(sources per dataset, weights, num_samples or None) mixes datasets).")
      .def_prop_ro("windows_per_epoch", &SequenceLoader::windows_per_epoch,
                   "Windows per epoch over all ranks.")
      .def_prop_ro(
          "mixture_sizes",
          [](const SequenceLoader& l) { return l.typed_producer().sampler().dataset_sizes(); },
          "With a mixture: each dataset's windows per epoch as a lone loader (else []).")
      .def_prop_ro(
          "mixture_counts",
          [](const SequenceLoader& l) { return l.typed_producer().sampler().dataset_counts(); },
          "With a mixture: each dataset's windows in every epoch (else []).")
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
            return std::make_tuple(std::move(p.sources), std::move(p.starts),
                                   std::move(p.datasets));
          },
          nb::arg("batch").none(), nb::arg("epoch").none() = nb::none(),
          "(sources, starts, datasets) lists of batch `batch` of `epoch` (default: current; "
          "datasets empty without a mixture).");
}

}  // namespace nocopy::bindings
