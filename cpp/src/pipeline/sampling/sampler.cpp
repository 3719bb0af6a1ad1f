// Sampler: the epoch order's sample at each slot's global position, crop and mirror draws.
#include "nocopy/pipeline/sampling/sampler.hpp"

#include <cmath>
#include <initializer_list>
#include <stdexcept>
#include <string>

#include "internal/format_number.hpp"
#include "nocopy/core/view.hpp"

namespace nocopy {

namespace {

void require(bool ok, const std::string& message) {
  if (!ok) throw std::invalid_argument(message);
}

/// "(a, b)", the way sizes appear in messages.
std::string pair(int64_t a, int64_t b) {
  const int64_t values[2] = {a, b};
  return format_tuple(values);
}

}  // namespace

CropMode crop_mode_from_name(std::string_view name) {
  for (CropMode m : {CropMode::Random, CropMode::Center, CropMode::None, CropMode::RandomResized,
                     CropMode::ResizeCenter}) {
    if (name == crop_mode_name(m)) return m;
  }
  throw std::invalid_argument(
      "crop_mode '" + std::string(name) +
      "' is not one of 'random', 'center', 'none', 'random_resized', 'resize_center'");
}

std::string_view crop_mode_name(CropMode mode) {
  switch (mode) {
    case CropMode::Random:
      return "random";
    case CropMode::Center:
      return "center";
    case CropMode::None:
      return "none";
    case CropMode::RandomResized:
      return "random_resized";
    case CropMode::ResizeCenter:
      return "resize_center";
  }
  return "?";
}

namespace {

/// The order of the config's samples (checks num_samples first, with the loader's message).
EpochOrder order_of(const SamplerConfig& c) {
  require(c.num_samples >= 1,
          "images has " + std::to_string(c.num_samples) + " samples; need at least 1");
  return EpochOrder(c.num_samples, c.shuffle, c.seed);
}

}  // namespace

Sampler::Sampler(const SamplerConfig& c) : config_(c), order_(order_of(c)) {
  require(std::isfinite(c.mirror) && c.mirror >= 0.0 && c.mirror <= 1.0,
          "mirror probability " + format_number(c.mirror) + " is not in [0, 1]");
  const std::string image = pair(c.image_h, c.image_w);
  const std::string crop = pair(c.crop_h, c.crop_w);
  const std::string mode = "crop_mode '" + std::string(crop_mode_name(c.crop_mode)) + "'";
  require(c.image_h >= 1 && c.image_w >= 1, "image size " + image + " is empty");
  require(c.crop_h >= 1 && c.crop_w >= 1, "crop " + crop + " must be positive");
  require(!c.sample_shapes || c.sample_shapes->size() ==
                                  3 * static_cast<size_t>(std::max<int64_t>(c.num_samples, 0)),
          "sample_shapes holds " + std::to_string(c.sample_shapes ? c.sample_shapes->size() : 0) +
              " values; expected 3 per sample");
  const bool resizing =
      c.crop_mode == CropMode::RandomResized || c.crop_mode == CropMode::ResizeCenter;
  if (c.crop_mode == CropMode::RandomResized) validate_resized_crop_range(c.resized_crop);
  if (c.crop_mode == CropMode::ResizeCenter) {
    require(c.resize >= std::max(c.crop_h, c.crop_w) && c.resize <= kMaxResize,
            "resize " + std::to_string(c.resize) + " is not in [" +
                std::to_string(std::max(c.crop_h, c.crop_w)) + ", " + std::to_string(kMaxResize) +
                "]: resize_center needs the shorter side resized to at least the larger crop "
                "side " +
                crop);
  }
  if (!resizing && !c.sample_shapes) {
    // The one check that the crop fits the image (the loader's options rely on it).
    require(c.crop_h <= c.image_h && c.crop_w <= c.image_w,
            "crop " + crop + " is larger than image " + image + " on axes (1, 2)");
    require(c.crop_mode != CropMode::None || (c.crop_h == c.image_h && c.crop_w == c.image_w),
            "crop_mode 'none' keeps the whole image " + image + ", but crop is " + crop +
                "; pass no crop (crop=None)");
  }
  if (!resizing && c.sample_shapes) {
    // Images of different sizes: the plain modes need every image to hold the crop window.
    for (int64_t i = 0; i < c.num_samples; ++i) {
      const int64_t h = height_of(i), w = width_of(i);
      if (c.crop_mode == CropMode::None) {
        require(h == c.crop_h && w == c.crop_w,
                "sample " + std::to_string(i) + " of size " + pair(h, w) + " differs from crop " +
                    crop + "; " + mode +
                    " keeps whole images, so every image needs the same size (use "
                    "'random_resized' or 'resize_center' for images of any size)");
      }
      require(h >= c.crop_h && w >= c.crop_w,
              "sample " + std::to_string(i) + " of size " + pair(h, w) + " is smaller than crop " +
                  crop + "; " + mode +
                  " needs every image at least the crop (use 'random_resized' or "
                  "'resize_center' for images of any size)");
    }
  }
}

int64_t Sampler::height_of(int64_t i) const {
  return config_.sample_shapes ? (*config_.sample_shapes)[3 * static_cast<size_t>(i)]
                               : config_.image_h;
}

int64_t Sampler::width_of(int64_t i) const {
  return config_.sample_shapes ? (*config_.sample_shapes)[3 * static_cast<size_t>(i) + 1]
                               : config_.image_w;
}

BatchPlan Sampler::plan(int64_t epoch, const ShardGeometry& geo, int64_t b) const {
  const int64_t n = geo.batch_len(b);
  const std::shared_ptr<const std::vector<int64_t>> held = order_.order(epoch);
  const std::vector<int64_t>& order = *held;
  const SamplerConfig& c = config_;
  const auto e = static_cast<uint64_t>(epoch);
  BatchPlan p;
  p.indices.resize(n);
  p.top.resize(n);
  p.left.resize(n);
  p.height.resize(n);
  p.width.resize(n);
  p.mirror.resize(n);
  // mirror < 1 compares 53 random bits with the probability scaled to 2^53; 1 always mirrors.
  const auto threshold = static_cast<uint64_t>(std::ldexp(c.mirror, 53));
  for (int64_t k = 0; k < n; ++k) {
    // Position in the padded global order; rank r takes positions start + r, start + r + world,
    // start + r + 2 world...
    const uint64_t g = geo.global(b, k);
    p.indices[k] = order[g % order.size()];
    const int64_t H = height_of(p.indices[k]), W = width_of(p.indices[k]);
    p.height[k] = c.crop_h;
    p.width[k] = c.crop_w;
    switch (c.crop_mode) {
      case CropMode::Random:
        p.top[k] = static_cast<int64_t>(bounded(draw_bits(c.seed, e, g, RandomStream::CropTop),
                                                static_cast<uint64_t>(H - c.crop_h + 1)));
        p.left[k] = static_cast<int64_t>(bounded(draw_bits(c.seed, e, g, RandomStream::CropLeft),
                                                 static_cast<uint64_t>(W - c.crop_w + 1)));
        break;
      case CropMode::Center:
        p.top[k] = (H - c.crop_h) / 2;
        p.left[k] = (W - c.crop_w) / 2;
        break;
      case CropMode::None:
      case CropMode::ResizeCenter:
        p.top[k] = p.left[k] = 0;
        p.height[k] = H;
        p.width[k] = W;
        break;
      case CropMode::RandomResized: {
        const CropWindow w = random_resized_window(c.seed, e, g, H, W, c.resized_crop);
        p.top[k] = w.top;
        p.left[k] = w.left;
        p.height[k] = w.height;
        p.width[k] = w.width;
        break;
      }
    }
    p.mirror[k] =
        c.mirror >= 1.0 || (draw_bits(c.seed, e, g, RandomStream::Mirror) >> 11) < threshold;
  }
  return p;
}

}  // namespace nocopy
