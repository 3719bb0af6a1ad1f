// decode_resample_window: window decode (JpegDecoder) followed by resample_window.
#include "nocopy/pipeline/codecs/jpeg_sample.hpp"

#include <stdexcept>
#include <string>
#include <variant>

namespace nocopy {

DecodeScale decode_scale_from_name(std::string_view name) {
  if (name == "auto") return DecodeScale::Auto;
  if (name == "exact") return DecodeScale::Exact;
  throw std::invalid_argument("decode_scale '" + std::string(name) +
                              "' is not one of 'auto', 'exact'");
}

std::string_view decode_scale_name(DecodeScale mode) {
  return mode == DecodeScale::Exact ? "exact" : "auto";
}

namespace {

const OptionSpec<JpegDecodeOptions> kJpegDecodeSpecs[] = {
    {"decode_scale", OptionKind::Name,
     "JPEG ImageSets: 'auto' decodes a window by 1/2, 1/4 or 1/8 (libjpeg's DCT scaling) when it "
     "is at least 4, 8 or 16 times its resized size and the interpolation is bilinear (faster, "
     "within the tolerance docs/IMAGES.md states); 'exact' never does (the same bytes as a raw "
     "ImageSet of the decoded pixels). No effect on raw images.",
     [](JpegDecodeOptions& o, const OptionValue& v) {
       o.decode_scale = decode_scale_from_name(std::get<std::string>(v));
     },
     [](const JpegDecodeOptions& o) -> OptionValue {
       return std::string(decode_scale_name(o.decode_scale));
     }},
};

}  // namespace

std::span<const OptionSpec<JpegDecodeOptions>> jpeg_decode_option_specs() {
  return kJpegDecodeSpecs;
}

void decode_resample_window(const uint8_t* data, size_t size, int64_t height, int64_t width,
                            const ResizeGeometry& g, const ResizeOutput& out, DecodeScale mode,
                            JpegSampleScratch& scratch) {
  // Nearest sampling returns source pixels; a DCT-scaled pixel blends a block of them.
  const bool scaled = mode == DecodeScale::Auto && g.interpolation == Interpolation::Bilinear;
  const int denom = scaled ? choose_jpeg_scale(g.height, g.width, g.resized_h, g.resized_w) : 1;
  const JpegWindow w = jpeg_scaled_window({g.top, g.left, g.height, g.width}, denom, height, width);
  // The window's rows stay where libjpeg wrote them (no copy); the resampler reads them there.
  const JpegDecoder::Rows rows = scratch.decoder.decode_rows(data, size, denom, w);
  const JpegInfo& info = rows.info;
  if (info.height != height || info.width != width) {
    throw std::invalid_argument("JPEG is " + std::to_string(info.height) + " x " +
                                std::to_string(info.width) + " but the index says " +
                                std::to_string(height) + " x " + std::to_string(width));
  }
  const ResizeSource src{rows.data, DType::UInt8, w.height, w.width, 3, rows.row_stride, 3, 1};
  ResizeGeometry local = g;
  local.top = 0;
  local.left = 0;
  local.height = w.height;
  local.width = w.width;
  if (denom > 1) {
    // The window in scaled pixels, where its edges need not fall on whole pixels: resampling
    // that exact stretch (not the whole scaled pixels around it) keeps the full decode's
    // geometry. (Scaled pixel k is the block of full pixels [k * denom, (k + 1) * denom).)
    const double d = denom;
    local.offset_y = (static_cast<double>(g.top) + g.offset_y) / d - static_cast<double>(w.top);
    local.offset_x = (static_cast<double>(g.left) + g.offset_x) / d - static_cast<double>(w.left);
    local.span_h = (g.span_h > 0.0 ? g.span_h : static_cast<double>(g.height)) / d;
    local.span_w = (g.span_w > 0.0 ? g.span_w : static_cast<double>(g.width)) / d;
  }
  resample_window(src, local, out, scratch.resize);
}

}  // namespace nocopy
