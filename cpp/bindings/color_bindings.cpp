// Bindings of the colour operators: a private test seam that runs one operator in place on a
// writable uint8 (H, W, C) array, so the Python tests can compare each kernel with the reference.
// No logic here; see nocopy/pipeline/kernels/color_ops.hpp.
#include <nanobind/stl/string.h>

#include <array>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "bindings.hpp"
#include "nocopy/pipeline/kernels/color_ops.hpp"

namespace nocopy::bindings {
namespace {

/// The array as a dense HWC uint8 image; ValueError for another dtype, shape or layout, and for
/// a read-only array.
ImageU8 image_of(const View& v) {
  if (v.dtype() != DType::UInt8 || v.ndim() != 3 || !v.is_c_contiguous()) {
    throw std::invalid_argument("_color_op needs a C-contiguous uint8 (H, W, C) array, got " +
                                v.describe());
  }
  if (v.readonly()) throw std::invalid_argument("_color_op needs a writable array");
  v.require_host("_color_op");
  return {v.data_as<uint8_t>(), v.shape()[0], v.shape()[1], v.shape()[2]};
}

/// TypeError unless `params` holds between `least` and `most` values.
void check_count(const std::string& name, const nb::args& params, size_t least, size_t most) {
  if (params.size() < least || params.size() > most) {
    const std::string wanted = least == most
                                   ? std::to_string(least)
                                   : std::to_string(least) + " or " + std::to_string(most);
    throw TypeError(name + " takes " + wanted + " parameter(s), got " +
                    std::to_string(params.size()));
  }
}

/// A pair of ints from one int (both the same) or a sequence of two.
std::array<int64_t, 2> int_pair(nb::handle value, std::string_view name) {
  const std::vector<int64_t> v = int64_args(value, name, /*allow_scalar=*/true);
  if (v.size() == 1) return {v[0], v[0]};
  if (v.size() != 2) {
    throw std::invalid_argument(std::string(name) + " needs 1 or 2 values, got " +
                                std::to_string(v.size()));
  }
  return {v[0], v[1]};
}

/// A pair of reals from one real (both the same) or a sequence of one or two.
std::array<double, 2> real_pair(nb::handle value, std::string_view name) {
  if (!PySequence_Check(value.ptr()) || PyUnicode_Check(value.ptr())) {
    const double d = double_arg(value, name);  // TypeError for what is not a number
    return {d, d};
  }
  const nb::sequence seq = nb::borrow<nb::sequence>(value);
  const size_t n = nb::len(seq);
  if (n != 1 && n != 2) {
    throw std::invalid_argument(std::string(name) + " needs 1 or 2 values, got " +
                                std::to_string(n));
  }
  const double first = double_arg(seq[0], name);
  return {first, n == 2 ? double_arg(seq[1], name) : first};
}

/// Runs operator `name` on `image` with `params`.
void run_color_op(const std::string& name, ImageU8 image, const nb::args& params) {
  ColorScratch scratch;
  const auto factor = [&](const char* what) {
    check_count(name, params, 1, 1);
    return double_arg(params[0], what);
  };
  if (name == "adjust_brightness") {
    const double f = factor("brightness_factor");
    nb::gil_scoped_release release;
    adjust_brightness(image, f);
  } else if (name == "adjust_contrast") {
    const double f = factor("contrast_factor");
    nb::gil_scoped_release release;
    adjust_contrast(image, f);
  } else if (name == "adjust_saturation") {
    const double f = factor("saturation_factor");
    nb::gil_scoped_release release;
    adjust_saturation(image, f);
  } else if (name == "adjust_hue") {
    const double f = factor("hue_factor");
    nb::gil_scoped_release release;
    adjust_hue(image, f);
  } else if (name == "adjust_sharpness") {
    const double f = factor("sharpness_factor");
    nb::gil_scoped_release release;
    adjust_sharpness(image, f, scratch);
  } else if (name == "solarize") {
    const double t = factor("threshold");
    nb::gil_scoped_release release;
    solarize(image, t);
  } else if (name == "posterize") {
    check_count(name, params, 1, 1);
    const int64_t bits = int64_arg(params[0], "bits");
    if (bits < 0 || bits > 8) {
      throw std::invalid_argument("bits must be an integer in [0, 8], got " + std::to_string(bits));
    }
    nb::gil_scoped_release release;
    posterize(image, static_cast<int>(bits));
  } else if (name == "gaussian_blur") {
    check_count(name, params, 1, 2);
    const std::array<int64_t, 2> kernel = int_pair(params[0], "kernel_size");
    std::array<double, 2> sigma{};
    if (params.size() == 2 && !params[1].is_none()) {
      sigma = real_pair(params[1], "sigma");
    } else {  // the reference's default sigma for each kernel size
      for (size_t i = 0; i < 2; ++i) sigma[i] = static_cast<double>(kernel[i]) * 0.15 + 0.35;
    }
    nb::gil_scoped_release release;
    gaussian_blur(image, kernel, sigma, scratch);
  } else {
    void (*op)(ImageU8) = nullptr;
    if (name == "to_grayscale") op = to_grayscale;
    if (name == "invert") op = invert;
    if (name == "autocontrast") op = autocontrast;
    if (name == "equalize") op = equalize;
    if (op == nullptr) throw std::invalid_argument("unknown colour operator '" + name + "'");
    check_count(name, params, 0, 0);
    nb::gil_scoped_release release;
    op(image);
  }
}

}  // namespace

void bind_color(nb::module_& m) {
  m.def(
      "_color_op",
      [](nb::handle name, nb::handle image, nb::args params) {
        const std::string op = str_arg(name, "name");
        const View v = view_from_object(image);
        run_color_op(op, image_of(v), params);
      },
      nb::arg("name"), nb::arg("image"), nb::arg("params"),
      "Test seam: runs colour operator `name` in place on a writable C-contiguous uint8 "
      "(H, W, C) array with the operator's parameters.");
}

}  // namespace nocopy::bindings
