// Shared declarations of the nanobind module: one bind_* function per domain, each defined in
// its own file, and the conversions every domain needs (Python object <-> View).
#pragma once

#include <nanobind/nanobind.h>

#include <cstdint>
#include <exception>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "nocopy/core/allocator.hpp"
#include "nocopy/core/errors.hpp"
#include "nocopy/core/option_spec.hpp"
#include "nocopy/core/view.hpp"
#include "nocopy/pipeline/ops/mix_batch.hpp"
#include "nocopy/pipeline/ops/transform_program.hpp"
#include "nocopy/pipeline/sampling/epoch_order.hpp"
#include "nocopy/pipeline/sources/image_source.hpp"
#include "nocopy/pipeline/sources/video_source.hpp"

namespace nocopy::bindings {

namespace nb = nanobind;

/// Registers exception translation (C++ -> Python) for the whole module and creates nocopy's
/// own exception types (CopyForbiddenError, LoaderError).
void bind_errors(nb::module_& m);
/// The one C++ -> Python exception translation: sets the Python error for `error`. Raw type
/// slots call it as `catch (...) { set_python_error(std::current_exception()); }`.
void set_python_error(const std::exception_ptr& error) noexcept;
/// Registers the View class: attributes, indexing, buffer protocol, DLPack export.
void bind_view(nb::module_& m);
/// Registers the copy kernels (copy, ascontiguous) and the per-thread copy policy.
void bind_copy(nb::module_& m);
/// Registers DLPack export (__dlpack__, __dlpack_device__) on View and the import function.
void bind_dlpack(nb::module_& m, nb::class_<View>& cls);
/// Registers the buffer-protocol and DLPack import: the function `view(obj)`.
void bind_import(nb::module_& m);
/// Registers storage: shared arrays, memory-mapped .npy files, madvise, shm list/remove/gc.
void bind_storage(nb::module_& m);

/// Registers the batch engine every loader's core derives from (_BatchEngine: position, epochs,
/// checkpoints, next, statistics) and the option tables (_option_specs).
void bind_engine(nb::module_& m);
/// Registers the image loader's C++ core (_Loader), wrapped by nocopy.Loader.
void bind_loader(nb::module_& m);
/// Registers sliding windows, raw files and the sequence loader's core (_SequenceLoader).
void bind_sequence(nb::module_& m);
/// Registers the image-dataset index (_ImageSet) and the resampling kernel's test seam.
void bind_image_set(nb::module_& m);
/// The VideoSet reader (nocopy.VideoSet): the validated folder index and its arrays.
void bind_video_set(nb::module_& m);
/// Registers the JPEG decoder (jpeg_info, jpeg_decode, jpeg_available).
void bind_jpeg(nb::module_& m);
/// Registers the video decoder's test seams (_video_probe, _video_decode).
void bind_video(nb::module_& m);
/// Registers sharded image and video datasets opened shard by shard (_ShardedImages,
/// _ShardedVideos).
void bind_shards(nb::module_& m);
/// The Python handle of a sharded image source (_ShardedImages): what the loader reads.
struct ShardedImages {
  ImageSourcePtr source;
  std::vector<int64_t> shard_sizes;
};
/// The Python handle of a sharded video source (_ShardedVideos): what the video loader reads.
struct ShardedVideos {
  VideoSourcePtr source;
};
/// The order of a loader's `mixture` argument, (sizes, weights, num_samples or None): its
/// datasets, of sizes[d] samples each (summing to `total`), mixed into epochs of num_samples
/// draws, each draw `per_sample` consecutive ids (a video's clips). std::invalid_argument for
/// sizes that do not add up or a bad weight or count.
SampleOrderPtr mixture_order_from(nb::handle mixture, int64_t total, int64_t per_sample,
                                  bool shuffle, uint64_t seed);
/// Registers the video loader's core (_VideoLoader).
void bind_video_loader(nb::module_& m);
/// nocopy.transforms' check seam (transform_bindings.cpp).
void bind_transforms(nb::module_& m);
/// The steps of a transforms pipeline from its Python form, a sequence of (name, dict) pairs.
std::vector<TransformStep> transform_steps_from(nb::handle steps);

/// The drawn parameters of `n` samples (`params`: `count` per sample, one after another) as
/// [(transform name, [(parameter, values per sample)])], in `program`'s step order.
nb::list transform_parameter_columns(const TransformProgram& program,
                                     const std::vector<double>& params, int64_t count, int64_t n);
/// Batch transforms from their Python form, (num_classes, [(name, alpha, weight), ...]).
BatchMixSpec batch_mix_from(nb::handle spec);
/// Registers the colour operators' test seam (_color_op).
void bind_color(nb::module_& m);
/// Registers the test seams of MixUp, CutMix, soft labels and the Beta draws (_mixup, ...).
void bind_mix(nb::module_& m);
/// Registers the affine warp's test seam (_affine_warp).
void bind_affine(nb::module_& m);

/// A Python tuple of ints, each multiplied by `scale` (shapes, strides in bytes).
nb::tuple int_tuple(const std::vector<int64_t>& values, int64_t scale = 1);

/// A Python int (or any object with __index__, bools excluded) as an int64. TypeError naming
/// `name` for other types, OverflowError naming `name` and the value when it does not fit.
int64_t int64_arg(nb::handle value, std::string_view name);

/// A non-negative Python int below 2**64 (a seed): TypeError naming `name` for other types,
/// ValueError below 0, OverflowError naming `name` and the value from 2**64 on.
uint64_t uint64_arg(nb::handle value, std::string_view name);

/// A sequence of ints (tuple, list, any iterable) as int64s, each converted like int64_arg;
/// a single int is a sequence of one when `allow_scalar`.
std::vector<int64_t> int64_args(nb::handle values, std::string_view name,
                                bool allow_scalar = false);

/// True for Python's bool and NumPy's bool scalar (numpy.bool / numpy.bool_).
bool is_bool_scalar(nb::handle value);

/// A tuple or list of exactly `size` ints (e.g. (major, minor)), each converted like int64_arg;
/// TypeError naming `name` for other types, ValueError for another length.
std::vector<int64_t> int64_tuple(nb::handle values, std::string_view name, size_t size);

/// The View inside a View instance; TypeError for an uninitialized one (View.__new__(View)).
const View& view_of_instance(PyObject* self);
/// Records the View type object (once, at module init) for new_view_instance.
void set_view_type(PyTypeObject* type);
/// A new Python View instance holding `v` (no argument dispatch: the hot path of indexing).
PyObject* new_view_instance(View&& v);

/// mp_subscript slot of View: v[key] with NumPy basic-indexing semantics.
PyObject* view_subscript(PyObject* self, PyObject* key);
/// bf_getbuffer slot of View (CPython's exporter rules; BufferError when it cannot comply).
int view_getbuffer(PyObject* self, Py_buffer* buf, int flags);
/// bf_releasebuffer slot of View.
void view_releasebuffer(PyObject* self, Py_buffer* buf);

/// Any supported Python object (View, buffer-protocol object, __dlpack__ producer) as a View
/// sharing its memory; the Python object is kept alive by the view's owner. Never copies.
View view_from_object(nb::handle obj);

/// Owner that holds a reference to a Python object; its release takes the GIL and is skipped
/// once the interpreter is finalizing.
OwnerPtr python_owner(nb::handle obj);

/// Owner that holds an exported Py_buffer (taken over from `buffer`, which is left empty) and
/// releases it with the GIL.
OwnerPtr python_buffer_owner(Py_buffer* buffer);

/// True while it is safe to touch Python objects (initialized and not finalizing).
bool interpreter_alive() noexcept;

/// Rethrows a Python exception caught in C++ (with the GIL held) as the matching C++ one, its
/// message kept: ValueError -> std::invalid_argument, TypeError, IndexError ->
/// std::out_of_range, OverflowError -> std::overflow_error, others std::runtime_error.
[[noreturn]] void rethrow_as_cpp(nb::python_error& e);

/// The loaders' batch-buffer allocator over a Python callable fn(nbytes) (allocator=,
/// pin_memory=), or null (the default heap) for None; TypeError when fn is not callable. A
/// callable whose `nocopy_device` attribute is "cuda_host" gives pinned host memory.
AllocatorPtr python_allocator(nb::handle fn);

/// A real number (int, float, NumPy scalar; not bool or str), or TypeError naming `name`;
/// OverflowError for an int too large for a double.
double double_arg(nb::handle value, std::string_view name);
/// A Python bool or NumPy bool, or TypeError naming `name` (1, "yes" and None are refused).
bool bool_arg(nb::handle value, std::string_view name);
/// A str, or TypeError naming `name`.
std::string str_arg(nb::handle value, std::string_view name);

/// A keyword argument parsed as a value of option kind `kind`: TypeError / OverflowError /
/// ValueError naming `name` when it is not one.
OptionValue option_value(OptionKind kind, nb::handle value, std::string_view name);

/// Options of a loader from keyword arguments: each keyword is one of `specs` (every option of
/// the loader); TypeError naming `loader` for any other.
template <class Options>
Options options_from(const nb::kwargs& kwargs, std::span<const OptionSpec<Options>> specs,
                     const char* loader) {
  Options options;
  for (auto [key, value] : kwargs) {
    const std::string name = nb::cast<std::string>(key);
    bool found = false;
    for (const OptionSpec<Options>& s : specs) {
      if (name == s.name) {
        s.set(options, option_value(s.kind, value, name));
        found = true;
      }
    }
    if (!found) {
      throw TypeError(std::string(loader) + " got an unexpected keyword argument '" + name + "'");
    }
  }
  return options;
}

/// fn() with the GIL released: for the loaders' methods that take a lock the consumer may hold
/// while it waits for the GIL (a Python allocator runs under that lock).
template <typename Fn>
auto without_gil(Fn&& fn) {
  nb::gil_scoped_release release;
  return fn();
}

/// The Python object whose memory a view uses (for View.base), or None when nocopy or a DLPack
/// producer owns it.
nb::object owner_object(const OwnerPtr& owner);

}  // namespace nocopy::bindings
