// Owners that keep Python objects (or their exported buffers) alive from C++.
#include <Python.h>

#include <cstring>

#include "bindings.hpp"

namespace nocopy::bindings {

bool interpreter_alive() noexcept {
#if PY_VERSION_HEX >= 0x030D0000
  return Py_IsInitialized() && !Py_IsFinalizing();
#else
  return Py_IsInitialized() && !_Py_IsFinalizing();
#endif
}

namespace {

// Holds a strong reference; the release may run on any thread, so it takes the GIL.
class PythonOwner final : public Owner {
 public:
  explicit PythonOwner(PyObject* obj) : obj_(obj) { Py_INCREF(obj_); }
  ~PythonOwner() override {
    if (!interpreter_alive()) return;  // the interpreter reclaims everything at exit
    PyGILState_STATE state = PyGILState_Ensure();
    Py_DECREF(obj_);
    PyGILState_Release(state);
  }
  std::string_view kind() const override { return "python"; }
  PyObject* object() const { return obj_; }

 private:
  PyObject* obj_;
};

// Holds a buffer export (which itself references the exporting object).
class BufferOwner final : public Owner {
 public:
  explicit BufferOwner(Py_buffer* buffer) {
    std::memcpy(&buffer_, buffer, sizeof(Py_buffer));
    std::memset(buffer, 0, sizeof(Py_buffer));
  }
  ~BufferOwner() override {
    if (!interpreter_alive()) return;
    PyGILState_STATE state = PyGILState_Ensure();
    PyBuffer_Release(&buffer_);
    PyGILState_Release(state);
  }
  std::string_view kind() const override { return "python"; }
  PyObject* object() const { return buffer_.obj; }

 private:
  Py_buffer buffer_;
};

}  // namespace

OwnerPtr python_owner(nb::handle obj) {
  return std::make_shared<PythonOwner>(obj.ptr());
}

OwnerPtr python_buffer_owner(Py_buffer* buffer) {
  return std::make_shared<BufferOwner>(buffer);
}

nb::object owner_object(const OwnerPtr& owner) {
  if (auto* p = dynamic_cast<const PythonOwner*>(owner.get())) return nb::borrow(p->object());
  if (auto* b = dynamic_cast<const BufferOwner*>(owner.get())) {
    if (b->object() != nullptr) return nb::borrow(b->object());
  }
  return nb::none();
}

}  // namespace nocopy::bindings
