// The explicit copies: _nocopy.copy(src, dst) and _nocopy.ascontiguous(src, dtype) (always copy),
// and the per-thread copy policy behind nc.no_copy().
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>

#include <optional>
#include <string>

#include "bindings.hpp"
#include "nocopy/core/copy.hpp"
#include "nocopy/core/copy_policy.hpp"

namespace nocopy::bindings {

void bind_copy(nb::module_& m) {
  // The GIL is released while elements move: each view holds its owner, so nothing is freed.
  m.def(
      "copy",
      [](const View& src, const View& dst, int num_threads) {
        nb::gil_scoped_release release;
        nocopy::copy(src, dst, num_threads);
      },
      nb::arg("src"), nb::arg("dst"), nb::arg("num_threads") = 0,
      "Copies src into dst (equal shapes; dst writable), converting to dst's dtype like NumPy's "
      "astype; overlapping operands behave like dst[...] = src. num_threads 0 = all cores.");
  m.def(
      "ascontiguous",
      [](const View& src, std::optional<std::string> dtype, int num_threads) {
        const std::optional<DType> to =
            dtype ? std::optional<DType>(dtype_from_name(*dtype)) : std::nullopt;
        nb::gil_scoped_release release;
        return copy_new(src, to, num_threads);
      },
      nb::arg("src"), nb::arg("dtype").none() = nb::none(), nb::arg("num_threads") = 0,
      "A new 64-byte aligned C-contiguous copy of src, converted to dtype (a name) when given; "
      "CopyForbiddenError inside nc.no_copy().");
  m.def("_forbid_copies", &forbid_copies, "Enters one no-copy level on this thread.");
  m.def("_allow_copies", &allow_copies, "Leaves one no-copy level on this thread.");
  m.def("_copies_forbidden", &copies_forbidden, "True inside nc.no_copy() on this thread.");
}

}  // namespace nocopy::bindings
