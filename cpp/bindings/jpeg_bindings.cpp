// Bindings of the JPEG domain: the decoder (whole-image and window decodes, headers). No logic
// here; see nocopy/pipeline/codecs/jpeg_decoder.hpp (a JPEG ImageSet's images are decoded by
// _ImageSet.image, image_set_bindings.cpp). A decode writes new memory: its result is a new array.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>

#include "bindings.hpp"
#include "nocopy/pipeline/codecs/jpeg_decoder.hpp"

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
}

}  // namespace nocopy::bindings
