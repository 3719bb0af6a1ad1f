// The manifest of an ImageSet folder (manifest.json): format version, image count, storage
// format, class names and the inputs the packer skipped, read and checked in C++ so any program
// can open a folder by path.
//
// Reading is bounded: only a regular file is read (opened non-blocking, so a FIFO under the name
// is refused rather than waited on; a device such as /dev/zero is refused), at most
// kMaxManifestBytes of it, and JSON nested deeper than kMaxManifestDepth is refused. Every
// problem is std::invalid_argument naming the file (FileError for a missing or unreadable one).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nocopy/storage/image_set_format.hpp"

namespace nocopy {

/// Version of the ImageSet folder format this build writes and reads.
inline constexpr int kImageSetFormatVersion = 1;
/// Largest manifest.json read (64 MiB: room for the class names and a long list of skipped
/// inputs; a real manifest is a few KB to a few MB).
inline constexpr int64_t kMaxManifestBytes = int64_t{64} << 20;
/// Deepest JSON nesting accepted (a manifest nests 3 levels: object, skipped list, entry).
inline constexpr int kMaxManifestDepth = 64;

/// An input the packer could not read, as listed in the manifest.
struct SkippedInput {
  /// The input's path.
  std::string path;
  /// Why it was skipped ("" when the entry says nothing).
  std::string error;
};

/// What an ImageSet's manifest says.
struct ImageSetManifest {
  /// Number of images ("num_images", >= 0).
  int64_t num_images = 0;
  /// Storage format ("storage"; absent means raw).
  ImageFormat format = ImageFormat::Raw;
  /// Names of the label values ("classes"), when the manifest has them.
  std::optional<std::vector<std::string>> classes;
  /// Inputs the packer skipped ("skipped"; absent means none).
  std::vector<SkippedInput> skipped;
};

/// Parses and checks manifest text: a JSON object (UTF-8) with format_version ==
/// kImageSetFormatVersion, a num_images count, a registered storage name, classes (a list of
/// strings, or null/absent) and skipped (a list of {"path": str, "error": ...}). Other keys are
/// ignored. std::invalid_argument "<path>: <problem>" otherwise (`path` names the file).
ImageSetManifest parse_image_set_manifest(std::string_view text, const std::string& path);

/// Reads and parses `<folder>/manifest.json` (see the file comment for the bounds). FileError
/// (with the path) when it is missing or cannot be read, IsADirectory for a directory.
ImageSetManifest read_image_set_manifest(const std::string& folder);

}  // namespace nocopy
