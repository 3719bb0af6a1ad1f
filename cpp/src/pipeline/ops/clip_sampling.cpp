// The clip operator: its names, option table, checks and draws.
#include "nocopy/pipeline/ops/clip_sampling.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "nocopy/pipeline/sampling/random_streams.hpp"

namespace nocopy {
namespace {

using O = ClipOptions;
using V = OptionValue;

/// Largest clip_len and frame_step accepted (a span of more frames than any video holds).
constexpr int64_t kMaxClipLen = int64_t{1} << 16;
constexpr int64_t kMaxFrameStep = int64_t{1} << 20;
/// Largest clips_per_video accepted.
constexpr int64_t kMaxClipsPerVideo = int64_t{1} << 20;

const OptionSpec<ClipOptions> kClipSpecs[] = {
    {"clip_len", OptionKind::Int, "Frames in each clip (>= 1).",
     [](O& o, const V& v) { o.clip_len = std::get<int64_t>(v); },
     [](const O& o) -> V { return o.clip_len; }},
    {"frame_step", OptionKind::Int,
     "Distance between a clip's consecutive frames, in frames (>= 1; 2 takes every other "
     "frame).",
     [](O& o, const V& v) { o.frame_step = std::get<int64_t>(v); },
     [](const O& o) -> V { return o.frame_step; }},
    {"clips_per_video", OptionKind::Int,
     "Clips of each video in an epoch (>= 1); an epoch has len(videos) * clips_per_video "
     "clips.",
     [](O& o, const V& v) { o.clips_per_video = std::get<int64_t>(v); },
     [](const O& o) -> V { return o.clips_per_video; }},
    {"clip_sampling", OptionKind::Name,
     "Where clips start: 'random' (a uniformly random first frame, drawn per seed, epoch and "
     "position), 'uniform' (clips_per_video clips evenly spread over the video, the same every "
     "epoch) or 'center' (the middle clip; clips_per_video=1). A video shorter than a clip "
     "repeats its last frame.",
     [](O& o, const V& v) {
       o.clip_sampling = clip_sampling_from_string(std::get<std::string>(v));
     },
     [](const O& o) -> V { return std::string(clip_sampling_name(o.clip_sampling)); }},
    {"layout", OptionKind::Name,
     "A clip's layout in the batch: 'TCHW' (batches (B, T, C, H, W)), 'CTHW' ((B, C, T, H, "
     "W)) or 'THWC' ((B, T, H, W, C)).",
     [](O& o, const V& v) { o.layout = clip_layout_from_string(std::get<std::string>(v)); },
     [](const O& o) -> V { return std::string(clip_layout_name(o.layout)); }},
};

void require(bool ok, const std::string& message) {
  if (!ok) throw std::invalid_argument(message);
}

}  // namespace

std::span<const OptionSpec<ClipOptions>> clip_option_specs() {
  return kClipSpecs;
}

ClipSampling clip_sampling_from_string(std::string_view text) {
  if (text == "random") return ClipSampling::Random;
  if (text == "uniform") return ClipSampling::Uniform;
  if (text == "center") return ClipSampling::Center;
  throw std::invalid_argument("clip_sampling '" + std::string(text) +
                              "' is not one of 'random', 'uniform', 'center'");
}

std::string_view clip_sampling_name(ClipSampling sampling) {
  switch (sampling) {
    case ClipSampling::Random:
      return "random";
    case ClipSampling::Uniform:
      return "uniform";
    case ClipSampling::Center:
      return "center";
  }
  return "?";
}

ClipLayout clip_layout_from_string(std::string_view text) {
  if (text == "TCHW") return ClipLayout::TCHW;
  if (text == "CTHW") return ClipLayout::CTHW;
  if (text == "THWC") return ClipLayout::THWC;
  throw std::invalid_argument("layout '" + std::string(text) +
                              "' is not one of 'TCHW', 'CTHW', 'THWC'");
}

std::string_view clip_layout_name(ClipLayout layout) {
  switch (layout) {
    case ClipLayout::TCHW:
      return "TCHW";
    case ClipLayout::CTHW:
      return "CTHW";
    case ClipLayout::THWC:
      return "THWC";
  }
  return "?";
}

void check_clip_options(const ClipOptions& o) {
  require(o.clip_len >= 1 && o.clip_len <= kMaxClipLen, "clip_len " + std::to_string(o.clip_len) +
                                                            " must be in [1, " +
                                                            std::to_string(kMaxClipLen) + "]");
  require(o.frame_step >= 1 && o.frame_step <= kMaxFrameStep,
          "frame_step " + std::to_string(o.frame_step) + " must be in [1, " +
              std::to_string(kMaxFrameStep) + "]");
  require(o.clips_per_video >= 1 && o.clips_per_video <= kMaxClipsPerVideo,
          "clips_per_video " + std::to_string(o.clips_per_video) + " must be in [1, " +
              std::to_string(kMaxClipsPerVideo) + "]");
  require(o.clip_sampling != ClipSampling::Center || o.clips_per_video == 1,
          "clip_sampling='center' takes one clip per video, not clips_per_video=" +
              std::to_string(o.clips_per_video) + " (use 'uniform' for several)");
}

int64_t clip_start(const ClipOptions& o, int64_t num_frames, int64_t clip, uint64_t seed,
                   uint64_t epoch, uint64_t position) {
  const int64_t room = std::max<int64_t>(num_frames - o.span(), 0);  // last valid start
  switch (o.clip_sampling) {
    case ClipSampling::Random:
      return static_cast<int64_t>(bounded(draw_bits(seed, epoch, position, RandomStream::ClipStart),
                                          static_cast<uint64_t>(room) + 1));
    case ClipSampling::Uniform:
      if (o.clips_per_video == 1) return room / 2;
      // Evenly spread, rounded to the nearest frame: clip k starts at k * room / (n - 1).
      return (2 * clip * room + (o.clips_per_video - 1)) / (2 * (o.clips_per_video - 1));
    case ClipSampling::Center:
      return room / 2;
  }
  return 0;
}

void clip_frames(const ClipOptions& o, int64_t num_frames, int64_t start, std::span<int64_t> out) {
  for (size_t t = 0; t < out.size(); ++t) {
    out[t] = std::min(start + static_cast<int64_t>(t) * o.frame_step, num_frames - 1);
  }
}

}  // namespace nocopy
