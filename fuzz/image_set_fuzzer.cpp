// libFuzzer target for the ImageSet index validation: any (shapes, offsets, pixel count) must
// either be rejected with a standard exception or describe images that lie wholly inside the
// pixel array; accepted indexes are then read end to end through ImageSet views (ASan checks).
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <span>
#include <stdexcept>
#include <vector>

#include "nocopy/core/view.hpp"
#include "nocopy/storage/image_set.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Layout: u16 pixel count, u8 item-size choice, then records of 4 little-endian int64
  // (H, W, C, offset), at most 16.
  if (size < 3) return 0;
  uint16_t count16;
  std::memcpy(&count16, data, 2);
  const int64_t item = int64_t{1} << (data[2] % 3);  // 1, 2 or 4 bytes
  const nocopy::DType dtype = item == 1   ? nocopy::DType::UInt8
                              : item == 2 ? nocopy::DType::UInt16
                                          : nocopy::DType::Float32;
  const size_t n = std::min<size_t>((size - 3) / 32, 16);
  std::vector<int64_t> shapes(3 * n), offsets(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t rec[4];
    std::memcpy(rec, data + 3 + 32 * i, 32);
    shapes[3 * i] = rec[0];
    shapes[3 * i + 1] = rec[1];
    shapes[3 * i + 2] = rec[2];
    offsets[i] = rec[3];
  }
  const int64_t pixel_count = count16;
  try {
    nocopy::validate_image_index(shapes, offsets, pixel_count, item, "shapes", "offsets");
  } catch (const std::invalid_argument&) {
    return 0;
  }
  for (size_t i = 0; i < n; ++i) {
    __extension__ using i128 = __int128;
    const i128 end = static_cast<i128>(offsets[i]) +
                     static_cast<i128>(shapes[3 * i]) * shapes[3 * i + 1] * shapes[3 * i + 2];
    if (offsets[i] < 0 || end > pixel_count || (offsets[i] * item) % 64 != 0) std::abort();
  }
  if (n == 0) return 0;
  nocopy::View pixels = nocopy::View::empty(dtype, {pixel_count});
  std::memset(pixels.data(), 0, static_cast<size_t>(pixels.nbytes()));
  const auto ni = static_cast<int64_t>(n);
  nocopy::View sv =
      nocopy::View::c_contiguous(shapes.data(), nocopy::DType::Int64, {ni, 3}, nullptr);
  nocopy::View ov = nocopy::View::c_contiguous(offsets.data(), nocopy::DType::Int64, {ni}, nullptr);
  nocopy::ImageSet set = nocopy::ImageSet::from_index(pixels, sv, ov, std::nullopt, "fuzz");
  volatile uint8_t sink = 0;
  for (int64_t i = 0; i < set.size(); ++i) {
    nocopy::View v = set.image(i);
    const auto* p = static_cast<const uint8_t*>(v.data());
    for (int64_t b = 0; b < v.nbytes(); ++b) sink = sink + p[b];
  }
  return 0;
}
