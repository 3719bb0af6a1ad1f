// The buffer protocol of View (bf_getbuffer / bf_releasebuffer), following CPython's rules for
// exporters (those of memoryview and _testbuffer.ndarray, Lib/test/test_buffer.py): what the
// consumer did not ask for is left out (format, shape, strides), and a request the view cannot
// honour is a BufferError. PyBUF_FORMAT without PyBUF_ND is answered as array.array, bytearray
// and NumPy answer it (memoryview alone refuses it): the format, with no shape.
#include <Python.h>

#include <string>
#include <vector>

#include "bindings.hpp"
#include "nocopy/core/errors.hpp"

namespace nocopy::bindings {
namespace {

// Arrays a Py_buffer points into, kept until the consumer releases the buffer.
struct BufferExport {
  View view;
  std::vector<Py_ssize_t> shape;
  std::vector<Py_ssize_t> strides;
};

bool requested(int flags, int request) {
  return (flags & request) == request;
}

// Fills `buf` for `self` as `flags` ask, or throws BufferError saying why it cannot.
void fill_buffer(PyObject* self, const View& v, Py_buffer* buf, int flags) {
  if (!v.device().is_cpu())
    throw BufferError("view is on " + v.device().str() + ", not host memory");
  if (requested(flags, PyBUF_WRITABLE) && v.readonly()) {
    throw BufferError("view is read-only; a writable buffer was requested");
  }
  const bool want_format = requested(flags, PyBUF_FORMAT);
  const bool want_shape = requested(flags, PyBUF_ND);
  const bool want_strides = requested(flags, PyBUF_STRIDES);
  const std::string_view format = dtype_buffer_format(v.dtype());
  // Without a shape the consumer sees flat bytes, which every dtype has; with one, items must
  // have a format (a missing format means 'B', which would misdescribe them).
  if (format.empty() && (want_format || want_shape)) {
    throw BufferError(std::string(dtype_name(v.dtype())) +
                      " has no buffer-protocol format; use DLPack (torch.from_dlpack(v)) or "
                      "v.reinterpret('uint16')");
  }
  const bool c_contig = v.is_c_contiguous();
  const bool f_contig = v.is_f_contiguous();
  if (requested(flags, PyBUF_C_CONTIGUOUS) && !c_contig) {
    throw BufferError("view is not C-contiguous; use nc.ascontiguous(v) (a copy)");
  }
  if (requested(flags, PyBUF_F_CONTIGUOUS) && !f_contig) {
    throw BufferError("view is not Fortran-contiguous");
  }
  if (requested(flags, PyBUF_ANY_CONTIGUOUS) && !c_contig && !f_contig) {
    throw BufferError("view is not contiguous; use nc.ascontiguous(v) (a copy)");
  }
  if (!want_strides && !c_contig) {
    throw BufferError("view is not C-contiguous and the consumer did not ask for strides");
  }
  auto* ex = new BufferExport{v, {}, {}};
  const auto item = static_cast<Py_ssize_t>(v.itemsize());
  for (int64_t i = 0; i < v.ndim(); ++i) {
    ex->shape.push_back(static_cast<Py_ssize_t>(v.shape()[static_cast<size_t>(i)]));
    ex->strides.push_back(static_cast<Py_ssize_t>(v.strides()[static_cast<size_t>(i)]) * item);
  }
  buf->buf = v.data();
  buf->obj = Py_NewRef(self);
  buf->len = static_cast<Py_ssize_t>(v.nbytes());
  buf->readonly = v.readonly() ? 1 : 0;
  buf->itemsize = item;
  // Static storage: format strings come from a constant table and are NUL-terminated there.
  buf->format = want_format ? const_cast<char*>(format.data()) : nullptr;
  // No shape asked for: one flat axis (the view is C-contiguous here), of items in the view's
  // format when the format was asked for (PyBUF_FORMAT alone, as array.array answers it),
  // else of bytes.
  buf->ndim = want_shape ? static_cast<int>(v.ndim()) : 1;
  buf->shape = want_shape ? ex->shape.data() : nullptr;
  buf->strides = want_strides ? ex->strides.data() : nullptr;
  buf->suboffsets = nullptr;
  buf->internal = ex;
}

}  // namespace

int view_getbuffer(PyObject* self, Py_buffer* buf, int flags) {
  buf->obj = nullptr;
  try {
    fill_buffer(self, view_of_instance(self), buf, flags);
    return 0;
  } catch (...) {
    set_python_error(std::current_exception());
    return -1;
  }
}

void view_releasebuffer(PyObject*, Py_buffer* buf) {
  delete static_cast<BufferExport*>(buf->internal);
}

}  // namespace nocopy::bindings
