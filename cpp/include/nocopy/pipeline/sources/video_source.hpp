// VideoSource: the videos a video producer reads (a VideoSet), and the decoding of a clip's
// frames from them. Each worker thread keeps one decoder open on the video it read last, with
// that video's frame index, so consecutive clips of one video reuse the decoder (and a clip
// that continues forward inside the GOP the decoder is in needs no seek).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "nocopy/core/view.hpp"
#include "nocopy/pipeline/codecs/video_decoder.hpp"
#include "nocopy/pipeline/sources/sample_source.hpp"
#include "nocopy/storage/video_set.hpp"

namespace nocopy {

/// A producer's videos.
class VideoSource final : public SampleSource {
 public:
  /// The videos of `set` (std::runtime_error when this build cannot decode video).
  explicit VideoSource(VideoSet set);

  int64_t size() const override { return set_.size(); }
  std::vector<ByteRange> extents() const override { return {set_.data().byte_extent()}; }

  /// The set.
  const VideoSet& set() const { return set_; }
  /// Frames of video i (unchecked index).
  int64_t num_frames(int64_t i) const { return set_.num_frames(i); }
  /// Picture height and width of video i (unchecked index).
  int64_t height(int64_t i) const { return set_.shapes()[static_cast<size_t>(3 * i)]; }
  int64_t width(int64_t i) const { return set_.shapes()[static_cast<size_t>(3 * i + 1)]; }

  /// Decodes `frames` (non-decreasing) of video i with the calling thread's decoder, converting
  /// only `window` of each (the whole frame when null), and hands each to `sink`
  /// (VideoDecoder::decode_frames). std::invalid_argument / std::runtime_error for a video that
  /// cannot be decoded.
  void decode(int64_t i, std::span<const int64_t> frames, const FrameWindow* window,
              const FrameSink& sink) const;

 private:
  VideoSet set_;
  uint64_t id_;  // unique per source ever made: a worker's decoder is never reused across sources
};

/// A shared, immutable video source.
using VideoSourcePtr = std::shared_ptr<const VideoSource>;

}  // namespace nocopy
