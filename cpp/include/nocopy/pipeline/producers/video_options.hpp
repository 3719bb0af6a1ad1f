// VideoLoaderOptions: every knob of the video loader, the sum of its parts' options, each
// declared once where the part lives: the engine's (EngineOptions), the order's (OrderOptions:
// shuffle, seed), the clip operator's (ClipOptions), the source's read-ahead
// (ReadAheadOptions: fetch_ahead, for shards opened on demand) and the block shuffle of a
// sharded set (BlockShuffleOptions: block_shards). validate() checks them all; the
// Python nc.VideoLoader's keyword arguments are parsed by video_option_specs(), the parts' tables
// appended. The spatial transforms are nocopy.transforms (a TransformProgram), not options.
#pragma once

#include <span>

#include "nocopy/core/option_spec.hpp"
#include "nocopy/pipeline/engine/engine_options.hpp"
#include "nocopy/pipeline/ops/clip_sampling.hpp"
#include "nocopy/pipeline/sampling/block_order.hpp"
#include "nocopy/pipeline/sampling/epoch_order.hpp"
#include "nocopy/pipeline/sources/read_ahead.hpp"

namespace nocopy {

/// Options of a VideoLoader, inherited from its parts.
struct VideoLoaderOptions : EngineOptions,
                            OrderOptions,
                            ClipOptions,
                            ReadAheadOptions,
                            BlockShuffleOptions {
  /// Throws std::invalid_argument naming the option, its value and the limit (every part's).
  void validate() const;
};

/// The declarations of every option of the video loader (its parts' tables).
std::span<const OptionSpec<VideoLoaderOptions>> video_option_specs();

}  // namespace nocopy
