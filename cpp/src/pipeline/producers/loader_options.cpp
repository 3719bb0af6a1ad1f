// resolve_loader_options: the image loader's options checked against the images by each part,
// and the loader's option table (its parts' tables).
#include "nocopy/pipeline/producers/loader_options.hpp"

#include <stdexcept>
#include <string>

#include "nocopy/core/errors.hpp"

namespace nocopy {

std::span<const OptionSpec<LoaderOptions>> loader_option_specs() {
  static const std::vector<OptionSpec<LoaderOptions>> specs = [] {
    std::vector<OptionSpec<LoaderOptions>> out;
    append_specs(out, crop_window_option_specs());
    append_specs(out, mirror_option_specs());
    append_specs(out, normalize_option_specs());
    append_specs(out, jpeg_decode_option_specs());
    append_specs(out, read_ahead_option_specs());
    append_specs(out, order_option_specs());
    append_specs(out, block_shuffle_option_specs());
    append_specs(out, engine_option_specs());
    return out;
  }();
  return specs;
}

LoaderConfig resolve_loader_options(const LoaderOptions& o, const ImageSource& source,
                                    const std::optional<View>& labels) {
  LoaderConfig c;
  c.num_samples = source.size();
  if (c.num_samples < 1) {
    throw std::invalid_argument("images has " + std::to_string(c.num_samples) +
                                " samples; need at least 1");
  }
  const ImageSizes sizes{c.num_samples, source.height(0), source.width(0), source.sample_shapes()};
  c.crop = resolve_crop_window(o, sizes);
  check_mirror(o);
  c.mirror = o.mirror;
  c.transform = transform_spec(o, c.crop.crop_h, c.crop.crop_w);
  const int64_t C = source.channels();
  c.sample_shape = o.layout == Layout::CHW ? std::vector<int64_t>{C, c.crop.crop_h, c.crop.crop_w}
                                           : std::vector<int64_t>{c.crop.crop_h, c.crop.crop_w, C};
  check_loader_labels(labels, c.num_samples);
  return c;
}

void check_loader_labels(const std::optional<View>& labels, int64_t num_samples) {
  if (!labels) return;
  labels->require_host("loader labels");
  if (labels->ndim() < 1 || labels->shape()[0] != num_samples) {
    throw std::invalid_argument("labels shape " + format_tuple(labels->shape()) +
                                " does not match images: first axis must be " +
                                std::to_string(num_samples));
  }
}

}  // namespace nocopy
