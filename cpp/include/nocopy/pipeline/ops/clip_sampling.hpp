// The clip operator of the video loader, declared once: which frames of a video each slot reads
// (clip_len frames, frame_step apart, from a first frame chosen by clip_sampling), how many
// clips of each video an epoch holds, and the layout of a clip in the batch; its options with
// their docs and checks, and its draws (pure functions of seed, epoch and global position).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "nocopy/core/option_spec.hpp"

namespace nocopy {

/// Where a video's clips start.
enum class ClipSampling : uint8_t {
  Random,   ///< uniformly random first frame, drawn per (seed, epoch, position)
  Uniform,  ///< clips_per_video first frames evenly spread from the first to the last
  Center,   ///< the one clip in the middle of the video
};

/// How a clip lies in the batch (T frames, C channels).
enum class ClipLayout : uint8_t {
  TCHW,  ///< (T, C, H, W): frames of CHW images (torchvision's video tensors)
  CTHW,  ///< (C, T, H, W): channel planes of the whole clip (3-d convolutions)
  THWC,  ///< (T, H, W, C): frames of HWC images
};

/// Parses "random", "uniform" or "center"; std::invalid_argument naming the text otherwise.
ClipSampling clip_sampling_from_string(std::string_view text);
/// The name of a sampling, as clip_sampling_from_string accepts it.
std::string_view clip_sampling_name(ClipSampling sampling);
/// Parses "TCHW", "CTHW" or "THWC"; std::invalid_argument naming the text otherwise.
ClipLayout clip_layout_from_string(std::string_view text);
/// The name of a layout.
std::string_view clip_layout_name(ClipLayout layout);

/// The operator's options (nc.VideoLoader's keyword arguments of the same names).
struct ClipOptions {
  /// Frames in each clip (>= 1).
  int64_t clip_len = 16;
  /// Distance between a clip's consecutive frames, in frames (>= 1).
  int64_t frame_step = 1;
  /// Clips of each video in an epoch (>= 1): an epoch has num_videos * clips_per_video slots.
  int64_t clips_per_video = 1;
  /// Where clips start.
  ClipSampling clip_sampling = ClipSampling::Random;
  /// The clip's layout in the batch.
  ClipLayout layout = ClipLayout::TCHW;

  /// Frames from a clip's first to its last, inclusive: (clip_len - 1) * frame_step + 1.
  int64_t span() const { return (clip_len - 1) * frame_step + 1; }
};

/// The declarations of ClipOptions.
std::span<const OptionSpec<ClipOptions>> clip_option_specs();

/// std::invalid_argument naming the option, its value and the limit.
void check_clip_options(const ClipOptions& options);

/// The first frame of clip `clip` (in [0, clips_per_video)) of a video of `num_frames` frames,
/// the slot at global `position` of `epoch`: in [0, max(num_frames - span, 0)].
int64_t clip_start(const ClipOptions& options, int64_t num_frames, int64_t clip, uint64_t seed,
                   uint64_t epoch, uint64_t position);

/// The clip's frame numbers: start + t * frame_step for t in [0, clip_len), each past the last
/// frame held at the last frame (a video shorter than the span repeats its last frame).
void clip_frames(const ClipOptions& options, int64_t num_frames, int64_t start,
                 std::span<int64_t> out);

}  // namespace nocopy
