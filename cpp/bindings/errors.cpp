// Translation of C++ exceptions to Python exceptions, in one place: set_python_error() is the
// translator nanobind runs for every bound function, and the raw type slots (v[key], the buffer
// protocol) call it from their catch blocks. Also creates nocopy's own Python exception types.
#include "nocopy/core/errors.hpp"

#include <Python.h>
#include <nanobind/stl/string.h>

#include <map>
#include <new>
#include <string>
#include <system_error>
#include <typeinfo>

#include "bindings.hpp"

namespace nocopy::bindings {
namespace {

// The Python types of nocopy's own exceptions (created once by bind_errors, never freed).
PyObject* g_copy_forbidden_error = nullptr;
PyObject* g_loader_error = nullptr;

// OSError(errno, strerror[, filename]): Python picks the subclass from errno
// (FileNotFoundError, PermissionError, IsADirectoryError, ...).
void set_os_error(int err, const std::string& strerror, const std::string* filename) {
  PyObject* args =
      filename != nullptr
          ? Py_BuildValue("(isN)", err, strerror.c_str(),
                          PyUnicode_DecodeFSDefaultAndSize(
                              filename->data(), static_cast<Py_ssize_t>(filename->size())))
          : Py_BuildValue("(is)", err, strerror.c_str());
  if (args == nullptr) return;  // a Python error (MemoryError, decoding) is already set
  PyObject* exc = PyObject_Call(PyExc_OSError, args, nullptr);
  Py_DECREF(args);
  if (exc == nullptr) return;
  PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(exc)), exc);
  Py_DECREF(exc);
}

// The standard Python errors a LoaderError may also be, after its cause (a worker's
// ValueError stays catchable as ValueError). OSError is not among them: its instance layout
// cannot be combined with RuntimeError's, so those causes are only the __cause__.
PyObject* combinable_base(PyObject* cause_type) {
  for (PyObject* base : {PyExc_OverflowError, PyExc_ValueError, PyExc_IndexError, PyExc_TypeError,
                         PyExc_BufferError, PyExc_MemoryError}) {
    if (PyType_IsSubtype(reinterpret_cast<PyTypeObject*>(cause_type),
                         reinterpret_cast<PyTypeObject*>(base)) != 0) {
      return base;
    }
  }
  return nullptr;
}

// nocopy.LoaderError, or its subclass that is also `base` (made once per base, kept forever).
PyObject* loader_error_type(PyObject* base) {
  static std::map<PyObject*, PyObject*> made;
  if (base == nullptr) return g_loader_error;
  auto it = made.find(base);
  if (it != made.end()) return it->second;
  PyObject* bases = PyTuple_Pack(2, g_loader_error, base);
  if (bases == nullptr) return g_loader_error;
  PyObject* type = PyErr_NewException("nocopy.LoaderError", bases, nullptr);
  Py_DECREF(bases);
  if (type == nullptr) {
    PyErr_Clear();
    return g_loader_error;
  }
  made.emplace(base, type);
  return type;
}

// LoaderError(message) with .sample, .batch and .epoch set; when the sample failed with a C++
// exception, that exception (translated) is its __cause__ and, for the standard errors
// combinable_base names, also a base of its type.
void set_loader_error(const LoaderError& e) {
  PyObject* cause = nullptr;
  if (e.cause()) {
    set_python_error(e.cause());
    PyObject *type = nullptr, *value = nullptr, *traceback = nullptr;
    PyErr_Fetch(&type, &value, &traceback);
    PyErr_NormalizeException(&type, &value, &traceback);
    if (value != nullptr && traceback != nullptr) PyException_SetTraceback(value, traceback);
    Py_XDECREF(type);
    Py_XDECREF(traceback);
    cause = value;
  }
  PyObject* type = loader_error_type(
      cause != nullptr ? combinable_base(reinterpret_cast<PyObject*>(Py_TYPE(cause))) : nullptr);
  PyObject* exc = PyObject_CallFunction(type, "s", e.what());
  if (exc == nullptr) {
    Py_XDECREF(cause);
    return;
  }
  const std::pair<const char*, int64_t> fields[] = {
      {"sample", e.sample()}, {"batch", e.batch()}, {"epoch", e.epoch()}};
  for (const auto& [name, value] : fields) {
    PyObject* v = PyLong_FromLongLong(value);
    if (v == nullptr || PyObject_SetAttrString(exc, name, v) != 0) {
      Py_XDECREF(v);
      Py_XDECREF(cause);
      Py_DECREF(exc);
      return;
    }
    Py_DECREF(v);
  }
  if (cause != nullptr) PyException_SetCause(exc, cause);  // steals the reference
  PyErr_SetObject(type, exc);
  Py_DECREF(exc);
}

void set_builtin_error(const nb::builtin_exception& e) {
  PyObject* type = PyExc_RuntimeError;
  switch (e.type()) {
    case nb::exception_type::stop_iteration:
      type = PyExc_StopIteration;
      break;
    case nb::exception_type::index_error:
      type = PyExc_IndexError;
      break;
    case nb::exception_type::key_error:
      type = PyExc_KeyError;
      break;
    case nb::exception_type::value_error:
      type = PyExc_ValueError;
      break;
    case nb::exception_type::type_error:
      type = PyExc_TypeError;
      break;
    case nb::exception_type::buffer_error:
      type = PyExc_BufferError;
      break;
    case nb::exception_type::import_error:
      type = PyExc_ImportError;
      break;
    case nb::exception_type::attribute_error:
      type = PyExc_AttributeError;
      break;
    default:
      break;
  }
  PyErr_SetString(type, e.what());
}

// A new exception class nocopy.<name>(base) with a docstring, added to the module.
PyObject* new_exception_type(nb::module_& m, const char* name, PyObject* base, const char* doc) {
  const std::string qualified = std::string("nocopy.") + name;
  PyObject* type = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, base, nullptr);
  if (type == nullptr) throw nb::python_error();
  m.attr(name) = nb::borrow(type);  // the module keeps a reference; the global borrows it
  return type;
}

}  // namespace

void set_python_error(const std::exception_ptr& error) noexcept {
  try {
    std::rethrow_exception(error);
  } catch (nb::python_error& e) {
    e.restore();
  } catch (const nb::builtin_exception& e) {
    set_builtin_error(e);
  } catch (const CopyForbiddenError& e) {
    PyErr_SetString(g_copy_forbidden_error, e.what());
  } catch (const BufferError& e) {
    PyErr_SetString(PyExc_BufferError, e.what());
  } catch (const TypeError& e) {
    PyErr_SetString(PyExc_TypeError, e.what());
  } catch (const LoaderError& e) {
    set_loader_error(e);
  } catch (const FileError& e) {
    set_os_error(e.code().value(), e.action() + ": " + e.code().message(), &e.path());
  } catch (const std::system_error& e) {
    if (e.code().category() == std::generic_category() ||
        e.code().category() == std::system_category()) {
      set_os_error(e.code().value(), e.what(), nullptr);
    } else {
      PyErr_SetString(PyExc_RuntimeError, e.what());
    }
  } catch (const std::bad_alloc& e) {
    PyErr_SetString(PyExc_MemoryError, e.what());
  } catch (const std::bad_cast&) {  // nanobind's cast_error: an argument of the wrong type
    PyErr_SetString(PyExc_TypeError, "an argument has the wrong type for this operation");
  } catch (const std::out_of_range& e) {
    PyErr_SetString(PyExc_IndexError, e.what());
  } catch (const std::overflow_error& e) {
    PyErr_SetString(PyExc_OverflowError, e.what());
  } catch (const std::logic_error& e) {  // invalid_argument, domain_error, length_error
    PyErr_SetString(PyExc_ValueError, e.what());
  } catch (const std::range_error& e) {
    PyErr_SetString(PyExc_ValueError, e.what());
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_RuntimeError, e.what());
  } catch (...) {
    PyErr_SetString(PyExc_RuntimeError, "unknown C++ exception");
  }
}

void rethrow_as_cpp(nb::python_error& e) {
  const std::string message = e.what();
  if (e.matches(PyExc_ValueError)) throw std::invalid_argument(message);
  if (e.matches(PyExc_TypeError)) throw TypeError(message);
  if (e.matches(PyExc_IndexError)) throw std::out_of_range(message);
  if (e.matches(PyExc_OverflowError)) throw std::overflow_error(message);
  throw std::runtime_error(message);
}

void bind_errors(nb::module_& m) {
  g_copy_forbidden_error = new_exception_type(
      m, "CopyForbiddenError", PyExc_BufferError,
      "nocopy was asked to copy array data inside a `nc.no_copy()` block (on this thread). A "
      "BufferError, like the errors nocopy raises when sharing is impossible.");
  g_loader_error = new_exception_type(
      m, "LoaderError", PyExc_RuntimeError,
      "Preparing a batch failed. .sample is the dataset index of the sample that failed, .batch "
      "the batch's position in its epoch and .epoch the epoch (None when not known).");
  for (const char* field : {"sample", "batch", "epoch"}) {
    if (PyObject_SetAttrString(g_loader_error, field, Py_None) != 0) throw nb::python_error();
  }
  // Test seam: throws the C++ exception `kind` so tests can check its translation.
  m.def(
      "_raise_for_test",
      [](const std::string& kind, nb::handle path, int err) {
        if (kind == "file") {  // path: str, encoded like os.fsencode
          nb::object raw = nb::steal(PyUnicode_EncodeFSDefault(path.ptr()));
          if (!raw.is_valid()) throw nb::python_error();
          throw FileError(err, PyBytes_AsString(raw.ptr()), "cannot open test file");
        }
        if (kind == "system") throw std::system_error(err, std::generic_category(), "test");
        if (kind == "loader") throw LoaderError("sample 7 failed", 7, 3, 2);
        if (kind == "loader_overflow") {
          throw LoaderError("sample 7 failed: too big", 7, 3, 2,
                            std::make_exception_ptr(std::overflow_error("too big")));
        }
        if (kind == "loader_file") {
          throw LoaderError("sample 7 failed: gone", 7, 3, 2,
                            std::make_exception_ptr(FileError(2, "/gone", "cannot open")));
        }
        if (kind == "copy_forbidden") throw CopyForbiddenError("test copy");
        if (kind == "buffer") throw BufferError("test buffer");
        if (kind == "type") throw TypeError("test type");
        if (kind == "bad_cast") throw std::bad_cast();
        if (kind == "overflow") throw std::overflow_error("test overflow");
        if (kind == "bad_alloc") throw std::bad_alloc();
        throw std::runtime_error("test " + kind);
      },
      nb::arg("kind"), nb::arg("path") = "", nb::arg("err") = 0);
  // Registered translators run before nanobind's defaults; this one handles every exception.
  nb::register_exception_translator(
      [](const std::exception_ptr& p, void*) { set_python_error(p); });
}

}  // namespace nocopy::bindings
