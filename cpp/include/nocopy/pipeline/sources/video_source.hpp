// VideoSource: the videos a video producer reads (a VideoSet, or the shards of a sharded one read
// as one: video i of the whole is video i - offset of the shard holding it), and the decoding of
// a clip's frames from them. The shards are either all open, or opened on demand through a
// ShardProvider (a remote dataset: a shard is fetched when a worker first decodes one of its
// videos, `max_open` kept open, the shards of the batches ahead hinted by will_read); the
// videos' frame counts and sizes are known up front either way, so clips are planned without
// any shard. Each worker thread keeps one decoder open on the video it read last,
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
#include "nocopy/storage/shard_provider.hpp"
#include "nocopy/storage/video_set.hpp"

namespace nocopy {

/// The shards of a sharded video dataset, opened on demand.
using VideoShardProvider = ShardProvider<VideoSet>;

/// What a source over shards opened on demand knows before any shard is open.
struct ShardedVideosLayout {
  /// Videos in each shard (each >= 1), in order.
  std::vector<int64_t> shard_sizes;
  /// Frames of every video (each >= 1), shards end to end.
  std::vector<int64_t> num_frames;
  /// Flat (H, W, 3) of every video's decoded frames, shards end to end.
  std::vector<int64_t> shapes;
  /// Shards kept open at most (>= 1); the least recently used beyond it are closed.
  int64_t max_open = 16;
};

/// A producer's videos.
class VideoSource final : public SampleSource {
 public:
  /// The videos of `set` (std::runtime_error when this build cannot decode video).
  explicit VideoSource(VideoSet set);
  /// The videos of `shards` end to end (at least one; std::invalid_argument otherwise).
  explicit VideoSource(std::vector<VideoSet> shards);
  /// The videos of `provider`'s shards, each opened when first decoded and checked against
  /// `layout` (std::invalid_argument when the layout is inconsistent).
  VideoSource(std::shared_ptr<const VideoShardProvider> provider, ShardedVideosLayout layout);
  /// The videos of several sources end to end (a mixture's datasets, local or opened on
  /// demand; at least one, none null: std::invalid_argument otherwise).
  explicit VideoSource(std::vector<std::shared_ptr<const VideoSource>> parts);

  int64_t size() const override { return size_; }
  std::vector<ByteRange> extents() const override;

  /// Frames of video i (unchecked index).
  int64_t num_frames(int64_t i) const { return num_frames_[static_cast<size_t>(i)]; }
  /// Picture height and width of video i (unchecked index).
  int64_t height(int64_t i) const { return shapes_[static_cast<size_t>(3 * i)]; }
  int64_t width(int64_t i) const { return shapes_[static_cast<size_t>(3 * i + 1)]; }

  /// Videos in each shard (or in each part, for sources laid end to end), in order.
  std::vector<int64_t> shard_sizes() const;
  /// True when some shards are opened on demand: the producer hints the videos ahead.
  bool reads_ahead() const { return reads_ahead_; }
  /// Hints that `videos` will be decoded soon: their closed shards are fetched in the
  /// background (nothing for shards all open; must not throw).
  void will_read(std::span<const int64_t> videos) const noexcept;

  /// Decodes `frames` (non-decreasing) of video i with the calling thread's decoder, converting
  /// only `window` of each (the whole frame when null), and hands each to `sink`
  /// (VideoDecoder::decode_frames). std::invalid_argument / std::runtime_error for a video that
  /// cannot be decoded.
  void decode(int64_t i, std::span<const int64_t> frames, const FrameWindow* window,
              const FrameSink& sink) const;

 private:
  struct LazyShards;
  using ShardPtr = std::shared_ptr<const VideoSet>;

  size_t part_of(int64_t i) const;
  /// Shard k, opened first when it is not (a shard opened on demand is checked against the
  /// layout: std::runtime_error naming it otherwise).
  ShardPtr shard(size_t k) const;
  /// Records the videos of shards of the given sizes (offsets, size).
  void add_shards(const std::vector<int64_t>& shard_sizes);

  std::vector<ShardPtr> sets_;                             // every shard, when they are all open
  std::shared_ptr<const VideoShardProvider> provider_;     // else where they come from
  std::shared_ptr<LazyShards> lazy_;                       // and which are open
  std::vector<std::shared_ptr<const VideoSource>> parts_;  // or the sources laid end to end
  bool reads_ahead_ = false;
  std::vector<int64_t> offsets_;     // first video of each shard (or part)
  std::vector<int64_t> num_frames_;  // per video
  std::vector<int64_t> shapes_;      // flat (H, W, 3) per video
  int64_t size_ = 0;
  uint64_t id_;  // unique per source ever made: a worker's decoder is never reused across sources
};

/// A shared, immutable video source.
using VideoSourcePtr = std::shared_ptr<const VideoSource>;

}  // namespace nocopy
