// VideoSource: the videos a video producer reads (a VideoSet, or the shards of a sharded one read
// as one: video i of the whole is video i - offset of the shard holding it), and the decoding of
// a clip's frames from them. Each worker thread keeps one decoder open on the video it read last,
// with that video's frame index, so consecutive clips of one video reuse the decoder (and a clip
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
  /// The videos of `shards` end to end (at least one; std::invalid_argument otherwise).
  explicit VideoSource(std::vector<VideoSet> shards);

  int64_t size() const override { return size_; }
  std::vector<ByteRange> extents() const override;

  /// The first set (the only one unless sharded).
  const VideoSet& set() const { return sets_[0]; }
  /// Frames of video i (unchecked index).
  int64_t num_frames(int64_t i) const {
    const size_t k = part_of(i);
    return sets_[k].num_frames(i - offsets_[k]);
  }
  /// Picture height and width of video i (unchecked index).
  int64_t height(int64_t i) const { return shape_of(i)[0]; }
  int64_t width(int64_t i) const { return shape_of(i)[1]; }

  /// Decodes `frames` (non-decreasing) of video i with the calling thread's decoder, converting
  /// only `window` of each (the whole frame when null), and hands each to `sink`
  /// (VideoDecoder::decode_frames). std::invalid_argument / std::runtime_error for a video that
  /// cannot be decoded.
  void decode(int64_t i, std::span<const int64_t> frames, const FrameWindow* window,
              const FrameSink& sink) const;

 private:
  size_t part_of(int64_t i) const;
  const int64_t* shape_of(int64_t i) const {
    const size_t k = part_of(i);
    return sets_[k].shapes().data() + 3 * (i - offsets_[k]);
  }

  std::vector<VideoSet> sets_;
  std::vector<int64_t> offsets_;
  int64_t size_ = 0;
  uint64_t id_;  // unique per source ever made: a worker's decoder is never reused across sources
};

/// A shared, immutable video source.
using VideoSourcePtr = std::shared_ptr<const VideoSource>;

}  // namespace nocopy
