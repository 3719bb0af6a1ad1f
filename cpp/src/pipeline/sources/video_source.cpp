// VideoSource: clips decoded by a per-thread decoder kept open on the last video read.
#include "nocopy/pipeline/sources/video_source.hpp"

#include <atomic>
#include <stdexcept>
#include <utility>

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

VideoSource::VideoSource(VideoSet set) : set_(std::move(set)), id_(next_source_id++) {
  if (!video_available()) {
    throw std::runtime_error("nocopy was built without FFmpeg: it cannot decode " + set_.where() +
                             "; install libavcodec-dev libavformat-dev libswscale-dev and rebuild");
  }
}

void VideoSource::decode(int64_t i, std::span<const int64_t> frames, const FrameWindow* window,
                         const FrameSink& sink) const {
  static thread_local OpenVideo open;
  if (open.source != id_ || open.video != i) {
    open.source = 0;  // a failed open leaves no stale video behind
    const View bytes = set_.encoded(i);
    open.decoder.open(
        {static_cast<const uint8_t*>(bytes.data()), static_cast<size_t>(bytes.nbytes())});
    const std::span<const int64_t> pts = set_.frame_pts(i);
    const std::span<const uint8_t> keys = set_.keyframes(i);
    open.index.pts.assign(pts.begin(), pts.end());
    open.index.keyframe.assign(keys.begin(), keys.end());
    open.source = id_;
    open.video = i;
  }
  open.decoder.decode_frames(frames, open.index, sink, window);
}

}  // namespace nocopy
