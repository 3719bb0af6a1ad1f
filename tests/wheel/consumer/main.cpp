// wheel_consumer: maps a uint8 .npy file with the nocopy library of an installed wheel, takes a
// center crop of it without copying, and prints what the test compares with NumPy.
//
// Usage: wheel_consumer PATH H W, PATH an (H0, W0, C) uint8 array. Output: "version=<CMake package
// version>", then "shape=(...) sum=S shares=<yes|no>" of the center crop of H x W of the file's
// array.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <nocopy/nocopy.hpp>
#include <string>

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

}  // namespace

int main(int argc, char** argv) {
  std::printf("version=%s\n", NOCOPY_PACKAGE_VERSION);
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s PATH H W\n", argv[0]);
    return 2;
  }
  try {
    const nocopy::View image = nocopy::open_npy(argv[1], nocopy::MapMode::ReadOnly);
    const nocopy::View crop = image.center_crop(std::atoll(argv[2]), std::atoll(argv[3]));
    const auto whole = image.byte_extent();
    const auto part = crop.byte_extent();
    const bool shares = part.begin >= whole.begin && part.end <= whole.end;
    std::printf("shape=%s sum=%llu shares=%s\n", nocopy::format_tuple(crop.shape()).c_str(),
                static_cast<unsigned long long>(sum_of(crop)), shares ? "yes" : "no");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
