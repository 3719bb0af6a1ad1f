// The loader's binding: nc.Loader's keyword arguments converted into the core's LoaderOptions
// (one table row per option; the core validates them), and next() with the GIL released while
// waiting (in short slices, so Ctrl-C interrupts a wait). No logic beyond argument conversion.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "bindings.hpp"
#include "nocopy/core/errors.hpp"
#include "nocopy/pipeline/producers/loader.hpp"
#include "nocopy/storage/image_set.hpp"

namespace nocopy::bindings {
namespace {

/// How long the consumer sleeps between checks for signals while waiting for a batch.
constexpr std::chrono::milliseconds kWaitSlice{50};

std::string repr_of(nb::handle v) {
  return nb::repr(v).c_str();
}

/// A real number (int, float, NumPy scalar; not bool or str), or TypeError naming `name`.
double double_arg(nb::handle v, const char* name) {
  if (is_bool_scalar(v) || PyUnicode_Check(v.ptr()) || PyBytes_Check(v.ptr())) {
    throw TypeError(std::string(name) + " must be a number, got " + repr_of(v));
  }
  const double d = PyFloat_AsDouble(v.ptr());
  if (d == -1.0 && PyErr_Occurred()) {
    // An int too large for a double is an OverflowError naming the argument; anything else
    // that is not a number a TypeError.
    const bool overflow = PyErr_ExceptionMatches(PyExc_OverflowError) != 0;
    PyErr_Clear();
    if (overflow) {
      throw std::overflow_error(std::string(name) + " " + repr_of(v) + " is too large for a float");
    }
    throw TypeError(std::string(name) + " must be a number, got " + repr_of(v));
  }
  return d;
}

/// A Python bool or NumPy bool, or TypeError naming `name` (1, "yes" and None are refused).
bool bool_arg(nb::handle v, const char* name) {
  const char* type = Py_TYPE(v.ptr())->tp_name;
  if (PyBool_Check(v.ptr()) || std::strcmp(type, "numpy.bool") == 0 ||
      std::strcmp(type, "numpy.bool_") == 0) {
    return PyObject_IsTrue(v.ptr()) == 1;
  }
  throw TypeError(std::string(name) + " must be a bool, got " + repr_of(v));
}

/// A str, or TypeError naming `name`.
std::string str_arg(nb::handle v, const char* name) {
  if (!PyUnicode_Check(v.ptr())) {
    throw TypeError(std::string(name) + " must be a str, got " + repr_of(v));
  }
  return nb::cast<std::string>(v);
}

/// None, one number, or a sequence of numbers (list, tuple, 1-d array).
std::optional<std::vector<double>> doubles_arg(nb::handle v, const char* name) {
  if (v.is_none()) return std::nullopt;
  if (!PyBool_Check(v.ptr()) && (PyFloat_Check(v.ptr()) || PyLong_Check(v.ptr()) ||
                                 (PyNumber_Check(v.ptr()) && !PySequence_Check(v.ptr())))) {
    return std::vector<double>{double_arg(v, name)};
  }
  if (PyUnicode_Check(v.ptr()) || PyBytes_Check(v.ptr()) || !PySequence_Check(v.ptr())) {
    throw TypeError(std::string(name) + " must be None, a number or a sequence of numbers, got " +
                    repr_of(v));
  }
  std::vector<double> out;
  for (nb::handle item : v) out.push_back(double_arg(item, name));
  return out;
}

/// None, one int (a square), or a (height, width) pair of ints.
std::optional<std::array<int64_t, 2>> crop_arg(nb::handle v) {
  if (v.is_none()) return std::nullopt;
  if (PyIndex_Check(v.ptr()) && !PyBool_Check(v.ptr())) {
    const int64_t n = int64_arg(v, "crop");
    return std::array<int64_t, 2>{n, n};
  }
  if (PyUnicode_Check(v.ptr()) || !PySequence_Check(v.ptr()) || PySequence_Size(v.ptr()) != 2) {
    PyErr_Clear();
    throw TypeError("crop must be None, an int or a (height, width) pair, got " + repr_of(v));
  }
  return std::array<int64_t, 2>{int64_arg(nb::borrow(v[0]), "crop height"),
                                int64_arg(nb::borrow(v[1]), "crop width")};
}

/// A (low, high) pair of numbers (area, ratio), None for the default, or TypeError naming
/// `name`.
std::optional<std::array<double, 2>> range_arg(nb::handle v, const char* name) {
  if (v.is_none()) return std::nullopt;
  if (PyUnicode_Check(v.ptr()) || !PySequence_Check(v.ptr()) || PySequence_Size(v.ptr()) != 2) {
    PyErr_Clear();
    throw TypeError(std::string(name) + " must be a (low, high) pair of numbers, got " +
                    repr_of(v));
  }
  return std::array<double, 2>{double_arg(nb::borrow(v[0]), name),
                               double_arg(nb::borrow(v[1]), name)};
}

/// One keyword argument of nc.Loader: its name and how it lands in LoaderOptions.
struct OptionField {
  const char* name;
  void (*set)(LoaderOptions& o, nb::handle value);
};

/// Every option, by the name Python users pass; the core checks the values.
const OptionField kOptionFields[] = {
    {"batch_size",
     [](LoaderOptions& o, nb::handle v) { o.batch_size = int64_arg(v, "batch_size"); }},
    {"crop", [](LoaderOptions& o, nb::handle v) { o.crop = crop_arg(v); }},
    {"crop_mode", [](LoaderOptions& o,
                     nb::handle v) { o.crop_mode = crop_mode_from_name(str_arg(v, "crop_mode")); }},
    {"area", [](LoaderOptions& o, nb::handle v) { o.area = range_arg(v, "area"); }},
    {"ratio", [](LoaderOptions& o, nb::handle v) { o.ratio = range_arg(v, "ratio"); }},
    {"resize",
     [](LoaderOptions& o, nb::handle v) {
       o.resize = v.is_none() ? std::nullopt : std::optional<int64_t>(int64_arg(v, "resize"));
     }},
    {"interpolation",
     [](LoaderOptions& o, nb::handle v) {
       o.interpolation = interpolation_from_string(str_arg(v, "interpolation"));
     }},
    {"mirror", [](LoaderOptions& o, nb::handle v) { o.mirror = double_arg(v, "mirror"); }},
    {"mean", [](LoaderOptions& o, nb::handle v) { o.mean = doubles_arg(v, "mean"); }},
    {"std", [](LoaderOptions& o, nb::handle v) { o.std = doubles_arg(v, "std"); }},
    {"scale",
     [](LoaderOptions& o, nb::handle v) {
       o.scale = v.is_none() ? std::nullopt : std::optional<double>(double_arg(v, "scale"));
     }},
    {"layout",
     [](LoaderOptions& o, nb::handle v) { o.layout = layout_from_name(str_arg(v, "layout")); }},
    {"dtype",
     [](LoaderOptions& o, nb::handle v) { o.dtype = dtype_from_name(str_arg(v, "dtype")); }},
    {"shuffle", [](LoaderOptions& o, nb::handle v) { o.shuffle = bool_arg(v, "shuffle"); }},
    {"seed", [](LoaderOptions& o, nb::handle v) { o.seed = uint64_arg(v, "seed"); }},
    {"drop_last", [](LoaderOptions& o, nb::handle v) { o.drop_last = bool_arg(v, "drop_last"); }},
    {"num_threads",
     [](LoaderOptions& o, nb::handle v) {
       o.num_threads =
           v.is_none() ? std::nullopt : std::optional<int64_t>(int64_arg(v, "num_threads"));
     }},
    {"prefetch", [](LoaderOptions& o, nb::handle v) { o.prefetch = int64_arg(v, "prefetch"); }},
    {"allocator", [](LoaderOptions& o, nb::handle v) { o.allocator = python_allocator(v); }},
    {"rank", [](LoaderOptions& o, nb::handle v) { o.rank = int64_arg(v, "rank"); }},
    {"world_size",
     [](LoaderOptions& o, nb::handle v) { o.world_size = int64_arg(v, "world_size"); }},
    {"on_error", [](LoaderOptions& o,
                    nb::handle v) { o.on_error = on_error_from_name(str_arg(v, "on_error")); }},
    {"decode_scale",
     [](LoaderOptions& o, nb::handle v) {
       o.decode_scale = decode_scale_from_name(str_arg(v, "decode_scale"));
     }},
};

/// LoaderOptions from keyword arguments (defaults for the ones not passed).
LoaderOptions options_from(const nb::kwargs& kwargs) {
  LoaderOptions o;
  for (auto [key, value] : kwargs) {
    const std::string name = nb::cast<std::string>(key);
    const OptionField* field = nullptr;
    for (const OptionField& f : kOptionFields) {
      if (name == f.name) field = &f;
    }
    if (field == nullptr) {
      throw TypeError("Loader got an unexpected keyword argument '" + name + "'");
    }
    field->set(o, value);
  }
  return o;
}

/// The next batch as (images, labels or None, epoch, index); waits without the GIL.
nb::tuple next_batch(Loader& loader) {
  Batch b;
  for (;;) {
    NextStatus s;
    {
      nb::gil_scoped_release release;
      s = loader.next(b, kWaitSlice);
    }
    if (s == NextStatus::Ready) break;
    if (PyErr_CheckSignals() != 0) throw nb::python_error();
  }
  nb::object labels = b.labels ? nb::cast(std::move(*b.labels)) : nb::none();
  return nb::make_tuple(nb::cast(std::move(b.images)), labels, b.epoch, b.index);
}

/// The plan as (indices, top, left, mirror, height, width) lists.
std::tuple<std::vector<int64_t>, std::vector<int64_t>, std::vector<int64_t>, std::vector<bool>,
           std::vector<int64_t>, std::vector<int64_t>>
plan_lists(BatchPlan p) {
  std::vector<bool> mirror(p.mirror.begin(), p.mirror.end());
  return {std::move(p.indices), std::move(p.top),    std::move(p.left),
          std::move(mirror),    std::move(p.height), std::move(p.width)};
}

}  // namespace

void bind_loader(nb::module_& m) {
  nb::class_<Loader>(m, "_Loader", "C++ core of nocopy.Loader (use nocopy.Loader)")
      .def(
          "__init__",
          [](Loader* self, nb::handle images, nb::handle labels, nb::kwargs options) {
            const LoaderOptions o = options_from(options);
            std::optional<View> label_view;
            if (!labels.is_none()) label_view = view_from_object(labels);
            if (nb::isinstance<ImageSet>(images)) {
              new (self) Loader(ImageSource(nb::cast<ImageSet>(images)), std::move(label_view), o);
            } else {
              new (self) Loader(view_from_object(images), std::move(label_view), o);
            }
          },
          nb::arg("images"), nb::arg("labels").none(), nb::arg("options"),
          "images (an array or an _ImageSet), labels, then nc.Loader's options as keyword "
          "arguments.")
      .def("__len__", &Loader::num_batches, "Batches per epoch on this rank.")
      .def_prop_ro("num_threads", &Loader::num_threads, "Worker threads running.")
      .def_prop_ro("samples_per_rank", &Loader::samples_per_rank, "Samples per epoch here.")
      .def_prop_ro("buffers_allocated", &Loader::buffers_allocated,
                   "Batch buffers the loader's pool holds (in flight, held by users, spare).")
      .def_prop_ro("buffer_bytes", &Loader::buffer_bytes,
                   "Bytes of one batch buffer (the largest batch that can occur).")
      .def_prop_ro(
          "sample_shape", [](const Loader& l) { return int_tuple(l.config().sample_shape); },
          "Shape of one output sample: (C, h, w) or (h, w, C).")
      .def_prop_ro(
          "resume_key",
          [](const Loader& l) {
            const SamplerConfig& s = l.config().sampler;
            nb::dict d;
            d["seed"] = s.seed;
            d["num_samples"] = s.num_samples;
            d["batch_size"] = s.batch_size;
            d["world_size"] = s.world_size;
            d["rank"] = s.rank;
            d["shuffle"] = s.shuffle;
            d["drop_last"] = s.drop_last;
            return d;
          },
          "The configuration a saved position depends on (resuming needs the same).")
      .def(
          "state",
          [](const Loader& l) {
            const LoaderState s = without_gil([&] { return l.state(); });
            return std::make_tuple(s.epoch, s.batch, s.start);
          },
          "(epoch, index, start) of the next batch (start: the epoch's first global position).")
      .def_prop_ro(
          "global_position",
          [](const Loader& l) { return without_gil([&] { return l.global_position(); }); },
          "Samples of the epoch order all ranks have consumed before the next batch.")
      .def_prop_ro(
          "state_epoch_batches",
          [](const Loader& l) { return without_gil([&] { return l.state_epoch_batches(); }); },
          "Batches of the epoch the next batch belongs to, counted from its start.")
      .def(
          "load_state",
          [](Loader& l, nb::handle epoch, nb::handle batch, nb::handle start) {
            const LoaderState s{int64_arg(epoch, "epoch"), int64_arg(batch, "batch"),
                                int64_arg(start, "start")};
            nb::gil_scoped_release release;  // may wait for a running chunk to notice
            l.load_state(s);
          },
          nb::arg("epoch"), nb::arg("batch"), nb::arg("start") = 0,
          "Moves to (epoch, batch) of an epoch starting at global position `start`; drops work "
          "in flight.")
      .def(
          "plan",
          [](const Loader& l, nb::handle b, nb::handle epoch) {
            const int64_t index = int64_arg(b, "batch");
            if (epoch.is_none()) return plan_lists(without_gil([&] { return l.plan(index); }));
            const int64_t e = int64_arg(epoch, "epoch");
            return plan_lists(without_gil([&] { return l.plan(index, e); }));
          },
          nb::arg("batch"), nb::arg("epoch").none() = nb::none(),
          "(indices, top, left, mirror, height, width) lists of batch `batch` of `epoch` "
          "(default: current).")
      .def_prop_ro(
          "num_skipped",
          [](const Loader& l) { return without_gil([&] { return l.num_skipped(); }); },
          "Samples replaced by a substitute (on_error='skip') so far.")
      .def_prop_ro(
          "skipped_samples",
          [](const Loader& l) { return without_gil([&] { return l.skipped_samples(); }); },
          "Distinct dataset indices of the samples skipped so far, ascending.")
      .def("_inject_fault", &inject_loader_fault_for_testing, nb::arg("sample"),
           "Test seam: workers fail when they reach dataset index `sample` (-1: never).")
      .def("next", &next_batch,
           "(images View, labels View or None, epoch, index) of the next batch; waits for it "
           "with the GIL released, raising KeyboardInterrupt on Ctrl-C.");
}

}  // namespace nocopy::bindings
