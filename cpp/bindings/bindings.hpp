// Shared declarations of the nanobind module: one bind_* function per domain, each defined in
// its own file, and the conversions every domain needs (Python object <-> View).
#pragma once

#include <nanobind/nanobind.h>

#include <string>
#include <vector>

#include "nocopy/core/view.hpp"

namespace nocopy::bindings {

namespace nb = nanobind;

/// Registers exception translation (C++ -> Python) for the whole module.
void bind_errors(nb::module_& m);
/// Registers the View class: attributes, indexing, buffer protocol, DLPack export.
void bind_view(nb::module_& m);
/// Registers the copy kernels (copy, ascontiguous).
void bind_copy(nb::module_& m);
/// Registers DLPack export (__dlpack__, __dlpack_device__) on View and the import function.
void bind_dlpack(nb::module_& m, nb::class_<View>& cls);
/// Registers the buffer-protocol and DLPack import: the function `view(obj)`.
void bind_import(nb::module_& m);
/// Registers storage: shared arrays, memory-mapped .npy files, madvise, shm list/remove/gc.
void bind_storage(nb::module_& m);

/// Registers the loader's C++ core (_Loader), wrapped by nocopy.Loader.
void bind_loader(nb::module_& m);
/// Registers sliding windows, raw files and the sequence loader's core (_SequenceLoader).
void bind_sequence(nb::module_& m);
/// Registers the image-dataset index (_ImageSet) and the resampling kernel's test seam.
void bind_image_set(nb::module_& m);
/// Registers the JPEG decoder (jpeg_info, jpeg_decode, jpeg_available).
void bind_jpeg(nb::module_& m);

/// A Python tuple of ints, each multiplied by `scale` (shapes, strides in bytes).
nb::tuple int_tuple(const std::vector<int64_t>& values, int64_t scale = 1);

/// Any supported Python object (View, buffer-protocol object, __dlpack__ producer) as a View
/// sharing its memory; the Python object is kept alive by the view's owner. Never copies.
View view_from_object(nb::handle obj);

/// Owner that holds a reference to a Python object; its release takes the GIL and is skipped
/// once the interpreter is finalizing.
OwnerPtr python_owner(nb::handle obj);

/// Owner that holds an exported Py_buffer (taken over from `buffer`, which is left empty) and
/// releases it with the GIL.
OwnerPtr python_buffer_owner(Py_buffer* buffer);

/// The Python object whose memory a view uses (for View.base), or None when nocopy or a DLPack
/// producer owns it.
nb::object owner_object(const OwnerPtr& owner);

}  // namespace nocopy::bindings
