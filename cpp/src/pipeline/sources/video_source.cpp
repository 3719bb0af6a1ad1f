// VideoSource: clips decoded by a per-thread decoder kept open on the last video read; shards
// either all open or opened on demand through internal::LazyShards.
#include "nocopy/pipeline/sources/video_source.hpp"

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <string>
#include <utility>

#include "internal/lazy_shards.hpp"
#include "internal/part_of.hpp"

namespace nocopy {
namespace {

std::atomic<uint64_t> next_source_id{1};

/// A worker's decoder and the video it has open.
struct OpenVideo {
  uint64_t source = 0;  // the VideoSource's id (0: none)
  int64_t video = -1;
  std::shared_ptr<const VideoSet> shard;  // keeps the decoded bytes mapped while open
  VideoIndex index;
  VideoDecoder decoder;
};

void require_video() {
  if (!video_available()) {
    throw std::runtime_error(
        "nocopy was built without FFmpeg: it cannot decode video; install libavcodec-dev "
        "libavformat-dev libswscale-dev and rebuild");
  }
}

}  // namespace

/// The open shards of a source whose shards are opened on demand.
struct VideoSource::LazyShards : internal::LazyShards<ShardPtr> {
  using internal::LazyShards<ShardPtr>::LazyShards;
};

VideoSource::VideoSource(VideoSet set) : VideoSource(std::vector<VideoSet>{std::move(set)}) {}

VideoSource::VideoSource(std::vector<VideoSet> shards) : id_(next_source_id++) {
  if (shards.empty()) throw std::invalid_argument("a video source needs at least one VideoSet");
  require_video();
  std::vector<int64_t> sizes;
  for (VideoSet& s : shards) {
    sizes.push_back(s.size());
    for (int64_t j = 0; j < s.size(); ++j) num_frames_.push_back(s.num_frames(j));
    shapes_.insert(shapes_.end(), s.shapes().begin(), s.shapes().end());
    sets_.push_back(std::make_shared<const VideoSet>(std::move(s)));
  }
  add_shards(sizes);
}

VideoSource::VideoSource(std::shared_ptr<const VideoShardProvider> provider,
                         ShardedVideosLayout layout)
    : provider_(std::move(provider)),
      num_frames_(std::move(layout.num_frames)),
      shapes_(std::move(layout.shapes)),
      id_(next_source_id++) {
  if (!provider_) throw std::invalid_argument("a sharded video source needs a shard provider");
  reads_ahead_ = true;
  lazy_ = std::make_shared<LazyShards>(layout.shard_sizes.size(), layout.max_open);
  require_video();
  for (size_t k = 0; k < layout.shard_sizes.size(); ++k) {
    if (layout.shard_sizes[k] < 1) {
      throw std::invalid_argument("shard " + std::to_string(k) + " has no video");
    }
  }
  add_shards(layout.shard_sizes);
  if (static_cast<int64_t>(num_frames_.size()) != size_ ||
      static_cast<int64_t>(shapes_.size()) != 3 * size_) {
    throw std::invalid_argument("the shards hold " + std::to_string(size_) + " videos but " +
                                std::to_string(num_frames_.size()) + " frame counts and " +
                                std::to_string(shapes_.size() / 3) + " shapes are given");
  }
  for (int64_t i = 0; i < size_; ++i) {
    if (num_frames(i) < 1 || height(i) < 1 || width(i) < 1 ||
        shapes_[static_cast<size_t>(3 * i + 2)] != 3) {
      throw std::invalid_argument("video " + std::to_string(i) + " has a bad frame count or size");
    }
  }
}

VideoSource::VideoSource(std::vector<std::shared_ptr<const VideoSource>> parts)
    : parts_(std::move(parts)), id_(next_source_id++) {
  if (parts_.empty()) throw std::invalid_argument("a video source needs at least one part");
  std::vector<int64_t> sizes;
  for (const auto& part : parts_) {
    if (!part) throw std::invalid_argument("a video source's part is null");
    sizes.push_back(part->size());
    num_frames_.insert(num_frames_.end(), part->num_frames_.begin(), part->num_frames_.end());
    shapes_.insert(shapes_.end(), part->shapes_.begin(), part->shapes_.end());
    reads_ahead_ = reads_ahead_ || part->reads_ahead();
  }
  add_shards(sizes);
}

void VideoSource::add_shards(const std::vector<int64_t>& shard_sizes) {
  for (int64_t n : shard_sizes) {
    offsets_.push_back(size_);
    size_ += n;
  }
}

std::vector<ByteRange> VideoSource::extents() const {
  std::vector<ByteRange> out;
  for (const ShardPtr& s : sets_) out.push_back(s->data().byte_extent());
  for (const auto& part : parts_) {
    const std::vector<ByteRange> more = part->extents();
    out.insert(out.end(), more.begin(), more.end());
  }
  return out;  // shards opened on demand are mapped later: none known up front
}

std::vector<int64_t> VideoSource::shard_sizes() const {
  std::vector<int64_t> sizes;
  for (size_t k = 0; k < offsets_.size(); ++k) {
    sizes.push_back((k + 1 < offsets_.size() ? offsets_[k + 1] : size_) - offsets_[k]);
  }
  return sizes;
}

size_t VideoSource::part_of(int64_t i) const {
  return internal::part_of(offsets_, i);
}

void VideoSource::will_read(std::span<const int64_t> videos) const noexcept {
  if (!parts_.empty()) {
    std::vector<int64_t> local;
    for (size_t k = 0; k < parts_.size(); ++k) {
      if (!parts_[k]->reads_ahead()) continue;
      local.clear();
      for (int64_t i : videos) {
        if (i >= 0 && i < size_ && part_of(i) == k) local.push_back(i - offsets_[k]);
      }
      if (!local.empty()) parts_[k]->will_read(local);
    }
    return;
  }
  if (!lazy_) return;
  size_t last = lazy_->size();
  for (int64_t i : videos) {
    if (i < 0 || i >= size_) continue;
    const size_t k = part_of(i);
    if (k == last) continue;
    last = k;
    if (lazy_->closed(k)) provider_->prefetch(k);
  }
}

VideoSource::ShardPtr VideoSource::shard(size_t k) const {
  if (!lazy_) return sets_[k];
  return lazy_->acquire(k, [this](size_t s) {
    auto set = std::make_shared<const VideoSet>(provider_->open(s));
    const int64_t first = offsets_[s];
    const int64_t n = (s + 1 < offsets_.size() ? offsets_[s + 1] : size_) - first;  // its videos
    if (set->size() != n) {
      throw std::runtime_error("shard " + std::to_string(s) + " holds " +
                               std::to_string(set->size()) + " videos, the index says " +
                               std::to_string(n));
    }
    for (int64_t j = 0; j < n; ++j) {
      const int64_t* shape = set->shapes().data() + 3 * j;
      if (set->num_frames(j) != num_frames(first + j) || shape[0] != height(first + j) ||
          shape[1] != width(first + j)) {
        throw std::runtime_error("shard " + std::to_string(s) + " video " + std::to_string(j) +
                                 " does not have the frames or size the index says");
      }
    }
    return ShardPtr(std::move(set));
  });
}

void VideoSource::decode(int64_t i, std::span<const int64_t> frames, const FrameWindow* window,
                         const FrameSink& sink) const {
  if (!parts_.empty()) {
    const size_t k = part_of(i);
    parts_[k]->decode(i - offsets_[k], frames, window, sink);
    return;
  }
  static thread_local OpenVideo open;
  if (open.source != id_ || open.video != i) {
    open.source = 0;  // a failed open leaves no stale video behind
    const size_t k = part_of(i);
    ShardPtr set = shard(k);
    const int64_t local = i - offsets_[k];
    const View bytes = set->encoded(local);
    open.decoder.open(
        {static_cast<const uint8_t*>(bytes.data()), static_cast<size_t>(bytes.nbytes())});
    const std::span<const int64_t> pts = set->frame_pts(local);
    const std::span<const uint8_t> keys = set->keyframes(local);
    open.index.pts.assign(pts.begin(), pts.end());
    open.index.keyframe.assign(keys.begin(), keys.end());
    open.shard = std::move(set);
    open.source = id_;
    open.video = i;
  }
  open.decoder.decode_frames(frames, open.index, sink, window);
}

}  // namespace nocopy
