// v[key]: a Python index (int, slice, ..., None, or a tuple of them) parsed into IndexItems and
// applied by View::index, in the raw mp_subscript slot (indexing is the hottest call).
#include <Python.h>

#include <string>
#include <vector>

#include "bindings.hpp"
#include "nocopy/core/errors.hpp"

namespace nocopy::bindings {
namespace {

// The View type object, for building result instances without a type lookup.
PyTypeObject* g_view_type = nullptr;

// Index objects that mean advanced (copying) indexing in NumPy: sequences and arrays of at
// least one dimension (NumPy scalars and 0-d arrays are scalars here).
bool is_array_like(PyObject* item) {
  if (PyList_Check(item) || PyTuple_Check(item)) return true;
  if (PyObject_HasAttrString(item, "ndim")) {
    nb::object ndim = nb::steal(PyObject_GetAttrString(item, "ndim"));
    if (!ndim.is_valid()) {
      PyErr_Clear();
      return true;
    }
    return !(PyLong_Check(ndim.ptr()) && PyLong_AsLong(ndim.ptr()) == 0);
  }
  return PyObject_CheckBuffer(item) || PyObject_HasAttrString(item, "__array__") ||
         PyObject_HasAttrString(item, "__dlpack__");
}

// One element of a Python index tuple as an IndexItem.
IndexItem parse_index_item(PyObject* item) {
  if (item == Py_Ellipsis) return IndexItem::ellipsis();
  if (item == Py_None) return IndexItem::new_axis();
  if (PySlice_Check(item)) {
    Py_ssize_t start, stop, step;
    if (PySlice_Unpack(item, &start, &stop, &step) < 0) throw nb::python_error();
    return IndexItem::slice(start, stop, step);
  }
  if (is_bool_scalar(nb::handle(item))) {
    throw TypeError(
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
  const std::string type = Py_TYPE(item)->tp_name;
  if (PyUnicode_Check(item) || PyBytes_Check(item) || !is_array_like(item)) {
    // NumPy's answer to v[0.0], v['x'], v[object()].
    throw std::out_of_range(
        "only integers, slices (`:`), ellipsis (`...`) and None are valid "
        "view indices; got " +
        type);
  }
  throw TypeError("views support basic indexing only (integers, slices, ..., None); got " + type +
                  ". Advanced (array/list) indexing always copies: use np.asarray(v)[...] "
                  "explicitly");
}

View getitem(const View& self, PyObject* key) {
  if (PyTuple_Check(key)) {
    const Py_ssize_t n = PyTuple_GET_SIZE(key);
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
    for (Py_ssize_t i = 0; i < n; ++i) items[i] = parse_index_item(PyTuple_GET_ITEM(key, i));
    return self.index(std::span<const IndexItem>(items, static_cast<size_t>(n)));
  }
  IndexItem item = parse_index_item(key);
  return self.index(std::span<const IndexItem>(&item, 1));
}

}  // namespace

const View& view_of_instance(PyObject* self) {
  if (!nb::inst_ready(self)) {  // View.__new__(View) makes an instance with no C++ object
    throw TypeError("uninitialized nocopy.View; create views with nocopy.view()");
  }
  return *nb::inst_ptr<View>(self);
}

void set_view_type(PyTypeObject* type) {
  g_view_type = type;
}

PyObject* new_view_instance(View&& v) {
  nb::object inst = nb::inst_alloc(nb::handle(reinterpret_cast<PyObject*>(g_view_type)));
  new (nb::inst_ptr<View>(inst)) View(std::move(v));
  nb::inst_mark_ready(inst);
  return inst.release().ptr();
}

PyObject* view_subscript(PyObject* self, PyObject* key) {
  try {
    return new_view_instance(getitem(view_of_instance(self), key));
  } catch (...) {
    set_python_error(std::current_exception());
  }
  return nullptr;
}

}  // namespace nocopy::bindings
