// wheel_consumer: a C++ program built against the C++ package of an installed nocopy wheel.
// It maps a uint8 .npy file, takes a center crop of it without copying, decodes a JPEG with the
// core's libjpeg-turbo decoder and asks FFmpeg to probe bytes that are no video, and prints
// what the test compares with NumPy and Pillow.
//
// Usage: wheel_consumer NPY H W JPEG, NPY an (H0, W0, C) uint8 array. Output lines:
//   version=<the CMake package's version>
//   crop shape=(...) sum=S shares=<yes|no>   (the center crop of H x W of the array)
//   jpeg height=H width=W sum=S              (the JPEG decoded as RGB)
//   video=<rejected|accepted>                (FFmpeg's answer to 64 zero bytes)
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <iterator>
#include <nocopy/nocopy.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

// Sum of the bytes of a uint8 (H, W, C) view of any strides (in elements = bytes).
uint64_t sum_of(const nocopy::View& v) {
  const auto* base = static_cast<const uint8_t*>(v.data());
  uint64_t sum = 0;
  for (int64_t r = 0; r < v.shape()[0]; ++r) {
    for (int64_t c = 0; c < v.shape()[1]; ++c) {
      for (int64_t k = 0; k < v.shape()[2]; ++k) {
        sum += base[r * v.strides()[0] + c * v.strides()[1] + k * v.strides()[2]];
      }
    }
  }
  return sum;
}

void crop_demo(const char* path, int64_t height, int64_t width) {
  const nocopy::View image = nocopy::open_npy(path, nocopy::MapMode::ReadOnly);
  const nocopy::View crop = image.center_crop(height, width);
  const auto whole = image.byte_extent();
  const auto part = crop.byte_extent();
  const bool shares = part.begin >= whole.begin && part.end <= whole.end;
  std::printf("crop shape=%s sum=%llu shares=%s\n", nocopy::format_tuple(crop.shape()).c_str(),
              static_cast<unsigned long long>(sum_of(crop)), shares ? "yes" : "no");
}

void jpeg_demo(const char* path) {
  std::ifstream in(path, std::ios::binary);
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                   std::istreambuf_iterator<char>());
  nocopy::JpegDecoder decoder;
  const nocopy::JpegInfo info = decoder.read_header(bytes.data(), bytes.size());
  std::vector<uint8_t> pixels(static_cast<size_t>(info.height * info.width * 3));
  decoder.decode_full(bytes.data(), bytes.size(), 1, pixels.data(), info.width * 3);
  uint64_t sum = 0;
  for (const uint8_t p : pixels) sum += p;
  std::printf("jpeg height=%lld width=%lld sum=%llu\n", static_cast<long long>(info.height),
              static_cast<long long>(info.width), static_cast<unsigned long long>(sum));
}

void video_demo() {
  const std::vector<uint8_t> zeros(64, 0);
  try {
    nocopy::probe_video(zeros);
    std::printf("video=accepted\n");
  } catch (const std::invalid_argument&) {
    std::printf("video=rejected\n");
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::printf("version=%s\n", NOCOPY_PACKAGE_VERSION);
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s NPY H W JPEG\n", argv[0]);
    return 2;
  }
  try {
    crop_demo(argv[1], std::atoll(argv[2]), std::atoll(argv[3]));
    jpeg_demo(argv[4]);
    video_demo();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
