// VideoSet: N videos whose container files (mp4, mkv, webm, avi, mov) are kept byte for byte in
// one flat array, with what a loader needs to seek in them probed once, when the set was packed:
// each video's frame size, frame rate, codec and a per-frame index of presentation timestamps
// and keyframe flags. Opening a set reads no video; a clip's seek (the keyframe at or before its
// first frame, then decode up to each wanted timestamp) needs no probing.
//
// Folder format (manifest.json "kind": "video", version 1; written by nocopy.pack_videos):
//   videos.npy       1-d uint8: the container files one after another, each 64-byte aligned;
//   offsets.npy      (N,) int64: byte offset of each file;   lengths.npy (N,) int64: its bytes;
//   shapes.npy       (N, 3) int64: H, W, 3 of the decoded RGB frames;
//   fps.npy          (N, 2) int64: frame rate as num, den;
//   time_bases.npy   (N, 2) int64: the unit of the timestamps as num, den seconds;
//   codecs.npy       (N,) int64: index into the manifest's "codecs" names;
//   frame_starts.npy (N + 1,) int64: where each video's frames start in pts.npy / keyframes.npy
//                    (0 first, F last; video i has frame_starts[i + 1] - frame_starts[i] frames);
//   pts.npy          (F,) int64: presentation timestamps, strictly increasing within a video;
//   keyframes.npy    (F,) uint8: 1 where a frame is a keyframe (a decoder may start there), else 0;
//   labels.npy       (N,) int64, optional.
// The index is validated in place on the mapped arrays (counts first, against the manifest and
// the byte array's size, then every value), then copied into private memory.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "nocopy/core/view.hpp"
#include "nocopy/storage/image_set_manifest.hpp"

namespace nocopy {

/// Byte alignment of the start of every container file in videos.npy.
inline constexpr int64_t kVideoSetAlignment = 64;
/// The manifest's "kind" of a VideoSet folder.
inline constexpr std::string_view kVideoSetKind = "video";

/// The .npy files of a VideoSet folder (labels.npy may be absent).
inline constexpr std::string_view kVideoSetDataFile = "videos.npy";
inline constexpr std::string_view kVideoSetOffsetsFile = "offsets.npy";
inline constexpr std::string_view kVideoSetLengthsFile = "lengths.npy";
inline constexpr std::string_view kVideoSetShapesFile = "shapes.npy";
inline constexpr std::string_view kVideoSetFpsFile = "fps.npy";
inline constexpr std::string_view kVideoSetTimeBasesFile = "time_bases.npy";
inline constexpr std::string_view kVideoSetCodecsFile = "codecs.npy";
inline constexpr std::string_view kVideoSetFrameStartsFile = "frame_starts.npy";
inline constexpr std::string_view kVideoSetPtsFile = "pts.npy";
inline constexpr std::string_view kVideoSetKeyframesFile = "keyframes.npy";
inline constexpr std::string_view kVideoSetLabelsFile = "labels.npy";

/// What a VideoSet's manifest says.
struct VideoSetManifest {
  /// Number of videos ("num_videos", >= 0).
  int64_t num_videos = 0;
  /// Number of frames of all videos together ("num_frames", >= 0).
  int64_t num_frames = 0;
  /// Codec names ("codecs"), indexed by codecs.npy.
  std::vector<std::string> codecs;
  /// Names of the label values ("classes"), when the manifest has them.
  std::optional<std::vector<std::string>> classes;
  /// Inputs the packer skipped ("skipped"; absent means none).
  std::vector<SkippedInput> skipped;
};

/// Parses and checks VideoSet manifest text: a JSON object with format_version ==
/// kImageSetFormatVersion, kind "video", num_videos and num_frames counts, codecs (a list of
/// non-empty strings), classes (a list of strings, or null/absent) and skipped (as an ImageSet's).
/// std::invalid_argument "<path>: <problem>" otherwise; an ImageSet manifest says so.
VideoSetManifest parse_video_set_manifest(std::string_view text, const std::string& path);

/// A validated set of videos: container bytes shared, index private.
class VideoSet {
 public:
  /// An empty set; only useful as a moved-to value.
  VideoSet() = default;

  /// Opens the VideoSet folder `folder`: reads manifest.json (bounded, regular file only), maps
  /// the .npy files read-only (a FIFO or device is refused, never waited on) and validates the
  /// index. A missing folder or file is FileError with the path; a corrupt, truncated,
  /// inconsistent or hostile one std::invalid_argument naming the file (and the video).
  static VideoSet open(const std::string& folder);

  /// Number of videos.
  int64_t size() const { return static_cast<int64_t>(offsets_.size()); }
  /// Number of frames of video i (unchecked index).
  int64_t num_frames(int64_t i) const {
    return frame_starts_[static_cast<size_t>(i) + 1] - frame_starts_[static_cast<size_t>(i)];
  }
  /// The container bytes of video i as a zero-copy 1-d uint8 view; negative i counts from the
  /// end; std::out_of_range outside [-N, N).
  View encoded(int64_t i) const;
  /// Presentation timestamps of video i's frames, in display order (unchecked index).
  std::span<const int64_t> frame_pts(int64_t i) const;
  /// Keyframe flags of video i's frames (unchecked index).
  std::span<const uint8_t> keyframes(int64_t i) const;
  /// The frame a decoder starts from to reach frame `frame` of video i: the last keyframe at or
  /// before it (0 when none is); std::out_of_range for a bad video or frame.
  int64_t seek_frame(int64_t i, int64_t frame) const;

  /// The flat byte array every container file lies in (read-only).
  const View& data() const { return data_; }
  /// Byte offset and length of each file in data().
  const std::vector<int64_t>& offsets() const { return offsets_; }
  const std::vector<int64_t>& lengths() const { return lengths_; }
  /// Flat (H, W, 3) triples, 3 * N values.
  const std::vector<int64_t>& shapes() const { return shapes_; }
  /// Flat (num, den) frame rates, 2 * N values.
  const std::vector<int64_t>& fps() const { return fps_; }
  /// Flat (num, den) time bases, 2 * N values.
  const std::vector<int64_t>& time_bases() const { return time_bases_; }
  /// Codec index of each video into codec_names().
  const std::vector<int64_t>& codecs() const { return codecs_; }
  /// Codec names (from the manifest).
  const std::vector<std::string>& codec_names() const { return codec_names_; }
  /// N + 1 frame starts into the per-frame arrays.
  const std::vector<int64_t>& frame_starts() const { return frame_starts_; }
  /// Every frame's timestamp and keyframe flag, video after video.
  const std::vector<int64_t>& all_pts() const { return pts_; }
  const std::vector<uint8_t>& all_keyframes() const { return keyframes_; }
  /// True when the set has a label per video.
  bool has_labels() const { return has_labels_; }
  /// Label of each video (empty when has_labels() is false).
  const std::vector<int64_t>& labels() const { return labels_; }
  /// Names of the label values, when known.
  const std::optional<std::vector<std::string>>& classes() const { return classes_; }
  /// Inputs the packer skipped.
  const std::vector<SkippedInput>& skipped() const { return skipped_; }
  /// The folder the set was opened from, for messages.
  const std::string& where() const { return where_; }

 private:
  /// Index i in [0, N) for a possibly negative i; std::out_of_range otherwise.
  size_t checked_index(int64_t i) const;

  View data_;
  std::vector<int64_t> offsets_, lengths_, shapes_, fps_, time_bases_, codecs_, frame_starts_, pts_,
      labels_;
  std::vector<uint8_t> keyframes_;
  bool has_labels_ = false;
  std::vector<std::string> codec_names_;
  std::optional<std::vector<std::string>> classes_;
  std::vector<SkippedInput> skipped_;
  std::string where_;
};

}  // namespace nocopy
