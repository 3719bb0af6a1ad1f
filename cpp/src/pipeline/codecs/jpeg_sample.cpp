// decode_resample_window: window decode (JpegDecoder) followed by resample_window.
#include "nocopy/pipeline/codecs/jpeg_sample.hpp"

#include <stdexcept>
#include <string>

namespace nocopy {

void decode_resample_window(const uint8_t* data, size_t size, int64_t height, int64_t width,
                            const ResizeGeometry& g, const ResizeOutput& out,
                            JpegSampleScratch& scratch) {
  const int denom = choose_jpeg_scale(g.height, g.width, g.resized_h, g.resized_w);
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
  resample_window(src, local, out, scratch.resize);
}

}  // namespace nocopy
