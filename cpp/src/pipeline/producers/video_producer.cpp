// VideoProducer: clip slots planned from the epoch order, the clip operator and the transforms'
// draws; filled by decoding the clip's frames in the worker (only each frame's window converted)
// and running the transforms on every frame with the clip's one set of parameters.
#include "nocopy/pipeline/producers/video_producer.hpp"

#include <algorithm>
#include <cstring>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>

#include "nocopy/pipeline/kernels/label_gather.hpp"
#include "nocopy/pipeline/kernels/resize.hpp"
#include "nocopy/pipeline/ops/transform_apply.hpp"
#include "nocopy/pipeline/producers/loader_options.hpp"
#include "nocopy/pipeline/producers/typed_loader.hpp"
#include "pipeline/producers/batches_ahead.hpp"

namespace nocopy {
namespace {

/// Largest epoch (videos x clips_per_video) accepted: the order keeps one int64 per clip.
constexpr int64_t kMaxEpochClips = int64_t{1} << 32;

int64_t epoch_clips(const VideoSource& videos, const VideoLoaderOptions& o) {
  const int64_t n = videos.size();
  if (n < 1) throw std::invalid_argument("the VideoSet has no videos; need at least 1");
  if (o.clips_per_video > kMaxEpochClips / n) {
    throw std::invalid_argument("clips_per_video " + std::to_string(o.clips_per_video) + " with " +
                                std::to_string(n) + " videos makes more than 2**32 clips an epoch");
  }
  return n * o.clips_per_video;
}

std::string video_name(const VideoSource& videos, int64_t i) {
  return "video " + std::to_string(i) + " (" + std::to_string(videos.height(i)) + "x" +
         std::to_string(videos.width(i)) + ")";
}

/// What one worker reuses for every clip.
struct ClipScratch {
  SampleGeometry geometry;
  TransformScratch transform;
  ResizeScratch resize;
  std::vector<char> frame;  // one CHW frame before its planes are spread (CTHW)
  std::vector<float> ones, zeros;
};

}  // namespace

VideoProducer::VideoProducer(VideoSourcePtr videos, std::optional<View> labels,
                             const VideoLoaderOptions& options, VideoTransformPtr program,
                             SampleOrderPtr order)
    : options_(validated(options)),
      videos_(std::move(videos)),
      labels_(std::move(labels)),
      program_(std::move(program)),
      order_(order ? std::move(order)
                   : std::make_shared<const EpochOrder>(epoch_clips(*videos_, options_),
                                                        options_.shuffle, options_.seed)) {
  const int64_t n = videos_->size();
  check_loader_labels(labels_, n);
  check_block_shuffle(options_, options_.shuffle, *order_, "a ShardedVideoSet or a remote one");
  // One frame size for the batch: every video's size (or output size through the transforms).
  std::map<std::pair<int64_t, int64_t>, int64_t> sizes;  // distinct (H, W) -> first video
  for (int64_t i = 0; i < n; ++i)
    sizes.emplace(std::make_pair(videos_->height(i), videos_->width(i)), i);
  bool first = true;
  int64_t first_video = 0;
  for (const auto& [hw, i] : sizes) {
    int64_t h = hw.first, w = hw.second;
    if (program_) {
      std::string why;
      const auto s = program_->output_size(h, w, &why);
      if (s[0] < 0) {
        throw std::invalid_argument("transforms cannot run on " + video_name(*videos_, i) + ": " +
                                    why);
      }
      h = s[0];
      w = s[1];
      for (const TransformStep& step : program_->steps()) {
        // The blur reflects its borders: half its kernel must fit the frame.
        if (step.kind == StepKind::GaussianBlur &&
            (step.kernel[0] / 2 >= w || step.kernel[1] / 2 >= h)) {
          throw std::invalid_argument("GaussianBlur: kernel_size is too large for frames of " +
                                      std::to_string(h) + " x " + std::to_string(w));
        }
      }
    }
    if (!first && (h != out_h_ || w != out_w_)) {
      const std::string fix = program_ ? "end the transforms with a fixed-size transform "
                                         "(CenterCrop, RandomResizedCrop, Resize((h, w)))"
                                       : "give transforms= that make one size";
      throw std::invalid_argument("a batch needs one frame size, but " +
                                  video_name(*videos_, first_video) + " makes " +
                                  std::to_string(out_h_) + "x" + std::to_string(out_w_) + " and " +
                                  video_name(*videos_, i) + " makes " + std::to_string(h) + "x" +
                                  std::to_string(w) + ": " + fix);
    }
    if (first) first_video = i;
    first = false;
    out_h_ = h;
    out_w_ = w;
  }
  out_c_ = program_ ? program_->output_channels() : 3;
  if (program_ && program_->input_channels() != 3) {
    throw std::invalid_argument("video transforms must be compiled for 3 channels");
  }
  dtype_ = program_ ? program_->output_dtype() : DType::UInt8;
  const int64_t T = options_.clip_len;
  std::vector<int64_t> shape;
  switch (options_.layout) {
    case ClipLayout::TCHW:
      shape = {T, out_c_, out_h_, out_w_};
      break;
    case ClipLayout::CTHW:
      shape = {out_c_, T, out_h_, out_w_};
      break;
    case ClipLayout::THWC:
      shape = {T, out_h_, out_w_, out_c_};
      break;
  }
  outputs_.push_back({"clips", dtype_, std::move(shape)});
  if (labels_) {
    label_shape_.assign(labels_->shape().begin() + 1, labels_->shape().end());
    outputs_.push_back({"labels", labels_->dtype(), label_shape_});
  }
}

VideoBatch VideoProducer::batch_of(EngineBatch&& batch) {
  return batch_of_outputs<VideoBatch>(std::move(batch));
}

std::unique_ptr<ProducerPlan> VideoProducer::plan(int64_t epoch, const ShardGeometry& geometry,
                                                  int64_t b) const {
  const int64_t n = geometry.batch_len(b);
  const std::shared_ptr<const std::vector<int64_t>> held = order_->order(epoch);
  const std::vector<int64_t>& order = *held;
  const auto e = static_cast<uint64_t>(epoch);
  const uint64_t seed = options_.seed;
  const int64_t T = options_.clip_len, per_video = options_.clips_per_video;
  auto out = std::make_unique<TypedPlan<VideoPlan>>();
  VideoPlan& p = out->plan;
  p.indices.resize(static_cast<size_t>(n));
  p.clips.resize(static_cast<size_t>(n));
  p.frames.resize(static_cast<size_t>(n * T));
  if (program_) {
    p.parameter_count = program_->parameter_count();
    p.parameters.reserve(static_cast<size_t>(n * p.parameter_count));
  }
  for (int64_t k = 0; k < n; ++k) {
    const auto slot = static_cast<size_t>(k);
    const uint64_t g = geometry.global(b, k);
    const int64_t s = order[g % order.size()];
    const int64_t i = s / per_video, clip = s % per_video;
    p.indices[slot] = i;
    p.clips[slot] = clip;
    const int64_t frames = videos_->num_frames(i);
    const int64_t start = clip_start(options_, frames, clip, seed, e, g);
    clip_frames(options_, frames, start,
                std::span<int64_t>(p.frames.data() + k * T, static_cast<size_t>(T)));
    if (program_) {
      const SampleParameters v = program_->draw(seed, e, g, videos_->height(i), videos_->width(i));
      p.parameters.insert(p.parameters.end(), v.begin(), v.end());
    }
  }
  if (videos_->reads_ahead()) hint_reads(order, geometry, b, p.indices);
  out->size = n;
  return out;
}

void VideoProducer::hint_reads(const std::vector<int64_t>& order, const ShardGeometry& geometry,
                               int64_t b, const std::vector<int64_t>& planned) const {
  // This batch's videos, then those of the fetch_ahead batches after it in the epoch.
  videos_->will_read(planned);
  hint_batches_ahead(order, geometry, b, options_.fetch_ahead, options_.clips_per_video,
                     [this](std::span<const int64_t> ahead) { videos_->will_read(ahead); });
}

void VideoProducer::fill(const ProducerPlan& plan, int64_t slot, std::span<char* const> out) const {
  static thread_local ClipScratch scratch;  // per worker: no allocation once warm
  const VideoPlan& p = static_cast<const TypedPlan<VideoPlan>&>(plan).plan;
  const auto k = static_cast<size_t>(slot);
  const int64_t i = p.indices[k];
  const int64_t T = options_.clip_len;
  const std::span<const int64_t> frames(p.frames.data() + k * static_cast<size_t>(T),
                                        static_cast<size_t>(T));
  const int64_t H = videos_->height(i), W = videos_->width(i);
  const auto count = static_cast<size_t>(p.parameter_count);
  const std::span<const double> params(p.parameters.data() + k * count, program_ ? count : 0);
  FrameWindow window{0, 0, H, W};
  if (program_) {
    sample_geometry(*program_, params, H, W, scratch.geometry);
    const SampleGeometry& g = scratch.geometry;
    window = {g.top, g.left, g.height, g.width};
  }
  const auto item = static_cast<int64_t>(itemsize(dtype_));
  const int64_t plane = out_h_ * out_w_ * item, frame_bytes = plane * out_c_;
  const bool spread = options_.layout == ClipLayout::CTHW;
  const bool channels_first = options_.layout != ClipLayout::THWC;
  if (spread) scratch.frame.resize(static_cast<size_t>(frame_bytes));
  scratch.ones.assign(3, 1.0f);
  scratch.zeros.assign(3, 0.0f);
  int64_t t = 0;
  videos_->decode(i, frames, &window, [&](const DecodedFrame& f) {
    if (t >= T) throw std::runtime_error("the decoder handed over more frames than asked for");
    char* dst = spread ? scratch.frame.data() : out[0] + t * frame_bytes;
    const ResizeSource src{f.rgb, DType::UInt8, f.height, f.width, 3, f.row_stride, 3, 1};
    if (program_) {
      const SourceResampler resample = [&](const ResizeGeometry& rg, const ResizeOutput& o) {
        ResizeGeometry local = rg;
        local.top -= f.top;
        local.left -= f.left;
        resample_window(src, local, o, scratch.resize);
      };
      apply_transforms(*program_, params, scratch.geometry, 3, resample, dst, channels_first,
                       scratch.transform);
    } else {
      // The frame as decoded, in the clip's layout.
      ResizeGeometry whole;
      whole.height = whole.resized_h = whole.out_h = H;
      whole.width = whole.resized_w = whole.out_w = W;
      resample_window(
          src, whole,
          {dst, DType::UInt8, channels_first, scratch.ones.data(), scratch.zeros.data()},
          scratch.resize);
    }
    if (spread) {
      for (int64_t c = 0; c < out_c_; ++c) {
        std::memcpy(out[0] + (c * T + t) * plane, scratch.frame.data() + c * plane,
                    static_cast<size_t>(plane));
      }
    }
    ++t;
  });
  if (t != T) {
    throw std::runtime_error("video " + std::to_string(i) + ": " + std::to_string(t) + " of " +
                             std::to_string(T) + " frames were decoded");
  }
  if (labels_) gather_label(*labels_, label_shape_, i, out[1]);
}

int64_t VideoProducer::sample_of(const ProducerPlan& plan, int64_t slot) const {
  return static_cast<const TypedPlan<VideoPlan>&>(plan).plan.indices[static_cast<size_t>(slot)];
}

std::vector<ByteRange> VideoProducer::source_extents() const {
  std::vector<ByteRange> out = videos_->extents();
  if (labels_) out.push_back(labels_->byte_extent());
  return out;
}

std::vector<CheckpointEntry> VideoProducer::resume_key() const {
  return {{"seed", options_.seed},
          {"num_videos", videos_->size()},
          {"clips_per_video", options_.clips_per_video},
          {"clips_per_epoch", order_->size()},
          {"shuffle", options_.shuffle}};
}

}  // namespace nocopy
