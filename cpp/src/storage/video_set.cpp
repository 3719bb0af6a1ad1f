// VideoSet: the folder reader (manifest, .npy files mapped), the index checks on the mapped
// arrays and the accessors.
#include "nocopy/storage/video_set.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>
#include <string>

#include "image_set_index.hpp"
#include "nocopy/core/errors.hpp"
#include "nocopy/storage/npy_file.hpp"
#include "storage/manifest_json.hpp"
#include "storage/posix_file.hpp"

namespace nocopy {

namespace idx = image_set_index;

namespace {

std::string video(int64_t i) {
  return "video " + std::to_string(i);
}

/// The mapped arrays of a folder and their file names.
struct Files {
  std::string folder;
  std::string name(std::string_view file) const { return folder + "/" + std::string(file); }
};

/// Checks the container byte ranges: each starts 64-byte aligned, at or after the end of the
/// one before, has at least one byte and ends inside the `byte_count` bytes.
void check_byte_ranges(const idx::IndexArray& offsets, const idx::IndexArray& lengths,
                       int64_t byte_count, const Files& f) {
  int64_t end = 0;
  for (int64_t i = 0; i < offsets.rows; ++i) {
    const int64_t at = offsets.at(i), len = lengths.at(i);
    if (at < end || at % kVideoSetAlignment != 0) {
      idx::fail(f.name(kVideoSetOffsetsFile),
                video(i) + " has offset " + std::to_string(at) + "; expected a multiple of " +
                    std::to_string(kVideoSetAlignment) + " at or after byte " +
                    std::to_string(end) + " (the end of the video before)");
    }
    if (len < 1 || len > byte_count - at) {
      idx::fail(f.name(kVideoSetLengthsFile), video(i) + " has " + std::to_string(len) +
                                                  " bytes at offset " + std::to_string(at) + "; " +
                                                  std::string(kVideoSetDataFile) + " holds " +
                                                  std::to_string(byte_count) + " bytes");
    }
    end = at + len;
  }
}

/// Checks that every (a, b) row of a rate array has a, b >= 1.
void check_rates(const idx::IndexArray& a, const std::string& name, const char* what) {
  for (int64_t i = 0; i < a.rows; ++i) {
    if (a.at(i, 0) < 1 || a.at(i, 1) < 1) {
      idx::fail(name, video(i) + " has " + what + " " + std::to_string(a.at(i, 0)) + "/" +
                          std::to_string(a.at(i, 1)) + "; both parts must be >= 1");
    }
  }
}

}  // namespace

VideoSet VideoSet::open(const std::string& folder) {
  const std::string what = "cannot open VideoSet folder";
  check_path(folder, what);
  struct stat st {};
  if (::stat(folder.c_str(), &st) != 0) throw FileError(errno, folder, what);
  if (!S_ISDIR(st.st_mode)) throw FileError(ENOTDIR, folder, what);
  const Files f{folder};
  const std::string manifest_name = f.name(kImageSetManifestFile);
  const VideoSetManifest manifest = parse_video_set_manifest(
      manifest_json::read_manifest_text(manifest_name, "cannot open VideoSet manifest"),
      manifest_name);

  // Each open refuses a FIFO or device and reads only the bounded .npy header.
  const View data = open_npy(f.name(kVideoSetDataFile));
  if (data.ndim() != 1 || !data.is_c_contiguous() || data.dtype() != DType::UInt8) {
    idx::fail(f.name(kVideoSetDataFile),
              "must be a contiguous 1-d uint8 array, got " + data.describe());
  }
  const View offsets_v = open_npy(f.name(kVideoSetOffsetsFile));
  if (offsets_v.ndim() != 1) {
    idx::fail(f.name(kVideoSetOffsetsFile),
              "shape is " + format_tuple(offsets_v.shape()) + "; expected (N,)");
  }
  // N first, from the headers alone: against the manifest and the byte array's size.
  const int64_t n = offsets_v.shape()[0];
  if (n < 1) idx::fail(f.name(kVideoSetOffsetsFile), "the set has no videos");
  if (manifest.num_videos != n) {
    idx::fail(manifest_name, "num_videos is " + std::to_string(manifest.num_videos) +
                                 " but offsets.npy holds " + std::to_string(n));
  }
  if ((n - 1) > (data.size() - 1) / kVideoSetAlignment) {
    idx::fail(f.name(kVideoSetOffsetsFile),
              std::to_string(n) + " videos need at least 64 * (N - 1) + 1 bytes; " +
                  std::string(kVideoSetDataFile) + " holds " + std::to_string(data.size()));
  }
  const int64_t frames = manifest.num_frames;
  if (frames < n) {
    idx::fail(manifest_name, "num_frames is " + std::to_string(frames) + " for " +
                                 std::to_string(n) + " videos; every video has a frame");
  }
  const View lengths_v = open_npy(f.name(kVideoSetLengthsFile));
  const View shapes_v = open_npy(f.name(kVideoSetShapesFile));
  const View fps_v = open_npy(f.name(kVideoSetFpsFile));
  const View time_bases_v = open_npy(f.name(kVideoSetTimeBasesFile));
  const View codecs_v = open_npy(f.name(kVideoSetCodecsFile));
  const View starts_v = open_npy(f.name(kVideoSetFrameStartsFile));
  const View pts_v = open_npy(f.name(kVideoSetPtsFile));
  const View key_v = open_npy(f.name(kVideoSetKeyframesFile));
  std::optional<View> labels_v;
  if (idx::name_exists(f.name(kVideoSetLabelsFile)))
    labels_v = open_npy(f.name(kVideoSetLabelsFile));

  const int64_t n1[] = {n}, n2[] = {n, 2}, n3[] = {n, 3}, starts_shape[] = {n + 1},
                fshape[] = {frames};
  const idx::IndexArray offsets = idx::index_array(offsets_v, n1, f.name(kVideoSetOffsetsFile));
  const idx::IndexArray lengths = idx::index_array(lengths_v, n1, f.name(kVideoSetLengthsFile));
  const idx::IndexArray shapes = idx::index_array(shapes_v, n3, f.name(kVideoSetShapesFile));
  const idx::IndexArray fps = idx::index_array(fps_v, n2, f.name(kVideoSetFpsFile));
  const idx::IndexArray tbs = idx::index_array(time_bases_v, n2, f.name(kVideoSetTimeBasesFile));
  const idx::IndexArray codecs = idx::index_array(codecs_v, n1, f.name(kVideoSetCodecsFile));
  const idx::IndexArray starts =
      idx::index_array(starts_v, starts_shape, f.name(kVideoSetFrameStartsFile));
  const idx::IndexArray pts = idx::index_array(pts_v, fshape, f.name(kVideoSetPtsFile));
  if (key_v.dtype() != DType::UInt8 || key_v.ndim() != 1 || key_v.shape()[0] != frames ||
      !key_v.is_c_contiguous()) {
    idx::fail(f.name(kVideoSetKeyframesFile), "must be a contiguous (" + std::to_string(frames) +
                                                  ",) uint8 array, got " + key_v.describe());
  }
  idx::IndexArray labels;
  if (labels_v) labels = idx::index_array(*labels_v, n1, f.name(kVideoSetLabelsFile));

  // Then every value, read in place.
  check_byte_ranges(offsets, lengths, data.size(), f);
  for (int64_t i = 0; i < n; ++i) {
    if (shapes.at(i, 0) < 1 || shapes.at(i, 1) < 1 || shapes.at(i, 2) != 3) {
      idx::fail(f.name(kVideoSetShapesFile),
                video(i) + " has shape (" + std::to_string(shapes.at(i, 0)) + ", " +
                    std::to_string(shapes.at(i, 1)) + ", " + std::to_string(shapes.at(i, 2)) +
                    "); expected (H, W, 3) with H, W >= 1");
    }
    const int64_t c = codecs.at(i);
    if (c < 0 || c >= static_cast<int64_t>(manifest.codecs.size())) {
      idx::fail(f.name(kVideoSetCodecsFile),
                video(i) + " has codec " + std::to_string(c) + ", outside the manifest's " +
                    std::to_string(manifest.codecs.size()) + " codec names");
    }
  }
  check_rates(fps, f.name(kVideoSetFpsFile), "frame rate");
  check_rates(tbs, f.name(kVideoSetTimeBasesFile), "time base");
  if (starts.at(0) != 0 || starts.at(n) != frames) {
    idx::fail(f.name(kVideoSetFrameStartsFile),
              "must start at 0 and end at num_frames " + std::to_string(frames) + ", got " +
                  std::to_string(starts.at(0)) + " and " + std::to_string(starts.at(n)));
  }
  for (int64_t i = 0; i < n; ++i) {
    const int64_t a = starts.at(i), b = starts.at(i + 1);
    if (b <= a || b > frames) {
      idx::fail(f.name(kVideoSetFrameStartsFile),
                video(i) + " has frames [" + std::to_string(a) + ", " + std::to_string(b) +
                    "); every video has at least one frame, in order");
    }
  }
  for (int64_t i = 0; i < n; ++i) {  // the frame ranges are valid: their timestamps now
    const int64_t a = starts.at(i), b = starts.at(i + 1);
    for (int64_t k = a + 1; k < b; ++k) {
      if (pts.at(k) <= pts.at(k - 1)) {
        idx::fail(f.name(kVideoSetPtsFile), video(i) + " frame " + std::to_string(k - a) +
                                                " has timestamp " + std::to_string(pts.at(k)) +
                                                ", not after the frame before (" +
                                                std::to_string(pts.at(k - 1)) + ")");
      }
    }
  }
  const auto* keys = key_v.data_as<const uint8_t>();
  for (int64_t k = 0; k < frames; ++k) {
    if (keys[k] > 1) {
      idx::fail(f.name(kVideoSetKeyframesFile), "frame " + std::to_string(k) + " has flag " +
                                                    std::to_string(keys[k]) + "; flags are 0 or 1");
    }
  }
  if (labels_v && manifest.classes) {
    idx::Names names{"", "", "", "", f.name(kVideoSetLabelsFile)};
    idx::validate_labels(labels, static_cast<int64_t>(manifest.classes->size()), names);
  }

  // Valid: copied into private memory, so later writes to the files cannot invalidate it.
  VideoSet s;
  s.data_ = data.as_readonly();
  s.offsets_ = idx::copy_values(offsets, 1);
  s.lengths_ = idx::copy_values(lengths, 1);
  s.shapes_ = idx::copy_values(shapes, 3);
  s.fps_ = idx::copy_values(fps, 2);
  s.time_bases_ = idx::copy_values(tbs, 2);
  s.codecs_ = idx::copy_values(codecs, 1);
  s.frame_starts_ = idx::copy_values(starts, 1);
  s.pts_ = idx::copy_values(pts, 1);
  s.keyframes_.assign(keys, keys + frames);
  if (labels_v) {
    s.labels_ = idx::copy_values(labels, 1);
    s.has_labels_ = true;
  }
  s.codec_names_ = manifest.codecs;
  s.classes_ = manifest.classes;
  s.skipped_ = manifest.skipped;
  s.where_ = folder;
  return s;
}

size_t VideoSet::checked_index(int64_t i) const {
  const int64_t n = size();
  if (i < -n || i >= n) {
    throw std::out_of_range("video index " + std::to_string(i) + " is out of range for a " +
                            "VideoSet of " + std::to_string(n) + " videos");
  }
  return static_cast<size_t>(i < 0 ? i + n : i);
}

View VideoSet::encoded(int64_t i) const {
  const size_t k = checked_index(i);
  auto* p = static_cast<uint8_t*>(data_.data()) + offsets_[k];
  return View(p, DType::UInt8, {lengths_[k]}, {1}, data_.owner(), data_.readonly(), data_.device());
}

std::span<const int64_t> VideoSet::frame_pts(int64_t i) const {
  const auto k = static_cast<size_t>(i);
  return {pts_.data() + frame_starts_[k], static_cast<size_t>(num_frames(i))};
}

std::span<const uint8_t> VideoSet::keyframes(int64_t i) const {
  const auto k = static_cast<size_t>(i);
  return {keyframes_.data() + frame_starts_[k], static_cast<size_t>(num_frames(i))};
}

int64_t VideoSet::seek_frame(int64_t i, int64_t frame) const {
  const auto k = static_cast<int64_t>(checked_index(i));
  if (frame < 0 || frame >= num_frames(k)) {
    throw std::out_of_range("frame " + std::to_string(frame) + " is out of range for " + video(k) +
                            " of " + std::to_string(num_frames(k)) + " frames");
  }
  const std::span<const uint8_t> keys = keyframes(k);
  for (int64_t f = frame; f > 0; --f) {
    if (keys[static_cast<size_t>(f)] != 0) return f;
  }
  return 0;
}

}  // namespace nocopy
