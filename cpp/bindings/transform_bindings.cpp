// The transforms pipeline's binding: nocopy.transforms' steps, each a (name, arguments dict)
// pair built by the Python classes, turned into TransformSteps (the C++ core checks them), and
// the check seam the classes call when they are constructed.
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <limits>
#include <stdexcept>
#include <string>

#include "bindings.hpp"
#include "nocopy/pipeline/ops/mix_batch.hpp"
#include "nocopy/pipeline/ops/transform_program.hpp"

namespace nocopy::bindings {

namespace {

/// The C++ side of nocopy.transforms.Lambda: `run` (the Python wrapper, called as run(memoryview,
/// height, width, channels)) with the GIL, on a writable memoryview of the sample's image. A
/// Python exception fails the sample with the matching C++ exception (rethrow_as_cpp).
std::shared_ptr<const SampleFunction> python_sample_function(nb::handle run) {
  if (!PyCallable_Check(run.ptr())) throw TypeError("Lambda's function must be callable");
  OwnerPtr owner = python_owner(run);
  PyObject* callable = run.ptr();
  return std::make_shared<const SampleFunction>(
      [owner, callable](uint8_t* data, int64_t height, int64_t width, int64_t channels) {
        if (!interpreter_alive()) throw std::runtime_error("Lambda: the interpreter is exiting");
        nb::gil_scoped_acquire gil;
        try {
          nb::object view = nb::steal(PyMemoryView_FromMemory(
              reinterpret_cast<char*>(data), height * width * channels, PyBUF_WRITE));
          if (!view.is_valid()) throw nb::python_error();
          const nb::handle run_fn(callable);
          run_fn(view, height, width, channels);
        } catch (nb::python_error& e) {
          rethrow_as_cpp(e);
        }
      });
}

/// The arguments of a step, by name; every key of the dict is one of the fields below.
TransformStep step_from(nb::handle name_obj, nb::handle args_obj) {
  const std::string name = str_arg(name_obj, "transform name");
  if (!nb::isinstance<nb::dict>(args_obj)) throw TypeError(name + " arguments must be a dict");
  TransformStep s;
  s.kind = step_kind_from_name(name);
  const nb::dict args = nb::borrow<nb::dict>(args_obj);
  for (auto [key, value] : args) {
    const std::string k = nb::cast<std::string>(key);
    const std::string what = name + " " + k;
    auto pair = [&](std::array<double, 2>& out) {
      const std::vector<int64_t> unused;
      nb::sequence seq = nb::borrow<nb::sequence>(value);
      if (nb::len(seq) != 2) throw std::invalid_argument(what + " must have 2 values");
      out = {double_arg(seq[0], what), double_arg(seq[1], what)};
    };
    auto reals = [&](std::vector<double>& out) {
      out.clear();
      for (nb::handle item : value) out.push_back(double_arg(item, what));
    };
    if (k == "size") {
      const std::vector<int64_t> v = int64_args(value, what);
      if (v.size() != 1 && v.size() != 2) throw std::invalid_argument(what + " needs 1 or 2 ints");
      s.size = {v[0], v.size() == 2 ? v[1] : -1};
    } else if (k == "max_size") {
      s.max_size = value.is_none() ? 0 : int64_arg(value, what);
    } else if (k == "scale") {
      pair(s.scale);
    } else if (k == "ratio") {
      pair(s.ratio);
    } else if (k == "padding") {
      const std::vector<int64_t> v = int64_tuple(value, what, 4);
      s.padding = {v[0], v[1], v[2], v[3]};
    } else if (k == "pad_if_needed") {
      s.pad_if_needed = bool_arg(value, what);
    } else if (k == "fill") {
      if (value.is_none()) {
        s.fill.clear();  // torchvision's fill=None (the warps and policies)
      } else {
        reals(s.fill);
        if (s.fill.empty()) throw std::invalid_argument(what + " needs at least one value");
      }
    } else if (k == "padding_mode") {
      const std::string m = str_arg(value, what);
      if (m == "constant") {
        s.padding_mode = PadMode::Constant;
      } else if (m == "edge") {
        s.padding_mode = PadMode::Edge;
      } else if (m == "reflect") {
        s.padding_mode = PadMode::Reflect;
      } else if (m == "symmetric") {
        s.padding_mode = PadMode::Symmetric;
      } else {
        throw std::invalid_argument(what +
                                    " must be 'constant', 'edge', 'reflect' or "
                                    "'symmetric', got '" +
                                    m + "'");
      }
    } else if (k == "interpolation") {
      s.interpolation = interpolation_from_string(str_arg(value, what));
    } else if (k == "p") {
      s.p = double_arg(value, what);
    } else if (k == "brightness" || k == "contrast" || k == "saturation" || k == "hue") {
      const size_t at = k == "brightness" ? 0 : k == "contrast" ? 1 : k == "saturation" ? 2 : 3;
      if (value.is_none()) {
        s.jitter[at] = {std::numeric_limits<double>::quiet_NaN(), 0.0};
      } else {
        pair(s.jitter[at]);
      }
    } else if (k == "num_output_channels") {
      s.num_output_channels = int64_arg(value, what);
    } else if (k == "kernel_size") {
      const std::vector<int64_t> v = int64_tuple(value, what, 2);
      s.kernel = {v[0], v[1]};
    } else if (k == "sigma") {
      pair(s.sigma);
    } else if (k == "value") {
      s.value = double_arg(value, what);
    } else if (k == "dtype") {
      s.dtype = dtype_from_name(str_arg(value, what));
    } else if (k == "scale_values") {
      s.scale_values = bool_arg(value, what);
    } else if (k == "mean") {
      reals(s.mean);
    } else if (k == "std") {
      reals(s.std);
    } else if (k == "random_value") {
      s.random_value = bool_arg(value, what);
    } else if (k == "fn") {
      s.function = python_sample_function(value);
    } else if (k == "degrees") {
      pair(s.degrees);
    } else if (k == "translate") {
      pair(s.translate);
    } else if (k == "shear") {
      std::vector<double> v;
      reals(v);
      if (v.size() != 4) throw std::invalid_argument(what + " must have 4 values");
      s.shear = {v[0], v[1], v[2], v[3]};
    } else if (k == "center") {
      s.has_center = !value.is_none();
      if (s.has_center) pair(s.center);
    } else if (k == "num_ops") {
      s.num_ops = int64_arg(value, what);
    } else if (k == "magnitude") {
      s.magnitude = int64_arg(value, what);
    } else if (k == "num_magnitude_bins") {
      s.num_magnitude_bins = int64_arg(value, what);
    } else if (k == "severity") {
      s.severity = int64_arg(value, what);
    } else if (k == "mixture_width") {
      s.mixture_width = int64_arg(value, what);
    } else if (k == "chain_depth") {
      s.chain_depth = int64_arg(value, what);
    } else if (k == "alpha") {
      s.alpha = double_arg(value, what);
    } else if (k == "all_ops") {
      s.all_ops = bool_arg(value, what);
    } else if (k == "span") {
      s.span = int64_arg(value, what);
    } else if (k == "children") {
      s.children = int64_arg(value, what);
    } else if (k == "weights") {
      reals(s.weights);
    } else {
      throw TypeError(name + " got an unexpected argument '" + k + "'");
    }
  }
  for (auto& j : s.jitter) {
    if (j[0] == 0.0 && j[1] == 0.0) j = {std::numeric_limits<double>::quiet_NaN(), 0.0};
  }
  return s;
}

}  // namespace

std::vector<TransformStep> transform_steps_from(nb::handle steps) {
  std::vector<TransformStep> out;
  for (nb::handle item : steps) {
    nb::sequence pair = nb::borrow<nb::sequence>(item);
    if (nb::len(pair) != 2) throw TypeError("each transform step must be a (name, dict) pair");
    out.push_back(step_from(pair[0], pair[1]));
  }
  return out;
}

BatchMixSpec batch_mix_from(nb::handle spec) {
  // (num_classes, [(kind name, alpha, weight), ...]) as nocopy.transforms builds it.
  nb::sequence pair = nb::borrow<nb::sequence>(spec);
  if (nb::len(pair) != 2) throw TypeError("batch_transforms must be (num_classes, choices)");
  BatchMixSpec out;
  out.num_classes = int64_arg(pair[0], "num_classes");
  for (nb::handle item : pair[1]) {
    nb::sequence c = nb::borrow<nb::sequence>(item);
    if (nb::len(c) != 3) throw TypeError("each batch transform is (name, alpha, weight)");
    const std::string name = str_arg(c[0], "batch transform name");
    MixChoice choice;
    if (name == "MixUp") {
      choice.kind = MixKind::MixUp;
    } else if (name == "CutMix") {
      choice.kind = MixKind::CutMix;
    } else {
      throw std::invalid_argument("unknown batch transform '" + name + "' (MixUp, CutMix)");
    }
    choice.alpha = double_arg(c[1], "alpha");
    choice.weight = double_arg(c[2], "p");
    out.choices.push_back(choice);
  }
  validate_batch_mix(out);
  return out;
}

void bind_transforms(nb::module_& m) {
  m.def(
      "_check_transform",
      [](nb::handle name, nb::handle args) {
        const TransformStep s = step_from(name, args);
        validate_step(s);
        nb::list names;
        for (const std::string& n : step_parameter_names(s)) names.append(nb::str(n.c_str()));
        return names;
      },
      nb::arg("name"), nb::arg("args"),
      "Checks one transform's arguments (ValueError / TypeError naming them); returns the "
      "names of the parameters it draws per sample.");
  m.def(
      "_erasing_noise",
      [](nb::handle seed, nb::handle count) {
        const uint64_t s = uint64_arg(seed, "noise_seed");
        const int64_t n = int64_arg(count, "count");
        if (n < 0 || n > (int64_t{1} << 30)) throw std::invalid_argument("count out of range");
        std::vector<float> out(static_cast<size_t>(n));
        erasing_noise(s, out);
        return out;
      },
      nb::arg("seed"), nb::arg("count"), "RandomErasing's noise values for `seed` (a list).");
  m.def(
      "_check_batch_transforms", [](nb::handle spec) { batch_mix_from(spec); }, nb::arg("spec"),
      "Checks batch transforms given as (num_classes, [(name, alpha, weight)]).");
}

nb::list transform_parameter_columns(const TransformProgram& program,
                                     const std::vector<double>& params, int64_t count, int64_t n) {
  nb::list steps;
  for (size_t k = 0; k < program.steps().size(); ++k) {
    const TransformStep& s = program.steps()[k];
    const std::vector<std::string> names = step_parameter_names(s);
    nb::list columns;
    for (size_t f = 0; f < names.size(); ++f) {
      std::vector<double> column(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) {
        column[static_cast<size_t>(i)] =
            params[static_cast<size_t>(i * count + program.parameter_offset(k)) + f];
      }
      columns.append(nb::make_tuple(nb::str(names[f].c_str()), column));
    }
    steps.append(nb::make_tuple(nb::str(std::string(step_kind_name(s.kind)).c_str()), columns));
  }
  return steps;
}

}  // namespace nocopy::bindings
