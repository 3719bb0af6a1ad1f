// The JSON side of the set manifests (ImageSet, VideoSet), private to storage: the bounded read
// of a manifest file and the checked parse (strict UTF-8, nesting limit), with small helpers for
// the field checks. Every problem is std::invalid_argument "<path>: <problem>".
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nocopy/storage/image_set_manifest.hpp"

namespace nocopy::manifest_json {

using json = nlohmann::json;

/// Throws std::invalid_argument "<path>: <msg>".
[[noreturn]] void fail(const std::string& path, const std::string& msg);

/// A JSON value as a message shows it, cut to a readable length.
std::string shown(const json& v);

/// The value of `key` in object `m`, or nullptr when absent.
const json* member(const json& m, const char* key);

/// `text` parsed as JSON after a strict UTF-8 check, nesting limited to kMaxManifestDepth.
json parse_json(std::string_view text, const std::string& path);

/// True for a non-negative integer that fits int64.
bool is_count(const json& v);

/// True for the format version this build reads (kImageSetFormatVersion).
bool is_version(const json& v);

/// The "classes" list of manifest `m` (a list of strings, or null / absent: nullopt).
std::optional<std::vector<std::string>> parse_classes(const json& m, const std::string& path);

/// The "skipped" list of manifest `m` (absent: empty).
std::vector<SkippedInput> parse_skipped(const json& m, const std::string& path);

/// The text of the regular file `path` (a FIFO or device refused, never waited on), at most
/// kMaxManifestBytes; FileError with `what` when it cannot be opened.
std::string read_manifest_text(const std::string& path, const std::string& what);

}  // namespace nocopy::manifest_json
