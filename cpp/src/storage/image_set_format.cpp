// The ImageSet format registry (see image_set_format.hpp).
#include "nocopy/storage/image_set_format.hpp"

#include <array>

namespace nocopy {
namespace {

constexpr std::array<ImageFormatInfo, 2> kFormats = {{
    {ImageFormat::Raw, "raw", "pixels.npy", ""},
    {ImageFormat::Jpeg, "jpeg", "jpeg.npy", "lengths.npy"},
}};

}  // namespace

std::span<const ImageFormatInfo> image_formats() {
  return kFormats;
}

const ImageFormatInfo& image_format_info(ImageFormat format) {
  for (const ImageFormatInfo& f : kFormats) {
    if (f.format == format) return f;
  }
  return kFormats[0];  // unreachable: every enumerator is registered
}

const ImageFormatInfo* find_image_format(std::string_view name) {
  for (const ImageFormatInfo& f : kFormats) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::string image_format_names() {
  std::string out;
  for (const ImageFormatInfo& f : kFormats) {
    if (!out.empty()) out += ", ";
    out += f.name;
  }
  return out;
}

}  // namespace nocopy
