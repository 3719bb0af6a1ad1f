// RandomResizedCrop and Resize + CenterCrop window geometry (torchvision's algorithms), with
// every random draw taken from its own streams (RandomStream::ResizedCropBase + ...).
#include "nocopy/pipeline/ops/resized_crop_window.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "nocopy/pipeline/sampling/random_streams.hpp"

namespace nocopy {

namespace {

/// The draws of one attempt: stream ResizedCropBase + 4 * attempt + kind.
enum Draw : uint64_t { kArea = 0, kRatio = 1, kTop = 2, kLeft = 3 };

/// A uniform double in [0, 1) from 53 random bits.
double unit(uint64_t bits) {
  return static_cast<double>(bits >> 11) * 0x1.0p-53;
}

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

}  // namespace

void validate_resized_crop_range(const ResizedCropRange& r) {
  const bool area_ok = std::isfinite(r.area_min) && std::isfinite(r.area_max) && r.area_min > 0 &&
                       r.area_min <= r.area_max && r.area_max <= 1.0;
  if (!area_ok) {
    throw std::invalid_argument("area (" + num(r.area_min) + ", " + num(r.area_max) +
                                ") must satisfy 0 < min <= max <= 1");
  }
  const bool ratio_ok = std::isfinite(r.ratio_min) && std::isfinite(r.ratio_max) &&
                        r.ratio_min > 0 && r.ratio_min <= r.ratio_max;
  if (!ratio_ok) {
    throw std::invalid_argument("ratio (" + num(r.ratio_min) + ", " + num(r.ratio_max) +
                                ") must satisfy 0 < min <= max, both finite");
  }
}

CropWindow random_resized_window(uint64_t seed, uint64_t epoch, uint64_t position, int64_t height,
                                 int64_t width, const ResizedCropRange& r) {
  const double area = static_cast<double>(height) * static_cast<double>(width);
  const double log_lo = std::log(r.ratio_min), log_hi = std::log(r.ratio_max);
  auto draw = [&](int attempt, Draw kind) {
    return draw_bits(seed, epoch, position, RandomStream::ResizedCropBase,
                     4 * static_cast<uint64_t>(attempt) + kind);
  };
  for (int attempt = 0; attempt < kResizedCropAttempts; ++attempt) {
    const double target =
        area * (r.area_min + (r.area_max - r.area_min) * unit(draw(attempt, kArea)));
    const double aspect = std::exp(log_lo + (log_hi - log_lo) * unit(draw(attempt, kRatio)));
    // round half to even, like Python's round()
    const auto w = static_cast<int64_t>(std::nearbyint(std::sqrt(target * aspect)));
    const auto h = static_cast<int64_t>(std::nearbyint(std::sqrt(target / aspect)));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      CropWindow c;
      c.height = h;
      c.width = w;
      c.top =
          static_cast<int64_t>(bounded(draw(attempt, kTop), static_cast<uint64_t>(height - h + 1)));
      c.left =
          static_cast<int64_t>(bounded(draw(attempt, kLeft), static_cast<uint64_t>(width - w + 1)));
      return c;
    }
  }
  // Central fallback: the whole image, trimmed to the nearest allowed aspect ratio.
  CropWindow c;
  c.fallback = true;
  const double in_ratio = static_cast<double>(width) / static_cast<double>(height);
  if (in_ratio < r.ratio_min) {
    c.width = width;
    c.height = static_cast<int64_t>(std::nearbyint(static_cast<double>(width) / r.ratio_min));
  } else if (in_ratio > r.ratio_max) {
    c.height = height;
    c.width = static_cast<int64_t>(std::nearbyint(static_cast<double>(height) * r.ratio_max));
  } else {
    c.width = width;
    c.height = height;
  }
  // torchvision could produce an empty side for extreme ratios; keep at least one pixel.
  c.height = std::clamp<int64_t>(c.height, 1, height);
  c.width = std::clamp<int64_t>(c.width, 1, width);
  c.top = (height - c.height) / 2;
  c.left = (width - c.width) / 2;
  return c;
}

CenterResize resize_center_geometry(int64_t height, int64_t width, int64_t resize, int64_t crop_h,
                                    int64_t crop_w) {
  CenterResize g;
  const int64_t shorter = std::min(height, width), longer = std::max(height, width);
  const auto scaled_long = static_cast<int64_t>(
      static_cast<double>(resize) * static_cast<double>(longer) / static_cast<double>(shorter));
  if (width <= height) {
    g.resized_w = resize;
    g.resized_h = scaled_long;
  } else {
    g.resized_h = resize;
    g.resized_w = scaled_long;
  }
  g.top = static_cast<int64_t>(std::nearbyint(static_cast<double>(g.resized_h - crop_h) / 2.0));
  g.left = static_cast<int64_t>(std::nearbyint(static_cast<double>(g.resized_w - crop_w) / 2.0));
  return g;
}

}  // namespace nocopy
