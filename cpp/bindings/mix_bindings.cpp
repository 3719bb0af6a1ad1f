// Private test seams of the batch transforms (MixUp, CutMix, soft labels) and of the Beta
// sampler, so the Python tests can compare them with torchvision. No logic here; see
// nocopy/pipeline/kernels/batch_mix.hpp and nocopy/pipeline/sampling/beta_draw.hpp.
#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>

#include "bindings.hpp"
#include "nocopy/pipeline/kernels/batch_mix.hpp"
#include "nocopy/pipeline/sampling/beta_draw.hpp"
#include "nocopy/pipeline/sampling/random_streams.hpp"

namespace nocopy::bindings {
namespace {

/// The batch argument as a writable, C-contiguous host view of at least one axis (the sample
/// axis); ValueError otherwise.
View batch_view(nb::handle obj, const char* what, int64_t min_ndim) {
  View v = view_from_object(obj);
  v.require_host(what);
  if (v.ndim() < min_ndim || !v.is_c_contiguous() || v.readonly()) {
    throw std::invalid_argument(std::string(what) + " needs a writable C-contiguous batch of " +
                                std::to_string(min_ndim) + "+ dimensions, got " + v.describe());
  }
  return v;
}

/// The sample count and elements per sample of a batch view.
std::pair<int64_t, int64_t> batch_extent(const View& v) {
  const int64_t n = v.shape()[0];
  return {n, n == 0 ? 0 : v.size() / n};
}

}  // namespace

void bind_mix(nb::module_& m) {
  m.def(
      "_mixup",
      [](nb::handle batch, nb::handle lam) {
        const View v = batch_view(batch, "_mixup", 1);
        if (!is_mixup_dtype(v.dtype())) {
          throw TypeError("_mixup mixes float32, float16, bfloat16 or uint8, got " + v.describe());
        }
        const double l = double_arg(lam, "lam");
        const auto [n, elems] = batch_extent(v);
        nb::gil_scoped_release release;
        mixup_images(v.data(), v.dtype(), n, elems, l);
      },
      nb::arg("batch"), nb::arg("lam"),
      "MixUp in place on a (N, ...) batch: x[i] = lam x[i] + (1 - lam) x[i - 1].");
  m.def(
      "_cutmix",
      [](nb::handle batch, nb::handle layout, nb::handle y1, nb::handle y2, nb::handle x1,
         nb::handle x2) {
        const View v = batch_view(batch, "_cutmix", 4);
        if (v.ndim() != 4) {
          throw std::invalid_argument("_cutmix needs an (N, C, H, W) or (N, H, W, C) batch, got " +
                                      v.describe());
        }
        const Layout l = layout_from_name(str_arg(layout, "layout"));
        const auto& s = v.shape();
        const bool chw = l == Layout::CHW;
        CutMixBox box;
        box.y1 = int64_arg(y1, "y1");
        box.y2 = int64_arg(y2, "y2");
        box.x1 = int64_arg(x1, "x1");
        box.x2 = int64_arg(x2, "x2");
        nb::gil_scoped_release release;
        cutmix_images(v.data(), v.itemsize(), s[0], chw ? s[1] : s[3], chw ? s[2] : s[1],
                      chw ? s[3] : s[2], l, box);
      },
      nb::arg("batch"), nb::arg("layout"), nb::arg("y1"), nb::arg("y2"), nb::arg("x1"),
      nb::arg("x2"), "CutMix in place: box rows [y1, y2) x columns [x1, x2) from sample i - 1.");
  m.def(
      "_cutmix_box",
      [](nb::handle height, nb::handle width, nb::handle lam, nb::handle ux, nb::handle uy) {
        const CutMixBox b =
            cutmix_box(int64_arg(height, "height"), int64_arg(width, "width"),
                       double_arg(lam, "lam"), int64_arg(ux, "ux"), int64_arg(uy, "uy"));
        return nb::make_tuple(b.y1, b.y2, b.x1, b.x2, b.lam);
      },
      nb::arg("height"), nb::arg("width"), nb::arg("lam"), nb::arg("ux"), nb::arg("uy"),
      "CutMix box (y1, y2, x1, x2, adjusted lam) for centre column ux and row uy.");
  m.def(
      "_mix_labels",
      [](nb::handle labels, nb::handle num_classes, nb::handle lam) {
        const View v = view_from_object(labels);
        v.require_host("_mix_labels");
        if (v.dtype() != DType::Int64) {
          throw TypeError("_mix_labels needs int64 labels, got " + v.describe());
        }
        if (v.ndim() != 1 || !v.is_c_contiguous()) {
          throw std::invalid_argument("_mix_labels needs a contiguous 1-D label array, got " +
                                      v.describe());
        }
        const int64_t k = int64_arg(num_classes, "num_classes");
        const double l = double_arg(lam, "lam");
        if (k < 1) {
          throw std::invalid_argument("num_classes must be >= 1, got " + std::to_string(k));
        }
        View out = View::empty(DType::Float32, {v.shape()[0], k});
        mix_labels(v.data_as<int64_t>(), v.shape()[0], k, l, out.data_as<float>());
        return out;
      },
      nb::arg("labels"), nb::arg("num_classes"), nb::arg("lam"),
      "Soft labels (N, num_classes) float32: one-hot rows mixed with the rolled ones.");
  m.def(
      "_beta_samples",
      [](nb::handle a, nb::handle b, nb::handle seed, nb::handle count) {
        const double da = double_arg(a, "a"), db = double_arg(b, "b");
        if (!(da > 0.0 && db > 0.0 && std::isfinite(da) && std::isfinite(db))) {
          throw std::invalid_argument("Beta shapes must be finite and > 0, got " +
                                      std::to_string(da) + ", " + std::to_string(db));
        }
        const uint64_t s = uint64_arg(seed, "seed");
        const int64_t n = int64_arg(count, "n");
        if (n < 0 || n > (int64_t{1} << 28)) {
          throw std::invalid_argument("n must be in [0, 2**28], got " + std::to_string(n));
        }
        View out = View::empty(DType::Float64, {n});
        auto* values = out.data_as<double>();
        nb::gil_scoped_release release;
        for (int64_t i = 0; i < n; ++i) {
          // Draw i reads the words counter_hash(seed, 0, i, 0), (..., 1), ...
          uint64_t word = 0;
          auto bits = [&] { return counter_hash(s, 0, static_cast<uint64_t>(i), word++); };
          values[i] = draw_beta(da, db, bits);
        }
        return out;
      },
      nb::arg("a"), nb::arg("b"), nb::arg("seed"), nb::arg("n"),
      "n Beta(a, b) draws, draw i from the counter stream (seed, 0, i).");
}

}  // namespace nocopy::bindings
