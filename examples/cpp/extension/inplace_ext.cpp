// inplace_ext: a small Python extension that works in place on any array it is given.
//
// It accepts a nocopy View or any DLPack producer (a NumPy array, a torch tensor, a JAX array,
// anything with __dlpack__, or a raw DLPack capsule), takes the DLPack capsule itself, and
// wraps the tensor in a nocopy::View with nocopy::import_dlpack: no copy, and the producer's
// deleter runs exactly once, when the view is released. Capsules are the stable boundary
// between extensions: this module and nocopy's own module each link their own copy of the core.
#include <Python.h>
#include <nanobind/nanobind.h>

#include <cstdint>
#include <nocopy/core/dlpack_bridge.hpp>
#include <nocopy/core/errors.hpp>
#include <nocopy/core/view.hpp>
#include <string>

namespace nb = nanobind;

namespace {

std::string name_of_type(nb::handle obj) {
  return nb::type_name(obj.type()).c_str();
}

// The DLPack capsule of `obj`: `obj` itself when it is a capsule, else obj.__dlpack__(),
// asking for a versioned capsule (which carries the read-only flag) and falling back to the
// legacy call for producers older than DLPack 1.0.
nb::object dlpack_capsule(nb::handle obj) {
  if (PyCapsule_CheckExact(obj.ptr())) return nb::borrow(obj);
  if (!nb::hasattr(obj, "__dlpack__")) {
    throw nb::type_error(
        ("expected a nocopy View or an object with __dlpack__, got " + name_of_type(obj)).c_str());
  }
  try {
    return obj.attr("__dlpack__")(nb::arg("max_version") = nb::make_tuple(1, 1));
  } catch (nb::python_error& e) {
    if (!e.matches(PyExc_TypeError)) throw;  // producer without the max_version keyword
    return obj.attr("__dlpack__")();
  }
}

// A view of an array's memory and whether it came in a versioned capsule.
struct Imported {
  nocopy::View view;
  /// False for a legacy capsule, which has no read-only flag: nobody said it may be written.
  bool versioned;
};

// Consumes the capsule (renaming it "used_...", as the DLPack protocol requires, so its
// destructor no longer frees the tensor) and returns a view that owns the tensor.
Imported view_of(nb::handle obj) {
  nb::object capsule = dlpack_capsule(obj);
  PyObject* c = capsule.ptr();
  if (PyCapsule_IsValid(c, "dltensor_versioned")) {
    auto* t = static_cast<DLManagedTensorVersioned*>(PyCapsule_GetPointer(c, "dltensor_versioned"));
    PyCapsule_SetName(c, "used_dltensor_versioned");
    return {nocopy::import_dlpack(t), true};
  }
  if (PyCapsule_IsValid(c, "dltensor")) {
    auto* t = static_cast<DLManagedTensor*>(PyCapsule_GetPointer(c, "dltensor"));
    PyCapsule_SetName(c, "used_dltensor");
    return {nocopy::import_dlpack(t), false};
  }
  throw nb::type_error(
      ("__dlpack__ of " + name_of_type(obj) + " did not return an unused DLPack capsule").c_str());
}

// Refuses arrays the function cannot safely write: wrong dtype, device memory, read-only memory,
// memory whose producer could not say (a legacy capsule: JAX 0.10 sends one even when asked
// for DLPack 1.x, for immutable arrays), or elements that alias (a zero stride).
void require_writable_float32(const Imported& in, nb::handle obj, const char* what) {
  const nocopy::View& v = in.view;
  if (v.dtype() != nocopy::DType::Float32) {
    throw nocopy::TypeError(std::string(what) + ": expected a float32 array, got " +
                            std::string(nocopy::dtype_name(v.dtype())));
  }
  v.require_host(what);
  v.require_writable(what);
  if (!in.versioned) {
    throw nocopy::BufferError(std::string(what) + ": " + name_of_type(obj) +
                              " exported a legacy DLPack capsule, which cannot say whether its "
                              "memory may be written; only DLPack >= 1.0 producers are written");
  }
  for (int64_t axis = 0; axis < v.ndim(); ++axis) {
    const auto a = static_cast<size_t>(axis);
    if (v.shape()[a] > 1 && v.strides()[a] == 0) {
      throw std::invalid_argument(std::string(what) + ": axis " + std::to_string(axis) +
                                  " has stride 0 (a broadcast array), so its elements alias");
    }
  }
}

// Calls f(element) for every element of the strided array at `p`, axes from `axis` on.
template <class T, class F>
void for_each_element(T* p, const nocopy::View& v, int64_t axis, F& f) {
  if (axis == v.ndim()) {
    f(*p);
    return;
  }
  const auto a = static_cast<size_t>(axis);
  for (int64_t i = 0; i < v.shape()[a]; ++i)
    for_each_element(p + i * v.strides()[a], v, axis + 1, f);
}

void scale(nb::handle array, float factor) {
  const Imported in = view_of(array);
  require_writable_float32(in, array, "scale");
  const nocopy::View& v = in.view;
  nb::gil_scoped_release no_gil;  // pure C++ from here on; other Python threads may run
  auto multiply = [factor](float& x) { x *= factor; };
  for_each_element(v.data_as<float>(), v, 0, multiply);
}

double total(nb::handle array) {
  const nocopy::View v = view_of(array).view;
  if (v.dtype() != nocopy::DType::Float32) {
    throw nocopy::TypeError("total: expected a float32 array, got " +
                            std::string(nocopy::dtype_name(v.dtype())));
  }
  v.require_host("total");  // read-only views are fine: this only reads
  double sum = 0;
  auto add = [&sum](const float& x) { sum += x; };
  for_each_element(v.data_as<const float>(), v, 0, add);
  return sum;
}

}  // namespace

NB_MODULE(inplace_ext, m) {
  m.doc() = "Example third-party extension computing in place on nocopy views / DLPack arrays";
  // The core throws its own types where sharing is impossible; this module links its own copy of
  // the core, so it maps them itself (to subclasses of the Python types nocopy raises).
  nb::exception<nocopy::BufferError>(m, "BufferError", PyExc_BufferError);
  nb::exception<nocopy::TypeError>(m, "TypeError", PyExc_TypeError);
  m.def("scale", &scale, nb::arg("array"), nb::arg("factor"),
        "Multiplies a writable float32 array by `factor` in place, through its strides.\n\n"
        ">>> a = np.ones((2, 3), np.float32); inplace_ext.scale(a[:, ::2], 2.0); a[0]\n"
        "array([2., 1., 2.], dtype=float32)");
  m.def("total", &total, nb::arg("array"),
        "Sum of a float32 array (read-only arrays allowed), as a double.");
}
