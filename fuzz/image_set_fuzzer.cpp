// libFuzzer target for the ImageSet index validation, raw and JPEG: any index must either be
// rejected with std::invalid_argument or describe images that lie wholly inside the flat array,
// in order and without overlap; accepted indexes are then built into an ImageSet (validated
// again through strided views) and read end to end through its views (ASan checks).
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <span>
#include <stdexcept>
#include <vector>

#include "nocopy/core/view.hpp"
#include "nocopy/storage/image_set.hpp"

namespace {

using i128 = __int128;

void read_all(const nocopy::View& v) {
  volatile uint8_t sink = 0;
  const auto* p = static_cast<const uint8_t*>(v.data());
  for (int64_t b = 0; b < v.nbytes(); ++b) sink = sink + p[b];
}

// Records of (H, W, C, offset[, length]) int64 values after the 3-byte prefix.
std::vector<int64_t> records(const uint8_t* data, size_t size, size_t fields) {
  const size_t n = std::min<size_t>((size - 3) / (8 * fields), 16);
  std::vector<int64_t> out(n * fields);
  if (!out.empty()) std::memcpy(out.data(), data + 3, out.size() * 8);
  return out;
}

void fuzz_raw(const uint8_t* data, size_t size, int64_t count, int choice) {
  const int64_t item = int64_t{1} << (choice % 3);  // 1, 2 or 4 bytes
  const nocopy::DType dtype = item == 1   ? nocopy::DType::UInt8
                              : item == 2 ? nocopy::DType::UInt16
                                          : nocopy::DType::Float32;
  const std::vector<int64_t> rec = records(data, size, 4);
  const size_t n = rec.size() / 4;
  std::vector<int64_t> shapes, offsets;
  for (size_t i = 0; i < n; ++i) {
    shapes.insert(shapes.end(), {rec[4 * i], rec[4 * i + 1], rec[4 * i + 2]});
    offsets.push_back(rec[4 * i + 3]);
  }
  try {
    nocopy::validate_image_index(shapes, offsets, count, item, "shapes", "offsets");
  } catch (const std::invalid_argument&) {
    return;
  }
  i128 prev_end = 0;
  for (size_t i = 0; i < n; ++i) {
    const i128 end = static_cast<i128>(offsets[i]) +
                     static_cast<i128>(shapes[3 * i]) * shapes[3 * i + 1] * shapes[3 * i + 2];
    if (offsets[i] < prev_end || end > count || (offsets[i] * item) % 64 != 0) std::abort();
    prev_end = end;
  }
  if (n == 0) return;
  nocopy::View pixels = nocopy::View::empty(dtype, {count});
  std::memset(pixels.data(), 0, static_cast<size_t>(pixels.nbytes()));
  const auto ni = static_cast<int64_t>(n);
  // The index as one strided (N, 4) table, as a shared set passes it.
  std::vector<int64_t> table(rec);
  nocopy::View t = nocopy::View::c_contiguous(table.data(), nocopy::DType::Int64, {ni, 4}, nullptr);
  nocopy::ImageSet set = nocopy::ImageSet::from_index(
      pixels, t.slice(1, 0, 3), t.slice(1, 3, 4).reshape(std::vector<int64_t>{ni}), std::nullopt,
      "fuzz");
  for (int64_t i = 0; i < set.size(); ++i) read_all(set.image(i));
}

void fuzz_jpeg(const uint8_t* data, size_t size, int64_t count) {
  const std::vector<int64_t> rec = records(data, size, 5);
  const size_t n = rec.size() / 5;
  std::vector<int64_t> shapes, offsets, lengths;
  for (size_t i = 0; i < n; ++i) {
    shapes.insert(shapes.end(), {rec[5 * i], rec[5 * i + 1], rec[5 * i + 2]});
    offsets.push_back(rec[5 * i + 3]);
    lengths.push_back(rec[5 * i + 4]);
  }
  try {
    nocopy::validate_jpeg_index(shapes, offsets, lengths, count, "S", "O", "L");
  } catch (const std::invalid_argument&) {
    return;
  }
  i128 prev_end = 0;
  for (size_t i = 0; i < n; ++i) {
    const i128 end = static_cast<i128>(offsets[i]) + lengths[i];
    if (offsets[i] < prev_end || lengths[i] < 1 || end > count || shapes[3 * i + 2] != 3) {
      std::abort();
    }
    prev_end = end;
  }
  if (n == 0) return;
  nocopy::View bytes = nocopy::View::empty(nocopy::DType::UInt8, {count});
  std::memset(bytes.data(), 0, static_cast<size_t>(bytes.nbytes()));
  const auto ni = static_cast<int64_t>(n);
  auto view = [ni](std::vector<int64_t>& v, std::vector<int64_t> shape) {
    return nocopy::View::c_contiguous(v.data(), nocopy::DType::Int64, std::move(shape), nullptr);
  };
  nocopy::ImageSet set = nocopy::ImageSet::from_jpeg_index(
      bytes, view(shapes, {ni, 3}), view(offsets, {ni}), view(lengths, {ni}), std::nullopt, "fuzz");
  for (int64_t i = 0; i < set.size(); ++i) read_all(set.encoded(i));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Layout: u16 array length, u8 mode (bit 7: JPEG; else bits 0-6 pick the raw item size),
  // then records of little-endian int64, at most 16.
  if (size < 3) return 0;
  uint16_t count16;
  std::memcpy(&count16, data, 2);
  if (data[2] & 0x80) {
    fuzz_jpeg(data, size, count16);
  } else {
    fuzz_raw(data, size, count16, data[2]);
  }
  return 0;
}
