// The View class: its attributes and shape operations, with the raw slots of indexing
// (view_indexing.cpp) and the buffer protocol (buffer_protocol.cpp).
#include <Python.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <memory>
#include <string>
#include <vector>

#include "bindings.hpp"
#include "nocopy/core/errors.hpp"

namespace nocopy::bindings {
namespace {

// Axes given as f(0, 2, 1) or f((0, 2, 1)) or f([0, 2, 1]).
std::vector<int64_t> int_args(const nb::args& args, const char* what) {
  if (args.size() == 1 && !PyIndex_Check(args[0].ptr())) return int64_args(args[0], what);
  return int64_args(args, what);
}

// The (rows, columns) axes of a crop.
std::pair<int64_t, int64_t> crop_axes(nb::handle axes) {
  const std::vector<int64_t> a = int64_tuple(axes, "crop axes", 2);
  return {a[0], a[1]};
}

PyType_Slot view_slots[] = {
    {Py_bf_getbuffer, reinterpret_cast<void*>(view_getbuffer)},
    {Py_bf_releasebuffer, reinterpret_cast<void*>(view_releasebuffer)},
    {Py_mp_subscript, reinterpret_cast<void*>(view_subscript)},
    {0, nullptr},
};

std::string repr(const View& v) {
  std::string owner = "none";
  if (v.owner()) {
    owner = std::string(v.owner()->kind());
    nb::object base = owner_object(v.owner());
    if (!base.is_none()) owner = nb::type_name(base.type()).c_str();
  }
  std::vector<int64_t> byte_strides = v.strides();
  for (auto& s : byte_strides) s *= static_cast<int64_t>(v.itemsize());
  std::string s = "nocopy.View(shape=" + format_tuple(v.shape()) +
                  ", dtype=" + std::string(dtype_name(v.dtype())) +
                  ", strides=" + format_tuple(byte_strides) + ", owner=" + owner;
  if (v.readonly()) s += ", readonly";
  if (!v.device().is_cpu()) s += ", device=" + v.device().str();
  return s + ")";
}

}  // namespace

void bind_view(nb::module_& m) {
  auto cls = nb::class_<View>(m, "View", nb::type_slots(view_slots),
                              "A zero-copy N-d view of memory owned by another object. Create one "
                              "with nocopy.view(obj); every operation returns another view of the "
                              "same memory.");
  cls.def_prop_ro(
         "shape", [](const View& v) { return int_tuple(v.shape()); }, "Extent of each axis.")
      .def_prop_ro(
          "strides",
          [](const View& v) { return int_tuple(v.strides(), static_cast<int64_t>(v.itemsize())); },
          "Bytes between consecutive elements along each axis (as NumPy reports them).")
      .def_prop_ro("ndim", &View::ndim, "Number of axes.")
      .def_prop_ro("size", &View::size, "Number of elements.")
      .def_prop_ro("nbytes", &View::nbytes, "size * itemsize.")
      .def_prop_ro("itemsize", &View::itemsize, "Bytes per element.")
      .def_prop_ro("_dtype_name", [](const View& v) { return std::string(dtype_name(v.dtype())); })
      .def_prop_ro("readonly", &View::readonly, "True when writes through this view are refused.")
      .def_prop_ro("is_contiguous", &View::is_c_contiguous, "True when C (row-major) contiguous.")
      .def_prop_ro("is_f_contiguous", &View::is_f_contiguous, "True when Fortran contiguous.")
      .def_prop_ro(
          "data_ptr", [](const View& v) { return reinterpret_cast<uintptr_t>(v.data()); },
          "Address of the first element (element (0, ..., 0)).")
      .def_prop_ro(
          "base", [](const View& v) { return owner_object(v.owner()); },
          "The Python object whose memory this view uses, or None when nocopy (or a "
          "DLPack producer) owns it.")
      .def_prop_ro(
          "_owner_kind",
          [](const View& v) { return v.owner() ? std::string(v.owner()->kind()) : std::string(); })
      .def_prop_ro(
          "device", [](const View& v) { return v.device().str(); },
          "'cpu', or the device of an imported non-CPU tensor.")
      .def_prop_ro(
          "byte_extent",
          [](const View& v) {
            ByteRange r = v.byte_extent();
            return std::make_pair(r.begin, r.end);
          },
          "(first, end) addresses of the bytes this view can touch.")
      .def("__len__",
           [](const View& v) {
             if (v.ndim() == 0) throw nocopy::TypeError("len() of a 0-d view");
             return v.shape()[0];
           })
      .def(
          "permute",
          [](const View& v, nb::args args) {
            auto axes = int_args(args, "permute");
            return v.permute(axes);
          },
          "Reorders axes: permute(0, 3, 1, 2) (NHWC -> NCHW). Never copies.")
      .def(
          "transpose",
          [](const View& v, nb::args args) {
            if (args.size() == 0) return v.transpose();
            auto axes = int_args(args, "transpose");
            return v.permute(axes);
          },
          "Reverses the axes, or reorders them like permute when axes are given.")
      .def_prop_ro("T", &View::transpose, "The view with its axes reversed.")
      .def(
          "flip",
          [](const View& v, nb::handle axis) {
            if (axis.is_none()) {
              View r = v;
              for (int64_t a = 0; a < v.ndim(); ++a) r = r.flip(a);
              return r;
            }
            View r = v;
            for (int64_t a : int64_args(axis, "flip axis", true)) r = r.flip(a);
            return r;
          },
          nb::arg("axis").none() = nb::none(),
          "Reverses the given axis (or axes, or all when None) with a negative stride.")
      .def(
          "reshape",
          [](const View& v, nb::args args) {
            auto shape = int_args(args, "reshape");
            return v.reshape(shape);
          },
          "Same elements in a new shape (one -1 allowed). Raises ValueError when that would "
          "need a copy.")
      .def("as_readonly", &View::as_readonly, "This view, read-only.")
      .def(
          "reinterpret",
          [](const View& v, const std::string& dtype) {
            return v.reinterpret(dtype_from_name(dtype));
          },
          nb::arg("dtype"), "The same bytes as another dtype of the same item size.")
      .def(
          "_crop",
          [](const View& v, nb::handle top, nb::handle left, nb::handle height, nb::handle width,
             nb::handle axes) {
            return v.crop(int64_arg(top, "crop top"), int64_arg(left, "crop left"),
                          int64_arg(height, "crop height"), int64_arg(width, "crop width"),
                          crop_axes(axes));
          },
          nb::arg("top"), nb::arg("left"), nb::arg("height"), nb::arg("width"), nb::arg("axes"))
      .def(
          "_center_crop",
          [](const View& v, nb::handle height, nb::handle width, nb::handle axes) {
            return v.center_crop(int64_arg(height, "center_crop height"),
                                 int64_arg(width, "center_crop width"), crop_axes(axes));
          },
          nb::arg("height"), nb::arg("width"), nb::arg("axes"))
      .def("__repr__", &repr);
  set_view_type(reinterpret_cast<PyTypeObject*>(cls.ptr()));
  bind_dlpack(m, cls);
}

}  // namespace nocopy::bindings
