// Translation of C++ exceptions to Python exceptions, in one place.
#include "nocopy/core/errors.hpp"

#include <string>

#include "bindings.hpp"

namespace nocopy::bindings {
namespace {

// OSError(errno, strerror, filename): Python picks the subclass from errno
// (FileNotFoundError, PermissionError, IsADirectoryError, ...).
void set_os_error(int err, const std::string& strerror, const std::string& filename) {
  PyObject* name =
      PyUnicode_DecodeFSDefaultAndSize(filename.data(), static_cast<Py_ssize_t>(filename.size()));
  if (name == nullptr) return;
  PyObject* args = Py_BuildValue("(isN)", err, strerror.c_str(), name);
  if (args == nullptr) return;
  PyObject* exc = PyObject_Call(PyExc_OSError, args, nullptr);
  Py_DECREF(args);
  if (exc == nullptr) return;
  PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(exc)), exc);
  Py_DECREF(exc);
}

}  // namespace

void bind_errors(nb::module_&) {
  // Registered translators run newest first, before nanobind's defaults (which map
  // invalid_argument -> ValueError, out_of_range -> IndexError, overflow_error -> OverflowError).
  nb::register_exception_translator([](const std::exception_ptr& p, void*) {
    try {
      std::rethrow_exception(p);
    } catch (const nocopy::BufferError& e) {
      PyErr_SetString(PyExc_BufferError, e.what());
    } catch (const nocopy::TypeError& e) {
      PyErr_SetString(PyExc_TypeError, e.what());
    } catch (const nocopy::FileError& e) {
      set_os_error(e.code().value(), e.action() + ": " + e.code().message(), e.path());
    }
  });
}

}  // namespace nocopy::bindings
