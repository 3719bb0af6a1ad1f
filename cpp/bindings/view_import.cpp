// view(obj): any Python array-like as a View, through the buffer protocol or DLPack. Never copies.
#include <Python.h>

#include <string>

#include "bindings.hpp"
#include "nocopy/core/dlpack_bridge.hpp"
#include "nocopy/core/errors.hpp"

namespace nocopy::bindings {
namespace {

std::string object_type_name(nb::handle obj) {
  return nb::type_name(obj.type()).c_str();
}

// Releases a Py_buffer unless ownership moved to a BufferOwner.
struct BufferGuard {
  Py_buffer* buf;
  ~BufferGuard() {
    if (buf != nullptr && buf->obj != nullptr) PyBuffer_Release(buf);
  }
};

View view_from_buffer(nb::handle obj) {
  Py_buffer buf;
  if (PyObject_GetBuffer(obj.ptr(), &buf, PyBUF_RECORDS_RO) != 0) throw nb::python_error();
  BufferGuard guard{&buf};
  if (buf.suboffsets != nullptr) {
    throw BufferError("cannot view " + object_type_name(obj) +
                      ": indirect (suboffset) buffers are not supported");
  }
  const char* format = buf.format != nullptr ? buf.format : "B";
  auto dtype = dtype_from_buffer_format(format, static_cast<size_t>(buf.itemsize));
  if (!dtype) {
    std::string f = format;
    std::string hint = (f.size() > 0 && (f[0] == '>' || f[0] == '!'))
                           ? "; big-endian data must be converted first (that copies)"
                           : "";
    throw TypeError("cannot view " + object_type_name(obj) + ": buffer format '" + f +
                    "' (itemsize " + std::to_string(buf.itemsize) + ") is not a supported dtype" +
                    hint);
  }
  const int ndim = buf.ndim;
  std::vector<int64_t> shape(static_cast<size_t>(ndim)), strides(static_cast<size_t>(ndim));
  for (int i = 0; i < ndim; ++i) {
    shape[static_cast<size_t>(i)] = buf.shape != nullptr ? buf.shape[i] : buf.len / buf.itemsize;
  }
  if (buf.strides != nullptr) {
    for (int i = 0; i < ndim; ++i) {
      if (buf.strides[i] % buf.itemsize != 0) {
        throw BufferError("cannot view " + object_type_name(obj) + ": stride " +
                          std::to_string(buf.strides[i]) + " bytes on axis " + std::to_string(i) +
                          " is not a multiple of the item size " + std::to_string(buf.itemsize));
      }
      strides[static_cast<size_t>(i)] = buf.strides[i] / buf.itemsize;
    }
  } else {
    strides = contiguous_strides(shape);
  }
  void* data = buf.buf;
  const bool readonly = buf.readonly != 0;
  // Check geometry before the buffer moves into its owner.
  View probe(data, *dtype, shape, strides, nullptr, readonly);
  guard.buf = nullptr;
  OwnerPtr owner = python_buffer_owner(&buf);
  return View(data, *dtype, std::move(shape), std::move(strides), std::move(owner), readonly);
}

View view_from_capsule(nb::handle capsule, const std::string& source) {
  PyObject* c = capsule.ptr();
  if (PyCapsule_IsValid(c, "dltensor_versioned")) {
    auto* m = static_cast<DLManagedTensorVersioned*>(PyCapsule_GetPointer(c, "dltensor_versioned"));
    PyCapsule_SetName(c, "used_dltensor_versioned");
    return import_dlpack(m);
  }
  if (PyCapsule_IsValid(c, "dltensor")) {
    auto* m = static_cast<DLManagedTensor*>(PyCapsule_GetPointer(c, "dltensor"));
    PyCapsule_SetName(c, "used_dltensor");
    return import_dlpack(m);
  }
  throw TypeError(source + " is not an unused DLPack capsule ('dltensor' or 'dltensor_versioned')");
}

View view_from_dlpack(nb::handle obj) {
  nb::object capsule;
  try {
    capsule = obj.attr("__dlpack__")(nb::arg("max_version") = nb::make_tuple(1, 1));
  } catch (nb::python_error& e) {
    if (!e.matches(PyExc_TypeError)) throw;  // producers older than DLPack 1.0 take no kwargs
    capsule = obj.attr("__dlpack__")();
  }
  return view_from_capsule(capsule, "__dlpack__() of " + object_type_name(obj));
}

}  // namespace

View view_from_object(nb::handle obj) {
  if (nb::isinstance<View>(obj)) return nb::cast<View>(obj);
  // Objects that hold a View (nocopy.SharedArray) hand it over directly, keeping its owner
  // (so a view of shared memory still pickles by reference).
  if (nb::hasattr(obj, "__nocopy_view__")) {
    nb::object held = obj.attr("__nocopy_view__")();
    if (!nb::isinstance<View>(held)) {
      throw TypeError(object_type_name(obj) + ".__nocopy_view__() returned " +
                      object_type_name(held) + ", not a nocopy.View");
    }
    return nb::cast<View>(held);
  }
  if (PyObject_CheckBuffer(obj.ptr())) {
    try {
      return view_from_buffer(obj);
    } catch (nb::python_error&) {
      // Some exporters (custom numpy dtypes) refuse the buffer but speak DLPack.
      if (!nb::hasattr(obj, "__dlpack__")) throw;
    }
  }
  if (nb::hasattr(obj, "__dlpack__")) return view_from_dlpack(obj);
  if (PyCapsule_CheckExact(obj.ptr())) return view_from_capsule(obj, "the capsule");
  throw TypeError("cannot view an object of type " + object_type_name(obj) +
                  ": it supports neither the buffer protocol nor __dlpack__");
}

void bind_import(nb::module_& m) {
  m.def("view", &view_from_object, nb::arg("obj").none(),
        "A zero-copy View of any array: numpy, torch, tf, jax, bytes, bytearray, mmap, "
        "memoryview, buffer-protocol or __dlpack__ object, or a DLPack capsule. Never copies.");
}

}  // namespace nocopy::bindings
