// libFuzzer target for the JPEG decoder: any bytes must either be rejected with a standard
// exception or decode; accepted images are decoded whole and in a window at a scale chosen by
// the first input byte, into buffers of exactly the promised size (ASan checks the writes), and
// the window's rows as decode_rows leaves them must equal decode()'s.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "nocopy/pipeline/codecs/jpeg_decoder.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2 || !nocopy::jpeg_available()) return 0;
  static nocopy::JpegDecoder decoder(true, int64_t{256} << 20);
  const int denom = 1 << (data[0] % 4);
  const uint8_t* jpeg = data + 1;
  const size_t n = size - 1;
  try {
    const nocopy::JpegInfo info = decoder.read_header(jpeg, n);
    if (info.height < 1 || info.width < 1) std::abort();
    if (info.height * info.width > (int64_t{1} << 22)) return 0;  // keep each run short
    const int64_t sh = nocopy::jpeg_scaled_size(info.height, denom);
    const int64_t sw = nocopy::jpeg_scaled_size(info.width, denom);
    std::vector<uint8_t> out(static_cast<size_t>(sh * sw * 3));
    decoder.decode_full(jpeg, n, denom, out.data(), sw * 3);
    const nocopy::JpegWindow w{sh / 3, sw / 3, sh - sh / 3, sw - sw / 2};
    std::vector<uint8_t> win(static_cast<size_t>(w.height * w.width * 3));
    decoder.decode(jpeg, n, denom, w, win.data(), w.width * 3);
    const nocopy::JpegDecoder::Rows rows = decoder.decode_rows(jpeg, n, denom, w);
    for (int64_t r = 0; r < w.height; ++r) {
      if (std::memcmp(rows.data + r * rows.row_stride, win.data() + r * w.width * 3,
                      static_cast<size_t>(w.width) * 3) != 0) {
        std::abort();
      }
    }
  } catch (const std::exception&) {
  }
  return 0;
}
