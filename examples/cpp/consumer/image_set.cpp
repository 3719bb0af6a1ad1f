// nocopy_image_set: a C++ program that opens an ImageSet folder (written by nc.pack_images or
// `python -m nocopy pack`) with the installed nocopy library and reads every image.
//
// Usage: nocopy_image_set FOLDER. nocopy::ImageSet::open reads the manifest and maps the folder's
// .npy files (raw or JPEG, whichever the manifest says); nocopy::decode_image gives each image as
// pixels: a zero-copy view of a raw set, a libjpeg-turbo decode of a JPEG set.
//
// Output: "format=<raw|jpeg> count=N", then one line per image, "<i>: shape=(H, W, C) sum=S
// weighted=W", where S is the sum of the image's bytes (row-major) and W the sum of (k + 1) *
// byte k, both modulo 2**64: checksums a test compares with Pillow's decode of the same files.
#include <cstdint>
#include <cstdio>
#include <exception>
#include <nocopy/nocopy.hpp>  // the whole API: ImageSet (storage) and decode_image (codecs)
#include <string>

namespace {

struct Checksum {
  uint64_t sum = 0;       // sum of the bytes
  uint64_t weighted = 0;  // sum of (k + 1) * byte k
};

// Checksums of the bytes of a C-contiguous view (what decode_image returns).
Checksum checksum(const nocopy::View& v) {
  const auto* p = static_cast<const uint8_t*>(v.data());
  Checksum c;
  for (int64_t k = 0; k < v.nbytes(); ++k) {
    c.sum += p[k];
    c.weighted += static_cast<uint64_t>(k + 1) * p[k];
  }
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s FOLDER\n", argv[0]);
    return 2;
  }
  try {
    const nocopy::ImageSet set = nocopy::ImageSet::open(argv[1]);
    const auto& format = nocopy::image_format_info(set.format());
    std::printf("format=%s count=%lld\n", std::string(format.name).c_str(),
                static_cast<long long>(set.size()));
    nocopy::JpegDecoder decoder;  // reused for every image (unused by a raw set)
    for (int64_t i = 0; i < set.size(); ++i) {
      const nocopy::View image = nocopy::decode_image(set, i, decoder);
      const Checksum c = checksum(image);
      std::printf("%lld: shape=%s sum=%llu weighted=%llu\n", static_cast<long long>(i),
                  nocopy::format_tuple(image.shape()).c_str(),
                  static_cast<unsigned long long>(c.sum),
                  static_cast<unsigned long long>(c.weighted));
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
