// resolve_loader_options: the loader's options checked against the images and turned into the
// sampler's and the transform's configurations, each built here once.
#include "nocopy/pipeline/ops/loader_options.hpp"

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string>
#include <variant>

#include "nocopy/core/errors.hpp"

namespace nocopy {

namespace {

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
  s.shuffle = o.shuffle;
  s.seed = o.seed;
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

namespace {

using Spec = OptionSpec<LoaderOptions>;
using O = LoaderOptions;
using V = OptionValue;

bool none(const V& v) {
  return std::holds_alternative<std::monostate>(v);
}

template <class T>
V maybe(const std::optional<T>& v) {
  return v ? V(*v) : V();
}

const Spec kLoaderSpecs[] = {
    {"crop", OptionKind::Crop,
     "Output window (height, width), or one int for a square; None keeps the whole image (needs "
     "crop_mode='none').",
     [](O& o, const V& v) {
       o.crop = none(v) ? std::nullopt : std::optional(std::get<std::array<int64_t, 2>>(v));
     },
     [](const O& o) { return maybe(o.crop); }},
    {"crop_mode", OptionKind::Name,
     "How each sample's window is chosen: 'random' (uniform position), 'center', 'none' (the "
     "whole image), 'random_resized' (torchvision's RandomResizedCrop, resized to crop) or "
     "'resize_center' (shorter side resized to `resize`, then a center crop).",
     [](O& o, const V& v) { o.crop_mode = crop_mode_from_name(std::get<std::string>(v)); },
     [](const O& o) -> V { return std::string(crop_mode_name(o.crop_mode)); }},
    {"area", OptionKind::OptionalRange,
     "random_resized only: range of the window's fraction of the image area (torchvision's "
     "`scale`); None means (0.08, 1.0).",
     [](O& o, const V& v) {
       o.area = none(v) ? std::nullopt : std::optional(std::get<std::array<double, 2>>(v));
     },
     [](const O& o) { return maybe(o.area); }},
    {"ratio", OptionKind::OptionalRange,
     "random_resized only: range of the window's aspect ratio (width / height), drawn "
     "log-uniformly; None means (3/4, 4/3).",
     [](O& o, const V& v) {
       o.ratio = none(v) ? std::nullopt : std::optional(std::get<std::array<double, 2>>(v));
     },
     [](const O& o) { return maybe(o.ratio); }},
    {"resize", OptionKind::OptionalInt,
     "resize_center only: the shorter side after resizing; None means 8/7 of the larger crop "
     "side (256 for a 224 crop).",
     [](O& o, const V& v) {
       o.resize = none(v) ? std::nullopt : std::optional(std::get<int64_t>(v));
     },
     [](const O& o) { return maybe(o.resize); }},
    {"interpolation", OptionKind::Name,
     "How resized windows are resampled: 'bilinear' (antialiased when shrinking, like "
     "torchvision v2) or 'nearest'.",
     [](O& o, const V& v) {
       o.interpolation = interpolation_from_string(std::get<std::string>(v));
     },
     [](const O& o) -> V {
       return std::string(o.interpolation == Interpolation::Nearest ? "nearest" : "bilinear");
     }},
    {"mirror", OptionKind::Real, "Probability of a horizontal flip per sample, in [0, 1].",
     [](O& o, const V& v) { o.mirror = std::get<double>(v); },
     [](const O& o) -> V { return o.mirror; }},
    {"mean", OptionKind::Reals,
     "Per-channel mean subtracted after scaling (one value or one per channel); None for no "
     "normalization.",
     [](O& o, const V& v) {
       o.mean = none(v) ? std::nullopt : std::optional(std::get<std::vector<double>>(v));
     },
     [](const O& o) { return maybe(o.mean); }},
    {"std", OptionKind::Reals,
     "Per-channel standard deviation the result is divided by (one value or one per channel); "
     "None for no normalization.",
     [](O& o, const V& v) {
       o.std = none(v) ? std::nullopt : std::optional(std::get<std::vector<double>>(v));
     },
     [](const O& o) { return maybe(o.std); }},
    {"scale", OptionKind::OptionalReal,
     "Multiplier of the source values before normalization; None means 1/255 for float outputs "
     "and 1 for uint8.",
     [](O& o, const V& v) {
       o.scale = none(v) ? std::nullopt : std::optional(std::get<double>(v));
     },
     [](const O& o) { return maybe(o.scale); }},
    {"layout", OptionKind::Name, "Axis order of each sample: 'CHW' (PyTorch) or 'HWC'.",
     [](O& o, const V& v) { o.layout = layout_from_name(std::get<std::string>(v)); },
     [](const O& o) -> V { return std::string(layout_name(o.layout)); }},
    {"dtype", OptionKind::Name,
     "Output dtype: 'float32', 'float16', 'bfloat16' or 'uint8' (uint8 copies the source bytes "
     "unchanged: uint8 images, no mean/std, scale 1).",
     [](O& o, const V& v) { o.dtype = dtype_from_name(std::get<std::string>(v)); },
     [](const O& o) -> V { return std::string(dtype_name(o.dtype)); }},
    {"shuffle", OptionKind::Bool, "Shuffle the order each epoch (else 0, 1, 2, ...).",
     [](O& o, const V& v) { o.shuffle = std::get<bool>(v); },
     [](const O& o) -> V { return o.shuffle; }},
    {"seed", OptionKind::Seed,
     "Key of every random decision (order, windows, flips), in [0, 2**64).",
     [](O& o, const V& v) { o.seed = std::get<uint64_t>(v); },
     [](const O& o) -> V { return o.seed; }},
};

}  // namespace

std::span<const OptionSpec<LoaderOptions>> loader_option_specs() {
  return kLoaderSpecs;
}

}  // namespace nocopy
