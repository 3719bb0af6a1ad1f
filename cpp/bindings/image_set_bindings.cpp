// Bindings of the image-dataset domain: the ImageSet (raw or JPEG, wrapped by nocopy.ImageSet),
// its image decode and the resampling kernel's test seam. No logic here; see
// nocopy/storage/image_set.hpp, nocopy/pipeline/codecs/image_decode.hpp and
// nocopy/pipeline/kernels/resize.hpp.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bindings.hpp"
#include "nocopy/pipeline/codecs/image_decode.hpp"
#include "nocopy/pipeline/kernels/resize.hpp"
#include "nocopy/pipeline/ops/resized_crop_window.hpp"
#include "nocopy/storage/image_set.hpp"

namespace nocopy::bindings {
namespace {

/// A new int64 array holding `values` with the given shape (the index is small: a copy).
View int64_array(const std::vector<int64_t>& values, std::vector<int64_t> shape) {
  View v = View::empty(DType::Int64, std::move(shape));
  if (!values.empty()) std::memcpy(v.data(), values.data(), values.size() * sizeof(int64_t));
  return v.as_readonly();
}

}  // namespace

void bind_image_set(nb::module_& m) {
  using Release = nb::call_guard<nb::gil_scoped_release>;
  m.attr("_IMAGE_SET_FORMAT_VERSION") = kImageSetFormatVersion;
  m.attr("_IMAGE_SET_MANIFEST") = std::string(kImageSetManifestFile);
  m.attr("_IMAGE_SET_MAX_MANIFEST_BYTES") = kMaxManifestBytes;
  nb::class_<ImageSet>(m, "_ImageSet", "Validated ImageSet, raw or JPEG (nocopy.ImageSet).")
      .def_static("open", &ImageSet::open, nb::arg("folder"), Release())
      .def_static("from_index", &ImageSet::from_index, nb::arg("pixels"), nb::arg("shapes"),
                  nb::arg("offsets"), nb::arg("labels").none(), nb::arg("where"), Release())
      .def_static("from_jpeg_index", &ImageSet::from_jpeg_index, nb::arg("bytes"),
                  nb::arg("shapes"), nb::arg("offsets"), nb::arg("lengths"),
                  nb::arg("labels").none(), nb::arg("where"), Release())
      .def_static(
          "copy_of",
          [](const std::vector<View>& images, const std::optional<View>& labels) {
            nb::gil_scoped_release release;
            return ImageSet::copy_of(images, labels);
          },
          nb::arg("images"), nb::arg("labels").none())
      .def("__len__", &ImageSet::size)
      .def_prop_ro(
          "format",
          [](const ImageSet& s) { return std::string(image_format_info(s.format()).name); })
      .def(
          "image", [](const ImageSet& s, int64_t i) { return decode_image(s, i); },
          nb::arg("index"), Release(),
          "Image i: a zero-copy view (raw) or a new decoded uint8 RGB array (JPEG).")
      .def("encoded", &ImageSet::encoded, nb::arg("index"))
      .def_prop_ro("data", &ImageSet::data)
      .def_prop_ro("pixels", &ImageSet::pixels)
      .def_prop_ro("channels", &ImageSet::channels)
      .def_prop_ro("dtype", [](const ImageSet& s) { return std::string(dtype_name(s.dtype())); })
      .def_prop_ro("has_labels", &ImageSet::has_labels)
      .def_prop_ro("where", &ImageSet::where)
      .def_prop_ro("shapes",
                   [](const ImageSet& s) {
                     return int64_array(s.shapes(), {s.size(), 3});
                   })
      .def_prop_ro("offsets",
                   [](const ImageSet& s) { return int64_array(s.offsets(), {s.size()}); })
      .def_prop_ro("lengths",
                   [](const ImageSet& s) {
                     return int64_array(s.lengths(), {static_cast<int64_t>(s.lengths().size())});
                   })
      .def_prop_ro("labels",
                   [](const ImageSet& s) -> std::optional<View> {
                     if (!s.has_labels()) return std::nullopt;
                     return int64_array(s.labels(), {s.size()});
                   })
      .def_prop_ro("classes", &ImageSet::classes)
      .def_prop_ro("skipped", [](const ImageSet& s) {
        std::vector<std::pair<std::string, std::string>> out;
        out.reserve(s.skipped().size());
        for (const SkippedInput& e : s.skipped()) out.emplace_back(e.path, e.error);
        return out;
      });

  // Test seams: one resampled window (a new float32 HWC array) and the window draws, so the
  // Python tests can compare the kernel with torch and the draws with torchvision's algorithm.
  m.def(
      "_resample_window",
      [](const View& image, std::vector<int64_t> window, std::vector<int64_t> resized,
         std::vector<int64_t> out_box, bool mirror, const std::string& interpolation) {
        if (image.ndim() != 3 || !is_resize_source_dtype(image.dtype())) {
          throw std::invalid_argument(
              "_resample_window needs an (H, W, C) uint8/uint16/float32 "
              "image, got " +
              image.describe());
        }
        image.require_host("_resample_window");
        if (window.size() != 4 || resized.size() != 2 || out_box.size() != 4) {
          throw std::invalid_argument(
              "window (top, left, h, w), resized (h, w), out (top, left, "
              "h, w) expected");
        }
        const auto& sh = image.shape();
        const bool inside = window[0] >= 0 && window[1] >= 0 && window[2] >= 1 && window[3] >= 1 &&
                            window[0] + window[2] <= sh[0] && window[1] + window[3] <= sh[1] &&
                            resized[0] >= 1 && resized[1] >= 1 && out_box[0] >= 0 &&
                            out_box[1] >= 0 && out_box[2] >= 1 && out_box[3] >= 1 &&
                            out_box[0] + out_box[2] <= resized[0] &&
                            out_box[1] + out_box[3] <= resized[1];
        if (!inside) throw std::invalid_argument("_resample_window geometry is out of range");
        ResizeSource src{
            image.data(),       image.dtype(),     sh[0], sh[1], sh[2], image.strides()[0],
            image.strides()[1], image.strides()[2]};
        ResizeGeometry g;
        g.top = window[0];
        g.left = window[1];
        g.height = window[2];
        g.width = window[3];
        g.resized_h = resized[0];
        g.resized_w = resized[1];
        g.out_top = out_box[0];
        g.out_left = out_box[1];
        g.out_h = out_box[2];
        g.out_w = out_box[3];
        g.mirror = mirror;
        g.interpolation = interpolation_from_string(interpolation);
        View out = View::empty(DType::Float32, {g.out_h, g.out_w, sh[2]});
        std::vector<float> a(static_cast<size_t>(sh[2]), 1.0f), b(static_cast<size_t>(sh[2]), 0.0f);
        ResizeScratch scratch;
        nb::gil_scoped_release release;
        resample_window(src, g, {out.data(), DType::Float32, false, a.data(), b.data()}, scratch);
        return out;
      },
      nb::arg("image"), nb::arg("window"), nb::arg("resized"), nb::arg("out"), nb::arg("mirror"),
      nb::arg("interpolation"));
  m.def(
      "_random_resized_windows",
      [](uint64_t seed, uint64_t epoch, int64_t count, int64_t height, int64_t width,
         double area_min, double area_max, double ratio_min, double ratio_max) {
        const ResizedCropRange r{area_min, area_max, ratio_min, ratio_max};
        validate_resized_crop_range(r);
        if (height < 1 || width < 1 || count < 0) {
          throw std::invalid_argument("_random_resized_windows needs a non-empty image");
        }
        View out = View::empty(DType::Int64, {count, 5});
        auto* p = out.data_as<int64_t>();
        for (int64_t i = 0; i < count; ++i) {
          const CropWindow c =
              random_resized_window(seed, epoch, static_cast<uint64_t>(i), height, width, r);
          p[5 * i] = c.top;
          p[5 * i + 1] = c.left;
          p[5 * i + 2] = c.height;
          p[5 * i + 3] = c.width;
          p[5 * i + 4] = c.fallback;
        }
        return out;
      },
      nb::arg("seed"), nb::arg("epoch"), nb::arg("count"), nb::arg("height"), nb::arg("width"),
      nb::arg("area_min"), nb::arg("area_max"), nb::arg("ratio_min"), nb::arg("ratio_max"));
}

}  // namespace nocopy::bindings
