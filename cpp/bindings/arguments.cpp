// Python argument conversions every domain uses: ints and int sequences to int64 with errors
// that name the argument, and int64 vectors back to tuples.
#include <Python.h>

#include <string>
#include <vector>

#include "bindings.hpp"
#include "nocopy/core/errors.hpp"

namespace nocopy::bindings {

nb::tuple int_tuple(const std::vector<int64_t>& values, int64_t scale) {
  PyObject* t = PyTuple_New(static_cast<Py_ssize_t>(values.size()));
  if (t == nullptr) throw nb::python_error();
  for (size_t i = 0; i < values.size(); ++i) {
    PyObject* item = PyLong_FromLongLong(values[i] * scale);
    if (item == nullptr) {
      Py_DECREF(t);
      throw nb::python_error();
    }
    PyTuple_SET_ITEM(t, static_cast<Py_ssize_t>(i), item);
  }
  return nb::steal<nb::tuple>(t);
}

bool is_bool_scalar(nb::handle value) {
  if (PyBool_Check(value.ptr())) return true;
  const std::string_view type = Py_TYPE(value.ptr())->tp_name;
  return type == "numpy.bool" || type == "numpy.bool_";
}

int64_t int64_arg(nb::handle value, std::string_view name) {
  PyObject* v = value.ptr();
  if (is_bool_scalar(value) || !PyIndex_Check(v)) {
    throw TypeError(std::string(name) + " must be an integer, got " +
                    nb::type_name(value.type()).c_str());
  }
  nb::object index = nb::steal(PyNumber_Index(v));
  if (!index.is_valid()) throw nb::python_error();
  int overflow = 0;
  const long long out = PyLong_AsLongLongAndOverflow(index.ptr(), &overflow);
  if (overflow != 0) {
    throw std::overflow_error(std::string(name) + " " + nb::str(index).c_str() +
                              " does not fit in a 64-bit signed integer [-2**63, 2**63)");
  }
  if (out == -1 && PyErr_Occurred()) throw nb::python_error();
  return out;
}

uint64_t uint64_arg(nb::handle value, std::string_view name) {
  PyObject* v = value.ptr();
  if (is_bool_scalar(value) || !PyIndex_Check(v)) {
    throw TypeError(std::string(name) + " must be an integer, got " + nb::repr(value).c_str());
  }
  nb::object index = nb::steal(PyNumber_Index(v));
  if (!index.is_valid()) throw nb::python_error();
  if (PyObject_RichCompareBool(index.ptr(), nb::int_(0).ptr(), Py_LT) == 1) {
    throw std::invalid_argument(std::string(name) + " " + nb::repr(index).c_str() +
                                " must be >= 0");
  }
  const unsigned long long out = PyLong_AsUnsignedLongLong(index.ptr());
  if (out == static_cast<unsigned long long>(-1) && PyErr_Occurred()) {
    PyErr_Clear();
    throw std::overflow_error(std::string(name) + " " + nb::repr(index).c_str() +
                              " is above the limit 2**64 - 1");
  }
  return out;
}

std::vector<int64_t> int64_args(nb::handle values, std::string_view name, bool allow_scalar) {
  std::vector<int64_t> out;
  if (allow_scalar && PyIndex_Check(values.ptr()) && !is_bool_scalar(values)) {
    // An integer. A NumPy array has __index__ too, which fails unless it is a scalar: an
    // array of integers is read as the sequence it is.
    nb::object index = nb::steal(PyNumber_Index(values.ptr()));
    if (index.is_valid()) {
      out.push_back(int64_arg(index, name));
      return out;
    }
    PyErr_Clear();
  }
  PyObject* it = PyObject_GetIter(values.ptr());
  if (it == nullptr) {
    PyErr_Clear();
    throw TypeError(std::string(name) + " must be a sequence of integers, got " +
                    nb::type_name(values.type()).c_str());
  }
  nb::object iter = nb::steal(it);
  size_t i = 0;
  while (PyObject* item = PyIter_Next(it)) {
    nb::object held = nb::steal(item);
    out.push_back(int64_arg(held, std::string(name) + "[" + std::to_string(i++) + "]"));
  }
  if (PyErr_Occurred()) throw nb::python_error();
  return out;
}

std::vector<int64_t> int64_tuple(nb::handle values, std::string_view name, size_t size) {
  if (!PyTuple_Check(values.ptr()) && !PyList_Check(values.ptr())) {
    throw TypeError(std::string(name) + " must be a tuple of " + std::to_string(size) +
                    " integers, got " + nb::type_name(values.type()).c_str() + " " +
                    nb::repr(values).c_str());
  }
  std::vector<int64_t> out = int64_args(values, name);
  if (out.size() != size) {
    throw std::invalid_argument(std::string(name) + " must have " + std::to_string(size) +
                                " items, got " + nb::repr(values).c_str());
  }
  return out;
}

}  // namespace nocopy::bindings
