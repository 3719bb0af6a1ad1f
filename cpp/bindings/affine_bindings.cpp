// Bindings of the affine warp: the private test seam _affine_warp, which takes torchvision's
// affine / rotate arguments, so the Python tests can compare the kernel with torchvision. No
// logic beyond argument checks; see nocopy/pipeline/kernels/affine_warp.hpp.
#include <Python.h>

#include <array>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "bindings.hpp"
#include "nocopy/core/copy.hpp"
#include "nocopy/pipeline/kernels/affine_warp.hpp"

namespace nocopy::bindings {
namespace {

/// Largest side of a warp's output (an expand through a near-singular matrix is refused).
constexpr int64_t kMaxSide = int64_t{1} << 16;

/// A finite real number, or TypeError / ValueError naming `name`.
double finite_arg(nb::handle value, const std::string& name) {
  const double d = double_arg(value, name);
  if (!std::isfinite(d))
    throw std::invalid_argument(name + " must be finite, got " + std::to_string(d));
  return d;
}

/// A tuple or list of two finite numbers, or TypeError / ValueError naming `name`.
std::array<double, 2> pair_arg(nb::handle value, const std::string& name) {
  if (!PyTuple_Check(value.ptr()) && !PyList_Check(value.ptr())) {
    throw TypeError(name + " must be a tuple or list of two numbers");
  }
  if (PySequence_Size(value.ptr()) != 2) {
    throw std::invalid_argument(name + " must hold exactly two numbers");
  }
  return {finite_arg(nb::borrow(value[0]), name), finite_arg(nb::borrow(value[1]), name)};
}

/// The per-channel fill: empty for None, else `channels` values in [0, 255] (one number, or a
/// sequence of 1 or `channels` numbers, broadcast as torchvision does).
std::vector<float> fill_arg(nb::handle value, int64_t channels) {
  std::vector<double> given;
  if (value.is_none()) return {};
  if (PyTuple_Check(value.ptr()) || PyList_Check(value.ptr())) {
    for (nb::handle item : value) given.push_back(finite_arg(item, "fill"));
  } else {
    given.push_back(finite_arg(value, "fill"));
  }
  if (given.size() != 1 && static_cast<int64_t>(given.size()) != channels) {
    throw std::invalid_argument("fill has " + std::to_string(given.size()) +
                                " values for an image of " + std::to_string(channels) +
                                " channels");
  }
  std::vector<float> fill(static_cast<size_t>(channels));
  for (size_t c = 0; c < fill.size(); ++c) {
    const double f = given.size() == 1 ? given[0] : given[c];
    if (f < 0.0 || f > 255.0) {
      throw std::invalid_argument("fill values must lie in [0, 255], got " + std::to_string(f));
    }
    fill[c] = static_cast<float>(f);
  }
  return fill;
}

/// The warp of `array` (any object nocopy.view accepts: (H, W, C) uint8) as torchvision's affine
/// (expand=False) or, with expand=True, the output size of rotate(expand=True); a new dense uint8
/// array.
View affine_warp_seam(nb::handle array, nb::handle angle, nb::handle translate, nb::handle scale,
                      nb::handle shear, nb::handle interpolation, nb::handle fill,
                      nb::handle center, nb::handle expand) {
  const View image = view_from_object(array);
  if (image.ndim() != 3 || image.dtype() != DType::UInt8) {
    throw std::invalid_argument("_affine_warp needs an (H, W, C) uint8 image, got " +
                                image.describe());
  }
  image.require_host("_affine_warp");
  const int64_t h = image.shape()[0], w = image.shape()[1], c = image.shape()[2];
  if (h < 1 || w < 1 || c < 1) {
    throw std::invalid_argument("_affine_warp needs a non-empty image, got " + image.describe());
  }
  const double a = finite_arg(angle, "angle");
  const auto t = pair_arg(translate, "translate");
  const double s = finite_arg(scale, "scale");
  if (s <= 0.0) throw std::invalid_argument("scale must be positive, got " + std::to_string(s));
  const auto sh = pair_arg(shear, "shear");
  const Interpolation mode = interpolation_from_string(str_arg(interpolation, "interpolation"));
  const std::vector<float> fill_values = fill_arg(fill, c);
  // The pivot, relative to the image center (w / 2, h / 2); the center itself by default.
  std::array<double, 2> pivot{0.0, 0.0};
  if (!center.is_none()) {
    const auto p = pair_arg(center, "center");
    pivot = {p[0] - 0.5 * static_cast<double>(w), p[1] - 0.5 * static_cast<double>(h)};
  }
  const bool grow = bool_arg(expand, "expand");
  const AffineMatrix m = inverse_affine_matrix(pivot[0], pivot[1], a, t[0], t[1], s, sh[0], sh[1]);
  for (double v : m.m) {
    if (!std::isfinite(v)) throw std::invalid_argument("the affine matrix is not finite");
  }
  // expand=True is rotate's: its angle is the negated affine angle.
  const WarpSize out_size = grow ? rotated_size(-a, center.is_none(), m, h, w) : WarpSize{h, w};
  if (out_size.height < 1 || out_size.width < 1 || out_size.height > kMaxSide ||
      out_size.width > kMaxSide) {
    throw std::invalid_argument("the warped image would be " + std::to_string(out_size.height) +
                                " x " + std::to_string(out_size.width) + " pixels");
  }
  // The kernel reads dense pixels; any other layout is copied first.
  const bool dense = image.strides()[2] == 1 && image.strides()[1] == c;
  const View src = dense ? image : copy_new(image);
  View out = View::empty(DType::UInt8, {out_size.height, out_size.width, c});
  nb::gil_scoped_release release;
  affine_warp(static_cast<const uint8_t*>(src.data()), h, w, c, src.strides()[0],
              static_cast<uint8_t*>(out.data()), out_size.height, out_size.width, m, mode,
              fill_values.empty() ? nullptr : fill_values.data());
  return out;
}

}  // namespace

void bind_affine(nb::module_& m) {
  m.def("_affine_warp", &affine_warp_seam, nb::arg("image"), nb::arg("angle"), nb::arg("translate"),
        nb::arg("scale"), nb::arg("shear"), nb::arg("interpolation"), nb::arg("fill").none(),
        nb::arg("center").none(), nb::arg("expand"),
        "Test seam: torchvision's affine (angle clockwise) of an (H, W, C) uint8 image, with "
        "rotate's expand=True output size when expand; a new uint8 array.");
}

}  // namespace nocopy::bindings
