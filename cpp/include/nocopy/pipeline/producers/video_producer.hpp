// VideoProducer: what one slot of a video batch holds: a clip of a video (clip_len frames,
// frame_step apart, its first frame from the clip operator, ops/clip_sampling), decoded in the
// worker with only each frame's transform window converted from YUV, through the transforms
// pipeline drawn ONCE per clip (every frame gets the same crop, flip, colour change, ...), laid
// out as TCHW, CTHW or THWC; and the video's label. Its plan is a pure function of (seed, epoch,
// global position): the epoch order over num_videos * clips_per_video slots, the clip's frames
// and the transform's draws. The batch engine runs it (nocopy::VideoLoader is the two together).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "nocopy/core/view.hpp"
#include "nocopy/pipeline/engine/batch_engine.hpp"
#include "nocopy/pipeline/engine/batch_producer.hpp"
#include "nocopy/pipeline/ops/transform_program.hpp"
#include "nocopy/pipeline/producers/video_options.hpp"
#include "nocopy/pipeline/sampling/epoch_order.hpp"
#include "nocopy/pipeline/sources/video_source.hpp"

namespace nocopy {

/// The plan of one video batch.
struct VideoPlan {
  /// Video of each slot.
  std::vector<int64_t> indices;
  /// Which of its video's clips_per_video clips each slot is.
  std::vector<int64_t> clips;
  /// The frame numbers of each slot's clip: clip_len per slot, slots one after another.
  std::vector<int64_t> frames;
  /// With transforms: each clip's drawn parameters (TransformProgram::draw), parameter_count
  /// per slot, slots one after another.
  std::vector<double> parameters;
  int64_t parameter_count = 0;
};

/// One delivered video batch; its views keep the batch buffer alive.
struct VideoBatch {
  /// (n, T, C, H, W), (n, C, T, H, W) or (n, T, H, W, C), C-contiguous, 64-byte aligned.
  View clips;
  /// (n, ...) gathered labels, when the loader has labels.
  std::optional<View> labels;
  /// Which batch of which epoch this is.
  int64_t epoch = 0, index = 0;
};

/// A compiled transforms pipeline shared by a producer and its caller.
using VideoTransformPtr = std::shared_ptr<const TransformProgram>;

/// The video loader's producer.
class VideoProducer final : public BatchProducer {
 public:
  /// Its plan of a batch.
  using Plan = VideoPlan;
  /// One delivered batch.
  using Batch = VideoBatch;
  /// The clips and labels of an engine batch of this producer.
  static Batch batch_of(EngineBatch&& batch);

  /// Checks `options` and the videos: at least one video; labels with first axis N; without
  /// `program`, every video the same size (the frames are delivered as decoded, uint8); with
  /// it, one output size for every video size (std::invalid_argument naming a video
  /// otherwise). With an `order` (a mixture's, over the clip ids video * clips_per_video +
  /// clip of the videos end to end), the epochs follow it instead of the uniform EpochOrder of
  /// every clip.
  VideoProducer(VideoSourcePtr videos, std::optional<View> labels,
                const VideoLoaderOptions& options, VideoTransformPtr program = nullptr,
                SampleOrderPtr order = nullptr);

  std::string_view kind() const override { return "VideoLoader"; }
  int64_t epoch_size() const override { return order_->size(); }
  const std::vector<SlotOutput>& outputs() const override { return outputs_; }
  std::unique_ptr<ProducerPlan> plan(int64_t epoch, const ShardGeometry& geometry,
                                     int64_t b) const override;
  void fill(const ProducerPlan& plan, int64_t slot, std::span<char* const> out) const override;
  int64_t sample_of(const ProducerPlan& plan, int64_t slot) const override;
  Stage fill_stage() const override { return Stage::Decode; }
  std::vector<ByteRange> source_extents() const override;
  std::vector<CheckpointEntry> resume_key() const override;

  /// The options (validated).
  const VideoLoaderOptions& options() const { return options_; }
  /// The videos.
  const VideoSource& videos() const { return *videos_; }
  /// The transforms pipeline, or null.
  const VideoTransformPtr& program() const { return program_; }
  /// Shape of one slot's clip (layout order).
  const std::vector<int64_t>& clip_shape() const { return outputs_[0].shape; }

 private:
  /// Tells a source whose shards open on demand the videos of batch b and of the fetch_ahead
  /// batches after it.
  void hint_reads(const std::vector<int64_t>& order, const ShardGeometry& geometry, int64_t b,
                  const std::vector<int64_t>& planned) const;

  VideoLoaderOptions options_;
  VideoSourcePtr videos_;
  std::optional<View> labels_;
  VideoTransformPtr program_;
  SampleOrderPtr order_;                       // of clip ids: video * clips_per_video + clip
  int64_t out_h_ = 0, out_w_ = 0, out_c_ = 0;  // one frame of the output
  DType dtype_ = DType::UInt8;
  std::vector<int64_t> label_shape_;
  std::vector<SlotOutput> outputs_;
};

}  // namespace nocopy
