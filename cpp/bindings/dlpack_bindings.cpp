// DLPack export of views to Python consumers: __dlpack__ and __dlpack_device__. Only argument
// parsing and PyCapsule wrapping happen here; the export policy (read-only refusal, copies,
// devices) is the core's export_for_consumer (dlpack_bridge.hpp).
#include <Python.h>

#include <cstdint>
#include <optional>
#include <string>

#include "bindings.hpp"
#include "nocopy/core/dlpack_bridge.hpp"
#include "nocopy/core/errors.hpp"

namespace nocopy::bindings {
namespace {

// A capsule nobody consumed still owns its tensor: release it.
void release_versioned(PyObject* capsule) {
  if (!PyCapsule_IsValid(capsule, "dltensor_versioned")) return;  // consumed (renamed)
  auto* m =
      static_cast<DLManagedTensorVersioned*>(PyCapsule_GetPointer(capsule, "dltensor_versioned"));
  if (m != nullptr && m->deleter != nullptr) m->deleter(m);
}

void release_legacy(PyObject* capsule) {
  if (!PyCapsule_IsValid(capsule, "dltensor")) return;
  auto* m = static_cast<DLManagedTensor*>(PyCapsule_GetPointer(capsule, "dltensor"));
  if (m != nullptr && m->deleter != nullptr) m->deleter(m);
}

// Wraps an exported tensor in the capsule its ABI names; the capsule owns it until consumed.
nb::object make_capsule(const DLPackExport& e) {
  PyObject* cap;
  if (e.versioned != nullptr) {
    cap = PyCapsule_New(e.versioned, "dltensor_versioned", release_versioned);
    if (cap == nullptr) e.versioned->deleter(e.versioned);
  } else {
    cap = PyCapsule_New(e.legacy, "dltensor", release_legacy);
    if (cap == nullptr) e.legacy->deleter(e.legacy);
  }
  if (cap == nullptr) throw nb::python_error();
  return nb::steal(cap);
}

// The copy argument: None, or a bool (Python's or NumPy's, as NumPy's own producer takes).
std::optional<bool> parse_copy(nb::handle copy) {
  if (copy.is_none()) return std::nullopt;
  if (is_bool_scalar(copy)) {
    const int truth = PyObject_IsTrue(copy.ptr());
    if (truth < 0) throw nb::python_error();
    return truth != 0;
  }
  throw TypeError("__dlpack__ copy must be True, False or None, got " +
                  std::string(Py_TYPE(copy.ptr())->tp_name) + " " + nb::repr(copy).c_str());
}

DLPackRequest parse_request(const View& v, nb::handle stream, nb::handle max_version,
                            nb::handle dl_device, nb::handle copy) {
  if (!stream.is_none() && v.device().is_cpu()) {
    throw std::invalid_argument("__dlpack__ stream must be None for host memory, got " +
                                std::string(nb::repr(stream).c_str()));
  }
  DLPackRequest request;
  if (!max_version.is_none()) {
    request.versioned = int64_tuple(max_version, "__dlpack__ max_version", 2)[0] >= 1;
  }
  if (!dl_device.is_none()) {
    const auto dev = int64_tuple(dl_device, "__dlpack__ dl_device", 2);
    if (dev[0] < INT32_MIN || dev[0] > INT32_MAX || dev[1] < INT32_MIN || dev[1] > INT32_MAX) {
      throw std::overflow_error("__dlpack__ dl_device " + std::string(nb::repr(dl_device).c_str()) +
                                " is out of the range of a DLPack device");
    }
    request.device = Device{static_cast<int32_t>(dev[0]), static_cast<int32_t>(dev[1])};
  }
  request.copy = parse_copy(copy);
  return request;
}

nb::object dlpack(nb::handle self, nb::handle stream, nb::handle max_version, nb::handle dl_device,
                  nb::handle copy) {
  const View& v = view_of_instance(self.ptr());
  const DLPackRequest request = parse_request(v, stream, max_version, dl_device, copy);
  DLPackExport exported;
  {
    nb::gil_scoped_release release;  // a copy may move many bytes; views hold their owners
    exported = export_for_consumer(v, request);
  }
  return make_capsule(exported);
}

}  // namespace

void bind_dlpack(nb::module_&, nb::class_<View>& cls) {
  cls.def("__dlpack__", &dlpack, nb::kw_only(), nb::arg("stream").none() = nb::none(),
          nb::arg("max_version").none() = nb::none(), nb::arg("dl_device").none() = nb::none(),
          nb::arg("copy").none() = nb::none(),
          "DLPack export (versioned when the consumer passes max_version >= (1, 0)). Raises "
          "BufferError for negative strides and for read-only views (torch ignores DLPack's "
          "read-only flag); copy=True exports a fresh copy (refused inside nc.no_copy()).");
  cls.def(
      "_immutable_consumer_capsule",
      [](const View& v) {
        DLPackExport e;
        e.legacy = export_for_immutable_consumer(v);
        return make_capsule(e);
      },
      "Legacy DLPack capsule for immutable-tensor frameworks (TensorFlow, JAX); internal.");
  cls.def("__dlpack_device__",
          [](const View& v) { return nb::make_tuple(v.device().type, v.device().id); });
}

}  // namespace nocopy::bindings
