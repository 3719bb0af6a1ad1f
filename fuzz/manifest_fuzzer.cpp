// libFuzzer target for the ImageSet manifest parser: any bytes must either parse into a manifest
// whose fields hold what the checks promise, or be refused with std::invalid_argument; no other
// exception, crash, hang or deep recursion (ASan and UBSan check memory and arithmetic).
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>

#include "nocopy/storage/image_set_manifest.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  nocopy::ImageSetManifest m;
  try {
    m = nocopy::parse_image_set_manifest(text, "manifest.json");
  } catch (const std::invalid_argument& e) {
    if (std::string_view(e.what()).substr(0, 15) != "manifest.json: ") std::abort();
    return 0;
  }
  if (m.num_images < 0) std::abort();
  if (nocopy::find_image_format(nocopy::image_format_info(m.format).name) == nullptr) std::abort();
  return 0;
}
