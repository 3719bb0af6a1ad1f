// ImageSet manifest reader: a bounded read of manifest.json (regular file only, size-capped),
// a strict UTF-8 check, then nlohmann/json with a nesting limit, and the field checks. The
// bounded read and the checked JSON parse are shared with the VideoSet manifest
// (manifest_json.hpp, a private header: nlohmann/json stays out of every public one).
#include "nocopy/storage/image_set_manifest.hpp"

#include <fcntl.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "nocopy/core/errors.hpp"
#include "storage/manifest_json.hpp"
#include "storage/posix_file.hpp"

namespace nocopy {
namespace manifest_json {

[[noreturn]] void fail(const std::string& path, const std::string& msg) {
  throw std::invalid_argument(path + ": " + msg);
}

namespace {

/// Offset of the first byte of `text` that is not well-formed UTF-8 (overlong forms, surrogates
/// and code points past U+10FFFF included, as Python's decoder refuses them), or npos.
size_t invalid_utf8_at(std::string_view text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // the allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;  // no overlong 3-byte forms
      if (c == 0xED) hi = 0x9F;  // no UTF-16 surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;  // no overlong 4-byte forms
      if (c == 0xF4) hi = 0x8F;  // nothing past U+10FFFF
    } else {
      return i;
    }
    if (i + len > n || s[i + 1] < lo || s[i + 1] > hi) return i;
    for (size_t k = 2; k < len; ++k) {
      if (s[i + k] < 0x80 || s[i + k] > 0xBF) return i;
    }
    i += len;
  }
  return std::string_view::npos;
}

}  // namespace

/// A JSON value as a message shows it, cut to a readable length.
std::string shown(const json& v) {
  std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

/// The value of `key` in object `m`, or nullptr when absent.
const json* member(const json& m, const char* key) {
  const auto it = m.find(key);
  return it == m.end() ? nullptr : &*it;
}

json parse_json(std::string_view text, const std::string& path) {
  const size_t bad = invalid_utf8_at(text);
  if (bad != std::string_view::npos) {
    const auto byte = static_cast<unsigned>(static_cast<unsigned char>(text[bad]));
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02x", byte);
    fail(path, "not UTF-8 text (byte " + std::string(hex) + " at offset " + std::to_string(bad) +
                   " does not start a valid character)");
  }
  // The callback sees each object and array as it opens, at its nesting depth: deep input stops
  // there, before it is built.
  const json::parser_callback_t limit_depth = [&path](int depth, json::parse_event_t event, json&) {
    if ((event == json::parse_event_t::object_start || event == json::parse_event_t::array_start) &&
        depth >= kMaxManifestDepth) {
      fail(path, "not valid JSON for a manifest (nested deeper than " +
                     std::to_string(kMaxManifestDepth) + " levels)");
    }
    return true;
  };
  try {
    return json::parse(text.begin(), text.end(), limit_depth);
  } catch (const json::exception& e) {
    fail(path, std::string("not valid JSON (") + e.what() + ")");
  }
}

bool is_count(const json& v) {
  if (v.is_number_unsigned()) return v.get<uint64_t>() <= static_cast<uint64_t>(INT64_MAX);
  return v.is_number_integer() && v.get<int64_t>() >= 0;
}

bool is_version(const json& v) {
  if (v.is_number_integer()) return v.get<int64_t>() == kImageSetFormatVersion;
  return v.is_number_float() && v.get<double>() == kImageSetFormatVersion;
}

std::optional<std::vector<std::string>> parse_classes(const json& m, const std::string& path) {
  const json* classes = member(m, "classes");
  if (classes == nullptr || classes->is_null()) return std::nullopt;
  if (!classes->is_array()) fail(path, "classes must be a list of strings");
  std::vector<std::string> names;
  names.reserve(classes->size());
  for (const json& c : *classes) {
    if (!c.is_string()) fail(path, "classes must be a list of strings");
    names.push_back(c.get<std::string>());
  }
  return names;
}

std::vector<SkippedInput> parse_skipped(const json& m, const std::string& path) {
  std::vector<SkippedInput> out;
  const json* skipped = member(m, "skipped");
  if (skipped == nullptr) return out;
  const std::string expect = "skipped must be a list of {'path': ..., 'error': ...} entries";
  if (!skipped->is_array()) fail(path, expect);
  out.reserve(skipped->size());
  for (const json& e : *skipped) {
    const json* p = e.is_object() ? member(e, "path") : nullptr;
    if (p == nullptr || !p->is_string()) fail(path, expect);
    const json* err = member(e, "error");
    out.push_back({p->get<std::string>(), err == nullptr     ? std::string()
                                          : err->is_string() ? err->get<std::string>()
                                                             : shown(*err)});
  }
  return out;
}

std::string read_manifest_text(const std::string& path, const std::string& what) {
  OpenFile f = open_regular_file(path, O_RDONLY, what);
  if (f.st.st_size > kMaxManifestBytes) {
    fail(path, "is " + std::to_string(f.st.st_size) + " bytes; a manifest is at most " +
                   std::to_string(kMaxManifestBytes) + " bytes");
  }
  // One byte more than fstat said: a file that changed size meanwhile is caught, not cut.
  std::string text(static_cast<size_t>(f.st.st_size) + 1, '\0');
  const size_t got =
      pread_full(f.fd.get(), reinterpret_cast<uint8_t*>(text.data()), text.size(), 0, path);
  if (got != static_cast<size_t>(f.st.st_size)) fail(path, "changed size while it was read");
  text.resize(got);
  return text;
}

}  // namespace manifest_json

using namespace manifest_json;

ImageSetManifest parse_image_set_manifest(std::string_view text, const std::string& path) {
  const json m = parse_json(text, path);
  if (!m.is_object()) fail(path, std::string("expected a JSON object, got ") + m.type_name());
  ImageSetManifest out;

  const json* version = member(m, "format_version");
  if (version == nullptr || !is_version(*version)) {
    fail(path, "format_version " + (version ? shown(*version) : std::string("(missing)")) +
                   " is not supported (this nocopy reads version " +
                   std::to_string(kImageSetFormatVersion) + ")");
  }
  if (const json* kind = member(m, "kind");
      kind != nullptr && !(kind->is_string() && kind->get_ref<const std::string&>() == "image")) {
    fail(path, "kind " + shown(*kind) +
                   ": this folder is not an ImageSet (a \"video\" folder opens as a VideoSet)");
  }
  const json* count = member(m, "num_images");
  if (count == nullptr || !is_count(*count)) {
    fail(path,
         "num_images " + (count ? shown(*count) : std::string("(missing)")) + " is not a count");
  }
  out.num_images = count->get<int64_t>();

  if (const json* storage = member(m, "storage")) {
    const ImageFormatInfo* f =
        storage->is_string() ? find_image_format(storage->get_ref<const std::string&>()) : nullptr;
    if (f == nullptr) {
      fail(path, "storage " + shown(*storage) + " is not one of " + image_format_names());
    }
    out.format = f->format;
  }

  out.classes = parse_classes(m, path);
  out.skipped = parse_skipped(m, path);
  return out;
}

ImageSetManifest read_image_set_manifest(const std::string& folder) {
  const std::string path = folder + "/" + std::string(kImageSetManifestFile);
  return parse_image_set_manifest(read_manifest_text(path, "cannot open ImageSet manifest"), path);
}

}  // namespace nocopy
