// VideoSource: clips decoded by a per-thread decoder kept open on the last video read.
#include "nocopy/pipeline/sources/video_source.hpp"

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <utility>

#include "internal/part_of.hpp"

namespace nocopy {
namespace {

std::atomic<uint64_t> next_source_id{1};

/// A worker's decoder and the video it has open.
struct OpenVideo {
  uint64_t source = 0;  // the VideoSource's id (0: none)
  int64_t video = -1;
  VideoIndex index;
  VideoDecoder decoder;
};

}  // namespace

VideoSource::VideoSource(VideoSet set) : VideoSource(std::vector<VideoSet>{std::move(set)}) {}

VideoSource::VideoSource(std::vector<VideoSet> shards)
    : sets_(std::move(shards)), id_(next_source_id++) {
  if (sets_.empty()) throw std::invalid_argument("a video source needs at least one VideoSet");
  if (!video_available()) {
    throw std::runtime_error("nocopy was built without FFmpeg: it cannot decode " +
                             sets_[0].where() +
                             "; install libavcodec-dev libavformat-dev libswscale-dev and rebuild");
  }
  for (const VideoSet& s : sets_) {
    offsets_.push_back(size_);
    size_ += s.size();
  }
}

std::vector<ByteRange> VideoSource::extents() const {
  std::vector<ByteRange> out;
  for (const VideoSet& s : sets_) out.push_back(s.data().byte_extent());
  return out;
}

size_t VideoSource::part_of(int64_t i) const {
  return internal::part_of(offsets_, i);
}

void VideoSource::decode(int64_t i, std::span<const int64_t> frames, const FrameWindow* window,
                         const FrameSink& sink) const {
  static thread_local OpenVideo open;
  if (open.source != id_ || open.video != i) {
    open.source = 0;  // a failed open leaves no stale video behind
    const size_t k = part_of(i);
    const VideoSet& set = sets_[k];
    const int64_t local = i - offsets_[k];
    const View bytes = set.encoded(local);
    open.decoder.open(
        {static_cast<const uint8_t*>(bytes.data()), static_cast<size_t>(bytes.nbytes())});
    const std::span<const int64_t> pts = set.frame_pts(local);
    const std::span<const uint8_t> keys = set.keyframes(local);
    open.index.pts.assign(pts.begin(), pts.end());
    open.index.keyframe.assign(keys.begin(), keys.end());
    open.source = id_;
    open.video = i;
  }
  open.decoder.decode_frames(frames, open.index, sink, window);
}

}  // namespace nocopy
