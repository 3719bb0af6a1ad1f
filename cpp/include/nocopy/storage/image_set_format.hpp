// The ImageSet format registry: how a set stores its images (raw pixels or JPEG files), named by
// the manifest's "storage" field, and which .npy files a folder of each format holds.
//
// Every folder holds shapes.npy, offsets.npy, an optional labels.npy and manifest.json; the
// format adds its flat data array (pixels.npy or jpeg.npy) and, for encoded images, lengths.npy.
// A new storage format is one entry here plus its index check in image_set.cpp.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace nocopy {

/// How an ImageSet stores its images.
enum class ImageFormat {
  Raw,   ///< every image's pixels in one flat array; image i is a zero-copy view
  Jpeg,  ///< every image's JPEG file in one flat uint8 array; image i is decoded
};

/// One entry of the registry.
struct ImageFormatInfo {
  /// The format.
  ImageFormat format;
  /// Its name in manifest.json's "storage" (and Python's ds.format): "raw", "jpeg".
  std::string_view name;
  /// The flat array every image lies in: "pixels.npy" or "jpeg.npy".
  std::string_view data_file;
  /// The byte length of each image, "lengths.npy"; empty for raw (the shape gives the size).
  std::string_view lengths_file;
};

/// Index files every ImageSet folder holds (labels.npy may be absent).
inline constexpr std::string_view kImageSetShapesFile = "shapes.npy";
inline constexpr std::string_view kImageSetOffsetsFile = "offsets.npy";
inline constexpr std::string_view kImageSetLabelsFile = "labels.npy";
inline constexpr std::string_view kImageSetManifestFile = "manifest.json";

/// Every format this build reads, raw first (the manifest's default).
std::span<const ImageFormatInfo> image_formats();

/// The registry entry of `format`.
const ImageFormatInfo& image_format_info(ImageFormat format);

/// The entry named `name` (manifest "storage"), or nullptr when no format has that name.
const ImageFormatInfo* find_image_format(std::string_view name);

/// The registered names for messages: "raw, jpeg".
std::string image_format_names();

}  // namespace nocopy
