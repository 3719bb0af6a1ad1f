// The transforms pipeline's binding: nocopy.transforms' steps, each a (name, arguments dict)
// pair built by the Python classes, turned into TransformSteps (the C++ core checks them), and
// the check seam the classes call when they are constructed.
#include <nanobind/stl/string.h>

#include <limits>
#include <string>

#include "bindings.hpp"
#include "nocopy/pipeline/ops/transform_program.hpp"

namespace nocopy::bindings {

namespace {

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
}

}  // namespace nocopy::bindings
