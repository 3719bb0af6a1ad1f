// decode_image: the raw view or the whole-image JPEG decode of one ImageSet sample.
#include "nocopy/pipeline/codecs/image_decode.hpp"

#include <stdexcept>
#include <string>

namespace nocopy {

View decode_image(const ImageSet& set, int64_t i, JpegDecoder& decoder) {
  if (set.format() == ImageFormat::Raw) return set.image(i);
  const View bytes = set.encoded(i);  // checks i
  if (i < 0) i += set.size();
  const auto* p = static_cast<const uint8_t*>(bytes.data());
  const auto n = static_cast<size_t>(bytes.nbytes());
  const std::string sample = set.where() + ": sample " + std::to_string(i) + ": ";
  try {
    const JpegInfo info = decoder.read_header(p, n);
    const int64_t h = set.height(i), w = set.width(i);
    if (info.height != h || info.width != w) {
      throw std::invalid_argument("JPEG is " + std::to_string(info.height) + " x " +
                                  std::to_string(info.width) + " but the index says " +
                                  std::to_string(h) + " x " + std::to_string(w));
    }
    View out = View::empty(DType::UInt8, {h, w, 3});
    decoder.decode(p, n, 1, {0, 0, h, w}, static_cast<uint8_t*>(out.data()), w * 3);
    return out;
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(sample + e.what());
  }
}

View decode_image(const ImageSet& set, int64_t i) {
  if (set.format() == ImageFormat::Raw) return set.image(i);  // no decoder needed
  thread_local JpegDecoder decoder;
  return decode_image(set, i, decoder);
}

}  // namespace nocopy
