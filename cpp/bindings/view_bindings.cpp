// The View class: attributes, NumPy basic indexing, shape operations and the buffer protocol.
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

// One element of a Python index tuple as an IndexItem.
IndexItem parse_index_item(PyObject* item) {
  if (item == Py_Ellipsis) return IndexItem::ellipsis();
  if (item == Py_None) return IndexItem::new_axis();
  if (PySlice_Check(item)) {
    Py_ssize_t start, stop, step;
    if (PySlice_Unpack(item, &start, &stop, &step) < 0) throw nb::python_error();
    return IndexItem::slice(start, stop, step);
  }
  if (PyBool_Check(item)) {
    throw nocopy::TypeError(
        "views support basic indexing only; a bool index is boolean (advanced) indexing, which "
        "always copies: use np.asarray(v)[...] explicitly");
  }
  if (PyLong_Check(item) || PyIndex_Check(item)) {
    Py_ssize_t i = PyNumber_AsSsize_t(item, PyExc_IndexError);
    if (i == -1 && PyErr_Occurred()) {
      // Arrays define __index__ but only 0-d integer arrays convert; the rest is advanced indexing.
      if (!PyErr_ExceptionMatches(PyExc_TypeError)) throw nb::python_error();
      PyErr_Clear();
    } else {
      return IndexItem::integer(i);
    }
  }
  throw nocopy::TypeError(
      std::string("views support basic indexing only (integers, slices, ..., None); got ") +
      Py_TYPE(item)->tp_name +
      ". Advanced (array/list) indexing always copies: use np.asarray(v)[...] explicitly");
}

View getitem(const View& self, nb::handle key) {
  PyObject* k = key.ptr();
  if (PyTuple_Check(k)) {
    const Py_ssize_t n = PyTuple_GET_SIZE(k);
    if (n > 2 * kMaxDims) {
      throw std::out_of_range("index tuple of length " + std::to_string(n) + " is too long");
    }
    constexpr Py_ssize_t kInline = 8;  // typical index tuples fit; avoids a heap allocation
    IndexItem inline_items[kInline];
    std::vector<IndexItem> heap_items;
    IndexItem* items = inline_items;
    if (n > kInline) {
      heap_items.resize(static_cast<size_t>(n));
      items = heap_items.data();
    }
    for (Py_ssize_t i = 0; i < n; ++i) items[i] = parse_index_item(PyTuple_GET_ITEM(k, i));
    return self.index(std::span<const IndexItem>(items, static_cast<size_t>(n)));
  }
  IndexItem item = parse_index_item(k);
  return self.index(std::span<const IndexItem>(&item, 1));
}

// The View type object, for building result instances without a type lookup.
PyTypeObject* g_view_type = nullptr;

// Wraps a View result in a new Python instance (the hot path of indexing).
PyObject* new_instance(View&& v) {
  nb::object inst = nb::inst_alloc(nb::handle(reinterpret_cast<PyObject*>(g_view_type)));
  new (nb::inst_ptr<View>(inst)) View(std::move(v));
  nb::inst_mark_ready(inst);
  return inst.release().ptr();
}

// mp_subscript slot: v[key] without nanobind's argument dispatch (indexing is the hottest call).
PyObject* view_subscript(PyObject* self, PyObject* key) {
  if (!nb::inst_ready(self)) {  // View.__new__(View) makes an instance with no C++ object
    PyErr_SetString(PyExc_TypeError, "uninitialized nocopy.View; create views with nocopy.view()");
    return nullptr;
  }
  try {
    return new_instance(getitem(*nb::inst_ptr<View>(self), nb::handle(key)));
  } catch (nb::python_error& e) {
    e.restore();
  } catch (const nocopy::BufferError& e) {
    PyErr_SetString(PyExc_BufferError, e.what());
  } catch (const nocopy::TypeError& e) {
    PyErr_SetString(PyExc_TypeError, e.what());
  } catch (const std::out_of_range& e) {
    PyErr_SetString(PyExc_IndexError, e.what());
  } catch (const std::invalid_argument& e) {
    PyErr_SetString(PyExc_ValueError, e.what());
  } catch (const std::overflow_error& e) {
    PyErr_SetString(PyExc_OverflowError, e.what());
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_RuntimeError, e.what());
  }
  return nullptr;
}

// Axes given as f(0, 2, 1) or f((0, 2, 1)) or f([0, 2, 1]).
std::vector<int64_t> int_args(const nb::args& args, const char* what) {
  nb::handle src = args;
  if (args.size() == 1 && !PyLong_Check(args[0].ptr()) && !PyIndex_Check(args[0].ptr()))
    src = args[0];
  std::vector<int64_t> out;
  for (nb::handle h : src) {
    if (!PyIndex_Check(h.ptr()) || PyBool_Check(h.ptr())) {
      throw nocopy::TypeError(std::string(what) + " takes integers, got " +
                              nb::type_name(h.type()).c_str());
    }
    Py_ssize_t v = PyNumber_AsSsize_t(h.ptr(), PyExc_OverflowError);
    if (v == -1 && PyErr_Occurred()) throw nb::python_error();
    out.push_back(v);
  }
  return out;
}

// --- buffer protocol -------------------------------------------------------------------------

// Arrays a Py_buffer points into, kept until the consumer releases the buffer.
struct BufferExport {
  View view;
  std::vector<Py_ssize_t> shape;
  std::vector<Py_ssize_t> strides;
};

int view_getbuffer(PyObject* self, Py_buffer* buf, int flags) {
  if (!nb::inst_ready(self)) {
    buf->obj = nullptr;
    PyErr_SetString(PyExc_TypeError, "uninitialized nocopy.View; create views with nocopy.view()");
    return -1;
  }
  const View* v = nb::inst_ptr<View>(self);
  auto fail = [&](const std::string& message) {
    buf->obj = nullptr;
    PyErr_SetString(PyExc_BufferError, message.c_str());
    return -1;
  };
  if (!v->device().is_cpu()) return fail("view is on " + v->device().str() + ", not host memory");
  if ((flags & PyBUF_WRITABLE) == PyBUF_WRITABLE && v->readonly()) {
    return fail("view is read-only; a writable buffer was requested");
  }
  std::string_view format = dtype_buffer_format(v->dtype());
  if (format.empty()) {
    return fail(std::string(dtype_name(v->dtype())) +
                " has no buffer-protocol format; use DLPack (torch.from_dlpack(v)) or "
                "v.reinterpret('uint16')");
  }
  const bool c_contig = v->is_c_contiguous();
  const bool f_contig = v->is_f_contiguous();
  if ((flags & PyBUF_C_CONTIGUOUS) == PyBUF_C_CONTIGUOUS && !c_contig) {
    return fail("view is not C-contiguous; use nc.ascontiguous(v) (a copy)");
  }
  if ((flags & PyBUF_F_CONTIGUOUS) == PyBUF_F_CONTIGUOUS && !f_contig) {
    return fail("view is not Fortran-contiguous");
  }
  if ((flags & PyBUF_ANY_CONTIGUOUS) == PyBUF_ANY_CONTIGUOUS && !c_contig && !f_contig) {
    return fail("view is not contiguous; use nc.ascontiguous(v) (a copy)");
  }
  if ((flags & PyBUF_STRIDES) != PyBUF_STRIDES && !c_contig) {
    return fail("view is not C-contiguous and the consumer did not ask for strides");
  }
  auto* ex = new BufferExport{*v, {}, {}};
  const auto item = static_cast<Py_ssize_t>(v->itemsize());
  for (int64_t i = 0; i < v->ndim(); ++i) {
    ex->shape.push_back(static_cast<Py_ssize_t>(v->shape()[static_cast<size_t>(i)]));
    ex->strides.push_back(static_cast<Py_ssize_t>(v->strides()[static_cast<size_t>(i)]) * item);
  }
  buf->buf = v->data();
  buf->obj = Py_NewRef(self);
  buf->len = static_cast<Py_ssize_t>(v->nbytes());
  buf->readonly = v->readonly() ? 1 : 0;
  buf->itemsize = item;
  // Static storage: format strings come from a constant table and are NUL-terminated there.
  buf->format = (flags & PyBUF_FORMAT) == PyBUF_FORMAT ? const_cast<char*>(format.data()) : nullptr;
  buf->ndim = static_cast<int>(v->ndim());
  buf->shape = (flags & PyBUF_ND) == PyBUF_ND ? ex->shape.data() : nullptr;
  buf->strides = (flags & PyBUF_STRIDES) == PyBUF_STRIDES ? ex->strides.data() : nullptr;
  buf->suboffsets = nullptr;
  buf->internal = ex;
  return 0;
}

void view_releasebuffer(PyObject*, Py_buffer* buf) {
  delete static_cast<BufferExport*>(buf->internal);
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

nb::tuple int_tuple(const std::vector<int64_t>& values, int64_t scale) {
  PyObject* t = PyTuple_New(static_cast<Py_ssize_t>(values.size()));
  if (t == nullptr) throw nb::python_error();
  for (size_t i = 0; i < values.size(); ++i) {
    PyTuple_SET_ITEM(t, static_cast<Py_ssize_t>(i), PyLong_FromLongLong(values[i] * scale));
  }
  return nb::steal<nb::tuple>(t);
}

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
            if (PyIndex_Check(axis.ptr())) return v.flip(nb::cast<int64_t>(axis));
            View r = v;
            for (nb::handle a : axis) r = r.flip(nb::cast<int64_t>(a));
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
      .def("_crop", &View::crop, nb::arg("top"), nb::arg("left"), nb::arg("height"),
           nb::arg("width"), nb::arg("axes"))
      .def("_center_crop", &View::center_crop, nb::arg("height"), nb::arg("width"), nb::arg("axes"))
      .def("__repr__", &repr);
  g_view_type = reinterpret_cast<PyTypeObject*>(cls.ptr());
  bind_dlpack(m, cls);
}

}  // namespace nocopy::bindings
