// resolve_loader_options: the loader's options checked against the images and turned into the
// sampler's and the transform's configurations, each built here once.
#include "nocopy/pipeline/ops/loader_options.hpp"

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string>

#include "nocopy/core/errors.hpp"

namespace nocopy {

namespace {

/// `value` in [lo, hi], or std::invalid_argument naming the option.
int64_t in_range(int64_t value, int64_t lo, int64_t hi, const char* name) {
  if (value < lo || value > hi) {
    throw std::invalid_argument(std::string(name) + " " + std::to_string(value) + " is not in [" +
                                std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  return value;
}

/// A given mean/std list must hold values (absent is how "no normalization" is said).
std::vector<double> values_of(const std::optional<std::vector<double>>& v, const char* name) {
  if (!v) return {};
  if (v->empty()) {
    throw std::invalid_argument(std::string(name) + " is empty; pass None for no normalization");
  }
  return *v;
}

/// An option that only `mode` uses, given with another mode, is an error rather than ignored.
void require_mode_for(bool given, const char* name, CropMode mode, CropMode actual) {
  if (given && actual != mode) {
    throw std::invalid_argument(std::string(name) + " applies only to crop_mode='" +
                                std::string(crop_mode_name(mode)) + "', not '" +
                                std::string(crop_mode_name(actual)) + "'; leave it out");
  }
}

}  // namespace

OnError on_error_from_name(std::string_view name) {
  if (name == "raise") return OnError::Raise;
  if (name == "skip") return OnError::Skip;
  throw std::invalid_argument("on_error '" + std::string(name) + "' is not one of 'raise', 'skip'");
}

std::string_view on_error_name(OnError policy) {
  return policy == OnError::Skip ? "skip" : "raise";
}

LoaderConfig resolve_loader_options(const LoaderOptions& o, const View& images,
                                    const std::optional<View>& labels) {
  check_sample_source(images);
  return resolve_loader_options(o, ImageSource(images), labels);
}

LoaderConfig resolve_loader_options(const LoaderOptions& o, const ImageSource& source,
                                    const std::optional<View>& labels) {
  check_sample_source(source.view());
  // An ImageSet's view is its first image as a batch of one; the count comes from the source.
  std::vector<int64_t> shape = source.view().shape();
  shape[0] = source.size();
  LoaderConfig c;
  if (!o.crop && o.crop_mode != CropMode::None) {
    throw std::invalid_argument("crop_mode '" + std::string(crop_mode_name(o.crop_mode)) +
                                "' needs a crop size; pass crop=(h, w) or crop_mode='none'");
  }
  require_mode_for(o.area.has_value(), "area", CropMode::RandomResized, o.crop_mode);
  require_mode_for(o.ratio.has_value(), "ratio", CropMode::RandomResized, o.crop_mode);
  require_mode_for(o.resize.has_value(), "resize", CropMode::ResizeCenter, o.crop_mode);
  const std::array<int64_t, 2> crop = o.crop.value_or(std::array<int64_t, 2>{shape[1], shape[2]});

  SamplerConfig& s = c.sampler;
  s.num_samples = shape[0];
  s.batch_size = o.batch_size;
  s.shuffle = o.shuffle;
  s.seed = o.seed;
  s.drop_last = o.drop_last;
  s.rank = o.rank;
  s.world_size = o.world_size;
  s.image_h = shape[1];
  s.image_w = shape[2];
  s.crop_h = crop[0];
  s.crop_w = crop[1];
  s.crop_mode = o.crop_mode;
  s.mirror = o.mirror;
  if (const std::vector<int64_t>* shapes = source.sample_shapes()) {
    s.sample_shapes = std::make_shared<const std::vector<int64_t>>(*shapes);
  }
  const std::array<double, 2> area = o.area.value_or(std::array<double, 2>{0.08, 1.0});
  const std::array<double, 2> ratio = o.ratio.value_or(std::array<double, 2>{3.0 / 4.0, 4.0 / 3.0});
  s.resized_crop = {area[0], area[1], ratio[0], ratio[1]};
  const int64_t side = std::max(crop[0], crop[1]);
  s.resize = o.resize.value_or(side > kMaxResize ? side : side * 8 / 7);
  c.resample = !source.uniform() || o.crop_mode == CropMode::RandomResized ||
               o.crop_mode == CropMode::ResizeCenter;
  c.interpolation = o.interpolation;

  TransformSpec& t = c.transform;
  t.crop_h = crop[0];
  t.crop_w = crop[1];
  t.layout = o.layout;
  t.dtype = o.dtype;
  t.scale = o.scale.value_or(o.dtype == DType::UInt8 ? 1.0 : 1.0 / 255.0);
  t.mean = values_of(o.mean, "mean");
  t.std = values_of(o.std, "std");

  c.num_threads =
      o.num_threads
          ? static_cast<size_t>(in_range(*o.num_threads, 1, kMaxLoaderThreads, "num_threads"))
          : 0;
  c.prefetch = in_range(o.prefetch, 1, kMaxPrefetch, "prefetch");
  const int64_t C = shape[3];
  c.sample_shape = o.layout == Layout::CHW ? std::vector<int64_t>{C, crop[0], crop[1]}
                                           : std::vector<int64_t>{crop[0], crop[1], C};
  if (labels) {
    labels->require_host("loader labels");
    if (labels->ndim() < 1 || labels->shape()[0] != shape[0]) {
      throw std::invalid_argument("labels shape " + format_tuple(labels->shape()) +
                                  " does not match images: first axis must be " +
                                  std::to_string(shape[0]));
    }
  }
  return c;
}

}  // namespace nocopy
