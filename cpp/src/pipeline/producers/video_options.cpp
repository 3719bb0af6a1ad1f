// VideoLoaderOptions: the one validation of every part's options and the loader's option table.
#include "nocopy/pipeline/producers/video_options.hpp"

#include <vector>

namespace nocopy {

void VideoLoaderOptions::validate() const {
  EngineOptions::validate();
  check_clip_options(*this);
  check_read_ahead(*this);
}

std::span<const OptionSpec<VideoLoaderOptions>> video_option_specs() {
  static const std::vector<OptionSpec<VideoLoaderOptions>> specs = [] {
    std::vector<OptionSpec<VideoLoaderOptions>> out;
    append_specs(out, clip_option_specs());
    append_specs(out, order_option_specs());
    append_specs(out, read_ahead_option_specs());
    append_specs(out, block_shuffle_option_specs());
    append_specs(out, engine_option_specs());
    return out;
  }();
  return specs;
}

}  // namespace nocopy
