// Bindings of the sequence domain: sliding windows, raw files and the sequence loader's core
// (wrapped by nocopy._sequence; its options parsed by the option table, the rest is
// _BatchEngine's). No logic here; see nocopy/{core/sliding_window,storage/raw_file,
// pipeline/producers/sequence_loader}.hpp.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

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

  nb::class_<SequenceLoader, BatchEngine>(
      m, "_SequenceLoader", "C++ core of nocopy.SequenceLoader (use nocopy.SequenceLoader)")
      .def(
          "__init__",
          [](SequenceLoader* self, const std::vector<nb::handle>& data, nb::kwargs options) {
            const SequenceOptions o =
                options_from(options, sequence_option_specs(), "SequenceLoader");
            std::vector<View> sources;
            sources.reserve(data.size());
            for (nb::handle h : data) sources.push_back(view_from_object(h));
            new (self) SequenceLoader(std::move(sources), o);
          },
          nb::arg("data"), nb::arg("options"),
          "data (a list of arrays), then nc.SequenceLoader's options as keyword arguments.")
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
