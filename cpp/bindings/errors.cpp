// Translation of C++ exceptions to Python exceptions, in one place.
#include "nocopy/core/errors.hpp"

#include "bindings.hpp"

namespace nocopy::bindings {

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
    }
  });
}

}  // namespace nocopy::bindings
