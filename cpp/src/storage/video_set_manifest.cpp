// VideoSet manifest parser: the shared bounded, checked JSON parse (manifest_json.hpp), then the
// video fields.
#include <string>
#include <vector>

#include "nocopy/storage/video_set.hpp"
#include "storage/manifest_json.hpp"

namespace nocopy {

using namespace manifest_json;

namespace {

/// The count `key` of manifest `m`; std::invalid_argument naming it otherwise.
int64_t count_field(const json& m, const char* key, const std::string& path) {
  const json* v = member(m, key);
  if (v == nullptr || !is_count(*v)) {
    fail(path,
         std::string(key) + " " + (v ? shown(*v) : std::string("(missing)")) + " is not a count");
  }
  return v->get<int64_t>();
}

}  // namespace

VideoSetManifest parse_video_set_manifest(std::string_view text, const std::string& path) {
  const json m = parse_json(text, path);
  if (!m.is_object()) fail(path, std::string("expected a JSON object, got ") + m.type_name());
  const json* version = member(m, "format_version");
  if (version == nullptr || !is_version(*version)) {
    fail(path, "format_version " + (version ? shown(*version) : std::string("(missing)")) +
                   " is not supported (this nocopy reads version " +
                   std::to_string(kImageSetFormatVersion) + ")");
  }
  const json* kind = member(m, "kind");
  if (kind == nullptr || !kind->is_string() ||
      kind->get_ref<const std::string&>() != kVideoSetKind) {
    fail(path, "kind " + (kind ? shown(*kind) : std::string("(missing: an ImageSet)")) +
                   ": this folder is not a VideoSet (an ImageSet folder opens as an ImageSet)");
  }
  VideoSetManifest out;
  out.num_videos = count_field(m, "num_videos", path);
  out.num_frames = count_field(m, "num_frames", path);
  const json* codecs = member(m, "codecs");
  if (codecs == nullptr || !codecs->is_array()) fail(path, "codecs must be a list of names");
  out.codecs.reserve(codecs->size());
  for (const json& c : *codecs) {
    if (!c.is_string() || c.get_ref<const std::string&>().empty()) {
      fail(path, "codecs must be a list of names, got " + shown(c));
    }
    out.codecs.push_back(c.get<std::string>());
  }
  out.classes = parse_classes(m, path);
  out.skipped = parse_skipped(m, path);
  return out;
}

}  // namespace nocopy
