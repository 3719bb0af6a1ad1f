// Bindings of the JPEG domain: the decoder (whole-image and window decodes, headers) and the JPEG
// ImageSet index (_JpegImageSet, wrapped by nocopy.ImageSet). No logic here; see
// nocopy/pipeline/codecs/jpeg_decoder.hpp and nocopy/storage/jpeg_image_set.hpp. A decode writes
// new memory: its result is a new array.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>

#include "bindings.hpp"
#include "nocopy/pipeline/codecs/jpeg_decoder.hpp"
#include "nocopy/storage/jpeg_image_set.hpp"

namespace nocopy::bindings {
namespace {

/// The bytes of a 1-d contiguous uint8 (or bytes-like) object, kept alive by the returned view.
View jpeg_bytes(nb::handle obj) {
  View v = view_from_object(obj);
  if (v.itemsize() != 1 || !v.is_c_contiguous()) {
    throw std::invalid_argument("JPEG data must be contiguous bytes (uint8), got dtype " +
                                std::string(dtype_name(v.dtype())));
  }
  return v;
}

/// One decoder per Python thread that decodes (the loader's workers hold their own).
JpegDecoder& thread_decoder() {
  thread_local JpegDecoder decoder;
  return decoder;
}

/// A new read-only int64 array holding `values` with the given shape (a small copy).
View int64_array(const std::vector<int64_t>& values, std::vector<int64_t> shape) {
  View v = View::empty(DType::Int64, std::move(shape));
  if (!values.empty()) std::memcpy(v.data(), values.data(), values.size() * sizeof(int64_t));
  return v.as_readonly();
}

/// Image i of a JPEG set decoded whole (scaled by 1/scale) into a new (H, W, 3) array; a decode
/// error names the set and the sample.
View decode_sample(const JpegImageSet& s, int64_t i, int scale) {
  const View bytes = s.encoded(i);  // checks i
  if (i < 0) i += s.size();
  const auto* p = static_cast<const uint8_t*>(bytes.data());
  const auto n = static_cast<size_t>(bytes.nbytes());
  try {
    const JpegInfo info = thread_decoder().read_header(p, n);
    const int64_t h = jpeg_scaled_size(info.height, scale), w = jpeg_scaled_size(info.width, scale);
    View out = View::empty(DType::UInt8, {h, w, 3});
    thread_decoder().decode(p, n, scale, {0, 0, h, w}, static_cast<uint8_t*>(out.data()), w * 3);
    return out;
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(s.where() + ": sample " + std::to_string(i) + ": " + e.what());
  }
}

}  // namespace

void bind_jpeg(nb::module_& m) {
  m.def("jpeg_available", &jpeg_available, "True when this build decodes JPEG (libjpeg-turbo).");
  m.def("jpeg_library_version", [] { return std::string(jpeg_library_version()); });
  m.def(
      "jpeg_info",
      [](nb::handle data) {
        View v = jpeg_bytes(data);
        nb::gil_scoped_release release;
        const JpegInfo info = thread_decoder().read_header(static_cast<const uint8_t*>(v.data()),
                                                           static_cast<size_t>(v.nbytes()));
        return std::make_tuple(info.height, info.width, info.components);
      },
      nb::arg("data"), "(height, width, components) of a JPEG's full-size image.");
  m.def(
      "jpeg_decode",
      [](nb::handle data, int scale,
         std::optional<std::tuple<int64_t, int64_t, int64_t, int64_t>> window) {
        View v = jpeg_bytes(data);
        const auto* p = static_cast<const uint8_t*>(v.data());
        const auto n = static_cast<size_t>(v.nbytes());
        JpegWindow w;
        {
          nb::gil_scoped_release release;
          const JpegInfo info = thread_decoder().read_header(p, n);
          if (window) {
            std::tie(w.top, w.left, w.height, w.width) = *window;
          } else {
            w = {0, 0, jpeg_scaled_size(info.height, scale), jpeg_scaled_size(info.width, scale)};
          }
        }
        if (w.height < 1 || w.width < 1) {
          throw std::invalid_argument("JPEG window height and width must be >= 1, got (" +
                                      std::to_string(w.height) + ", " + std::to_string(w.width) +
                                      ")");
        }
        View out = View::empty(DType::UInt8, {w.height, w.width, 3});
        {
          nb::gil_scoped_release release;
          thread_decoder().decode(p, n, scale, w, static_cast<uint8_t*>(out.data()), w.width * 3);
        }
        return out;
      },
      nb::arg("data"), nb::arg("scale") = 1, nb::arg("window").none() = nb::none(),
      "Decodes a JPEG (scaled by 1/scale; window = (top, left, height, width) in scaled pixels) "
      "to a new (H, W, 3) uint8 RGB array.");

  using Release = nb::call_guard<nb::gil_scoped_release>;
  nb::class_<JpegImageSet>(m, "_JpegImageSet", "Validated index of JPEG images (nocopy.ImageSet).")
      .def_static("open", &JpegImageSet::open, nb::arg("folder"), Release())
      .def_static("from_index", &JpegImageSet::from_index, nb::arg("bytes"), nb::arg("shapes"),
                  nb::arg("offsets"), nb::arg("lengths"), nb::arg("labels").none(),
                  nb::arg("where"), Release())
      .def("__len__", &JpegImageSet::size)
      .def("encoded", &JpegImageSet::encoded, nb::arg("index"))
      .def("decode", &decode_sample, nb::arg("index"), nb::arg("scale") = 1, Release())
      .def_prop_ro("bytes", &JpegImageSet::bytes)
      .def_prop_ro("has_labels", &JpegImageSet::has_labels)
      .def_prop_ro("where", &JpegImageSet::where)
      .def_prop_ro("shapes",
                   [](const JpegImageSet& s) {
                     return int64_array(s.shapes(), {s.size(), 3});
                   })
      .def_prop_ro("offsets",
                   [](const JpegImageSet& s) { return int64_array(s.offsets(), {s.size()}); })
      .def_prop_ro("lengths",
                   [](const JpegImageSet& s) { return int64_array(s.lengths(), {s.size()}); })
      .def_prop_ro("labels", [](const JpegImageSet& s) -> std::optional<View> {
        if (!s.has_labels()) return std::nullopt;
        return int64_array(s.labels(), {s.size()});
      });
}

}  // namespace nocopy::bindings
