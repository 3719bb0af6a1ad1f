// libFuzzer target for the VideoSet manifest parser: any bytes must either parse into a manifest
// whose fields hold what the checks promise, or be refused with std::invalid_argument; no other
// exception, crash, hang or deep recursion (ASan and UBSan check memory and arithmetic).
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>

#include "nocopy/storage/video_set.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  nocopy::VideoSetManifest m;
  try {
    m = nocopy::parse_video_set_manifest(text, "manifest.json");
  } catch (const std::invalid_argument& e) {
    if (std::string_view(e.what()).substr(0, 15) != "manifest.json: ") std::abort();
    return 0;
  }
  if (m.num_videos < 0 || m.num_frames < 0) std::abort();
  for (const std::string& c : m.codecs) {
    if (c.empty()) std::abort();
  }
  return 0;
}
