// Translation of C++ exceptions to Python exceptions, in one place.
#include "nocopy/core/errors.hpp"

#include <utility>

#include "bindings.hpp"

namespace nocopy::bindings {
namespace {

/// The Python type nocopy.LoaderError (created once by bind_errors, never freed).
PyObject* g_loader_error = nullptr;

/// LoaderError(message) with .sample, .batch and .epoch set.
void set_loader_error(const LoaderError& e) {
  PyObject* exc = PyObject_CallFunction(g_loader_error, "s", e.what());
  if (exc == nullptr) return;
  const std::pair<const char*, int64_t> fields[] = {
      {"sample", e.sample()}, {"batch", e.batch()}, {"epoch", e.epoch()}};
  for (const auto& [name, value] : fields) {
    PyObject* v = PyLong_FromLongLong(value);
    if (v == nullptr || PyObject_SetAttrString(exc, name, v) != 0) {
      Py_XDECREF(v);
      Py_DECREF(exc);
      return;
    }
    Py_DECREF(v);
  }
  PyErr_SetObject(g_loader_error, exc);
  Py_DECREF(exc);
}

}  // namespace

void bind_errors(nb::module_& m) {
  g_loader_error = PyErr_NewExceptionWithDoc(
      "nocopy._nocopy.LoaderError",
      "Preparing a batch failed. .sample is the dataset index of the sample that failed, .batch "
      "the batch's position in its epoch and .epoch the epoch (None when not known).",
      PyExc_RuntimeError, nullptr);
  if (g_loader_error == nullptr) throw nb::python_error();
  for (const char* field : {"sample", "batch", "epoch"}) {
    if (PyObject_SetAttrString(g_loader_error, field, Py_None) != 0) throw nb::python_error();
  }
  m.attr("LoaderError") = nb::handle(g_loader_error);
  // Registered translators run newest first, before nanobind's defaults (which map
  // invalid_argument -> ValueError, out_of_range -> IndexError, overflow_error -> OverflowError).
  nb::register_exception_translator([](const std::exception_ptr& p, void*) {
    try {
      std::rethrow_exception(p);
    } catch (const nocopy::BufferError& e) {
      PyErr_SetString(PyExc_BufferError, e.what());
    } catch (const nocopy::TypeError& e) {
      PyErr_SetString(PyExc_TypeError, e.what());
    } catch (const nocopy::LoaderError& e) {
      set_loader_error(e);
    }
  });
}

}  // namespace nocopy::bindings
