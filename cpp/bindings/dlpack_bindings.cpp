// DLPack export of views to Python consumers: __dlpack__ and __dlpack_device__.
#include <Python.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>

#include <string>

#include "bindings.hpp"
#include "nocopy/core/copy.hpp"
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

nb::object make_capsule(const View& v, bool versioned, bool copied) {
  PyObject* cap;
  if (versioned) {
    DLManagedTensorVersioned* m = export_dlpack_versioned(v, copied);
    cap = PyCapsule_New(m, "dltensor_versioned", release_versioned);
    if (cap == nullptr) m->deleter(m);
  } else {
    DLManagedTensor* m = export_dlpack_legacy(v);
    cap = PyCapsule_New(m, "dltensor", release_legacy);
    if (cap == nullptr) m->deleter(m);
  }
  if (cap == nullptr) throw nb::python_error();
  return nb::steal(cap);
}

nb::object dlpack(nb::handle self, nb::handle stream, nb::handle max_version, nb::handle dl_device,
                  nb::handle copy) {
  const View& v = nb::cast<const View&>(self);
  if (!stream.is_none() && v.device().is_cpu()) {
    throw std::invalid_argument("stream must be None for host memory, got " +
                                std::string(nb::str(stream).c_str()));
  }
  if (!dl_device.is_none()) {
    auto dev = nb::cast<std::pair<int32_t, int32_t>>(dl_device);
    if (dev.first != v.device().type || dev.second != v.device().id) {
      throw BufferError("cannot export a view on " + v.device().str() + " to device (" +
                        std::to_string(dev.first) + ", " + std::to_string(dev.second) + ")");
    }
  }
  bool versioned = false;
  if (!max_version.is_none()) {
    versioned = nb::cast<int64_t>(max_version[0]) >= 1;
  }
  if (!copy.is_none() && nb::cast<bool>(copy)) {
    // The one explicit copy: a new C-contiguous array the consumer owns alone.
    View fresh;
    {
      nb::gil_scoped_release release;
      fresh = copy_new(v);
    }
    return make_capsule(fresh, versioned, true);
  }
  if (v.readonly()) {
    // DLPack 1.x carries a read-only flag, but torch (2.13) ignores it and hands out a writable
    // tensor: a write then corrupts read-only data or crashes on a read-only mapping. So no
    // read-only view leaves through __dlpack__ without an explicit copy.
    throw BufferError(
        "read-only views are not exported through __dlpack__: some consumers (torch) ignore "
        "DLPack's read-only flag and would write to them. Use np.asarray(v) (read-only array), "
        "v.to_tf() / v.to_jax() (immutable tensors), or __dlpack__(copy=True) / "
        "v.to_torch(copy=True) for a writable copy");
  }
  return make_capsule(v, versioned, false);
}

}  // namespace

void bind_dlpack(nb::module_&, nb::class_<View>& cls) {
  cls.def("__dlpack__", &dlpack, nb::kw_only(), nb::arg("stream").none() = nb::none(),
          nb::arg("max_version").none() = nb::none(), nb::arg("dl_device").none() = nb::none(),
          nb::arg("copy").none() = nb::none(),
          "DLPack export (versioned when the consumer passes max_version >= (1, 0)). Raises "
          "BufferError for negative strides and for read-only views (torch ignores DLPack's "
          "read-only flag); copy=True exports a fresh copy.");
  cls.def(
      "_immutable_consumer_capsule",
      [](const View& v) {
        // Only for consumers whose tensors are immutable (TensorFlow, JAX): they never write,
        // so a read-only view may be shared through a legacy capsule, which has no flag for it.
        View alias(v.data(), v.dtype(), v.shape(), v.strides(), v.owner(), false, v.device());
        return make_capsule(alias, false, false);
      },
      "Legacy DLPack capsule for immutable-tensor frameworks (TensorFlow, JAX); internal.");
  cls.def("__dlpack_device__",
          [](const View& v) { return nb::make_tuple(v.device().type, v.device().id); });
}

}  // namespace nocopy::bindings
