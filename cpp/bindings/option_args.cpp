// Python keyword arguments parsed into option values by the kind each option declares
// (OptionSpec, nocopy/pipeline/engine/option_spec.hpp): one conversion per kind, with errors
// that name the argument. No logic beyond conversion; the core checks the values.
#include <Python.h>

#include <array>
#include <string>

#include "bindings.hpp"

namespace nocopy::bindings {
namespace {

std::string repr_of(nb::handle v) {
  return nb::repr(v).c_str();
}

/// None, one number, or a sequence of numbers (list, tuple, 1-d array).
OptionValue reals_arg(nb::handle v, std::string_view name) {
  if (v.is_none()) return {};
  if (!PyBool_Check(v.ptr()) && (PyFloat_Check(v.ptr()) || PyLong_Check(v.ptr()) ||
                                 (PyNumber_Check(v.ptr()) && !PySequence_Check(v.ptr())))) {
    return std::vector<double>{double_arg(v, name)};
  }
  if (PyUnicode_Check(v.ptr()) || PyBytes_Check(v.ptr()) || !PySequence_Check(v.ptr())) {
    throw TypeError(std::string(name) + " must be None, a number or a sequence of numbers, got " +
                    repr_of(v));
  }
  std::vector<double> out;
  for (nb::handle item : v) out.push_back(double_arg(item, name));
  return out;
}

/// None, one int (a square), or a (height, width) pair of ints.
OptionValue crop_arg(nb::handle v, std::string_view name) {
  if (v.is_none()) return {};
  if (PyIndex_Check(v.ptr()) && !is_bool_scalar(v)) {
    const int64_t n = int64_arg(v, name);
    return std::array<int64_t, 2>{n, n};
  }
  if (PyUnicode_Check(v.ptr()) || !PySequence_Check(v.ptr()) || PySequence_Size(v.ptr()) != 2) {
    PyErr_Clear();
    throw TypeError(std::string(name) + " must be None, an int or a (height, width) pair, got " +
                    repr_of(v));
  }
  return std::array<int64_t, 2>{int64_arg(nb::borrow(v[0]), std::string(name) + " height"),
                                int64_arg(nb::borrow(v[1]), std::string(name) + " width")};
}

/// None or a (low, high) pair of numbers.
OptionValue range_arg(nb::handle v, std::string_view name) {
  if (v.is_none()) return {};
  if (PyUnicode_Check(v.ptr()) || !PySequence_Check(v.ptr()) || PySequence_Size(v.ptr()) != 2) {
    PyErr_Clear();
    throw TypeError(std::string(name) + " must be a (low, high) pair of numbers, got " +
                    repr_of(v));
  }
  return std::array<double, 2>{double_arg(nb::borrow(v[0]), name),
                               double_arg(nb::borrow(v[1]), name)};
}

}  // namespace

double double_arg(nb::handle v, std::string_view name) {
  if (is_bool_scalar(v) || PyUnicode_Check(v.ptr()) || PyBytes_Check(v.ptr())) {
    throw TypeError(std::string(name) + " must be a number, got " + repr_of(v));
  }
  const double d = PyFloat_AsDouble(v.ptr());
  if (d == -1.0 && PyErr_Occurred()) {
    // An int too large for a double is an OverflowError naming the argument; anything else
    // that is not a number a TypeError.
    const bool overflow = PyErr_ExceptionMatches(PyExc_OverflowError) != 0;
    PyErr_Clear();
    if (overflow) {
      throw std::overflow_error(std::string(name) + " " + repr_of(v) + " is too large for a float");
    }
    throw TypeError(std::string(name) + " must be a number, got " + repr_of(v));
  }
  return d;
}

bool bool_arg(nb::handle v, std::string_view name) {
  if (is_bool_scalar(v)) return PyObject_IsTrue(v.ptr()) == 1;
  throw TypeError(std::string(name) + " must be a bool, got " + repr_of(v));
}

std::string str_arg(nb::handle v, std::string_view name) {
  if (!PyUnicode_Check(v.ptr())) {
    throw TypeError(std::string(name) + " must be a str, got " + repr_of(v));
  }
  return nb::cast<std::string>(v);
}

OptionValue option_value(OptionKind kind, nb::handle v, std::string_view name) {
  switch (kind) {
    case OptionKind::Int:
      return int64_arg(v, name);
    case OptionKind::OptionalInt:
      return v.is_none() ? OptionValue() : OptionValue(int64_arg(v, name));
    case OptionKind::Bool:
      return bool_arg(v, name);
    case OptionKind::Real:
      return double_arg(v, name);
    case OptionKind::OptionalReal:
      return v.is_none() ? OptionValue() : OptionValue(double_arg(v, name));
    case OptionKind::Reals:
      return reals_arg(v, name);
    case OptionKind::OptionalRange:
      return range_arg(v, name);
    case OptionKind::Crop:
      return crop_arg(v, name);
    case OptionKind::Name:
      return str_arg(v, name);
    case OptionKind::OptionalName:
      if (v.is_none()) return {};
      if (!PyUnicode_Check(v.ptr())) {
        throw TypeError(std::string(name) + " must be a str or None, got " + repr_of(v));
      }
      return nb::cast<std::string>(v);
    case OptionKind::Seed:
      return uint64_arg(v, name);
    case OptionKind::Allocator:
      return python_allocator(v);
  }
  throw std::logic_error("unknown option kind");
}

}  // namespace nocopy::bindings
