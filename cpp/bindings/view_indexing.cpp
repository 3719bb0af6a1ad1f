// v[key]: a Python index (int, slice, ..., None, or a tuple of them) parsed into IndexItems and
// applied by View::index, in the raw mp_subscript slot (indexing is the hottest call). Errors
// come in NumPy's order and types: an item that is no index (IndexError), then an advanced
// index (NumPy copies; here a TypeError), then slice bounds and geometry, item by item.
#include <Python.h>

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bindings.hpp"
#include "nocopy/core/errors.hpp"

namespace nocopy::bindings {
namespace {

// The View type object, for building result instances without a type lookup.
PyTypeObject* g_view_type = nullptr;

// True when the type of `item` is or derives from the class named `name` (e.g. "numpy.ndarray"),
// known without importing its module.
bool derives_from(PyObject* item, std::string_view name) {
  PyObject* mro = Py_TYPE(item)->tp_mro;
  for (Py_ssize_t i = 0; mro != nullptr && i < PyTuple_GET_SIZE(mro); ++i) {
    if (reinterpret_cast<PyTypeObject*>(PyTuple_GET_ITEM(mro, i))->tp_name == name) return true;
  }
  return false;
}

// True when `item` is a NumPy ndarray (or a subclass). NumPy's type is looked up once numpy is
// imported (no ndarray can exist before), then checked by pointer: integer indices pass here.
bool is_ndarray(PyObject* item) {
  static PyTypeObject* ndarray = nullptr;  // a reference kept for the process's life
  if (ndarray == nullptr) {
    nb::object numpy = nb::steal(PyImport_GetModule(nb::str("numpy").ptr()));
    if (!numpy.is_valid()) {
      PyErr_Clear();
      return false;
    }
    PyObject* type = PyObject_GetAttrString(numpy.ptr(), "ndarray");
    if (type == nullptr || !PyType_Check(type)) {
      Py_XDECREF(type);
      PyErr_Clear();
      return derives_from(item, "numpy.ndarray");
    }
    ndarray = reinterpret_cast<PyTypeObject*>(type);
  }
  return PyObject_TypeCheck(item, ndarray);
}

// What NumPy turns into an index array, or nullptr: "an array" of any dimension (a 0-d View, a
// buffer, anything with __array__ or __dlpack__) or "a sequence" (list, tuple, range, ...).
// Mappings are neither.
const char* array_like_kind(PyObject* item) {
  if (PyObject_HasAttrString(item, "ndim") || PyObject_CheckBuffer(item) ||
      PyObject_HasAttrString(item, "__array__") || PyObject_HasAttrString(item, "__dlpack__")) {
    return "an array";
  }
  return PySequence_Check(item) ? "a sequence" : nullptr;
}

// NumPy's answer to v[0.0], v['x'], v[object()], v[np.float64(1)]: not an index at all.
std::out_of_range invalid_index(PyObject* item) {
  return std::out_of_range(
      "only integers, slices (`:`), ellipsis (`...`) and numpy.newaxis (`None`) are valid view "
      "indices; got " +
      std::string(Py_TYPE(item)->tp_name));
}

// One element of a Python index tuple as an IndexItem, classified in NumPy's order. A slice
// comes back as a full-slice placeholder: its bounds are read after every item is classified,
// as NumPy does. An advanced index, where NumPy copies, sets `*advanced` (what it is) and
// returns a placeholder, so that a later item that is no index at all still raises IndexError:
//   bools (a mask that adds an axis), every ndarray (NumPy copies even for a 0-d integer
//   array; views do not look at the dtype, where NumPy refuses floats with an IndexError), and
//   every other array-like or sequence that does not convert with __index__.
// Integers are Python ints and whatever else converts with __index__ (NumPy integer scalars,
// torch's one-element tensors), as NumPy takes them.
IndexItem classify_index_item(PyObject* item, const char** advanced) {
  if (item == Py_Ellipsis) return IndexItem::ellipsis();
  if (item == Py_None) return IndexItem::new_axis();
  if (PySlice_Check(item)) return IndexItem::slice(std::nullopt, std::nullopt);
  const char* kind = nullptr;
  if (is_bool_scalar(nb::handle(item))) {
    kind = "a bool";
  } else if (!PyLong_CheckExact(item) && is_ndarray(item)) {
    kind = "an array";
  } else if (PyLong_Check(item) || PyIndex_Check(item)) {
    Py_ssize_t i = PyNumber_AsSsize_t(item, PyExc_IndexError);
    if (i != -1 || !PyErr_Occurred()) return IndexItem::integer(i);
    // A tensor of several elements defines __index__ but does not convert: classified below.
    if (!PyErr_ExceptionMatches(PyExc_TypeError)) throw nb::python_error();
    PyErr_Clear();
  }
  if (kind == nullptr) {
    const bool scalar =
        PyUnicode_Check(item) || PyBytes_Check(item) || derives_from(item, "numpy.generic");
    kind = scalar ? nullptr : array_like_kind(item);
    if (kind == nullptr) throw invalid_index(item);
  }
  if (*advanced == nullptr) *advanced = kind;
  return IndexItem::new_axis();
}

// The TypeError for an advanced index (`kind` as classify_index_item names it).
TypeError advanced_index_error(const char* kind) {
  return TypeError(
      std::string("advanced indexing is not supported: ") + kind +
      " index selects a copy; views support basic indexing only (integers, slices, ..., None). "
      "Use np.asarray(v)[...] to copy explicitly");
}

// Reads the bounds of the slice `items[k]` stands for. When they are not integers (TypeError)
// or the step is zero (ValueError), NumPy first reports any error of the items before it
// (an index out of bounds, too many indices), so those are checked before it is raised.
void unpack_slice(const View& self, std::span<IndexItem> items, size_t k, PyObject* slice) {
  Py_ssize_t start, stop, step;
  if (PySlice_Unpack(slice, &start, &stop, &step) == 0) {
    // Omitted bounds come back as PY_SSIZE_T_MIN / MAX, which resolve_slice clamps.
    items[k] = IndexItem::slice(start, stop, step);
    return;
  }
  nb::python_error error;  // takes the slice's error
  // The same key with this slice and everything after it made harmless: full slices consume
  // the same axes, so only the items before it can fail.
  std::vector<IndexItem> earlier(items.begin(), items.end());
  for (size_t j = k; j < earlier.size(); ++j) {
    if (earlier[j].kind == IndexItem::Kind::Integer || earlier[j].kind == IndexItem::Kind::Slice)
      earlier[j] = IndexItem::slice(std::nullopt, std::nullopt);
  }
  (void)self.index(earlier);
  throw error;
}

View getitem(const View& self, PyObject* key) {
  const bool is_tuple = PyTuple_Check(key);
  const Py_ssize_t n = is_tuple ? PyTuple_GET_SIZE(key) : 1;
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
  const std::span<IndexItem> all(items, static_cast<size_t>(n));
  // First every item's kind (NumPy's order: an item that is no index is an IndexError even
  // after an advanced one), then the slices' bounds, then the geometry in View::index.
  const char* advanced = nullptr;
  for (Py_ssize_t i = 0; i < n; ++i) {
    items[i] = classify_index_item(is_tuple ? PyTuple_GET_ITEM(key, i) : key, &advanced);
  }
  if (advanced != nullptr) throw advanced_index_error(advanced);
  for (Py_ssize_t i = 0; i < n; ++i) {
    PyObject* item = is_tuple ? PyTuple_GET_ITEM(key, i) : key;
    if (PySlice_Check(item)) unpack_slice(self, all, static_cast<size_t>(i), item);
  }
  return self.index(all);
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
