// Window draws for the resizing crop modes: torchvision's RandomResizedCrop (area fraction
// uniform in `area`, aspect ratio log-uniform in `ratio`, 10 attempts, then the central
// fallback clamped to the ratio) and Resize(shorter side) + CenterCrop, as pure functions of
// (seed, epoch, position) through the sampler's counter-based hash, so any batch can be
// recomputed on its own.
#pragma once

#include <cstdint>

namespace nocopy {

/// A window of a source image: rows [top, top + height), columns [left, left + width).
struct CropWindow {
  int64_t top = 0, left = 0, height = 1, width = 1;
  /// True when all 10 draws failed and the central fallback was used.
  bool fallback = false;
};

/// RandomResizedCrop's ranges: fraction of the image area and aspect ratio (width / height).
struct ResizedCropRange {
  double area_min = 0.08, area_max = 1.0;
  double ratio_min = 3.0 / 4.0, ratio_max = 4.0 / 3.0;
};

/// Attempts before the central fallback (torchvision's value).
inline constexpr int kResizedCropAttempts = 10;

/// Checks the ranges once: 0 < area_min <= area_max <= 1 and 0 < ratio_min <= ratio_max, all
/// finite; std::invalid_argument naming the argument and the value otherwise.
void validate_resized_crop_range(const ResizedCropRange& range);

/// The RandomResizedCrop window of an image of (height, width) for global position `position`
/// of epoch `epoch` (height, width >= 1; the range validated).
CropWindow random_resized_window(uint64_t seed, uint64_t epoch, uint64_t position, int64_t height,
                                 int64_t width, const ResizedCropRange& range);

/// Resize(resize) + CenterCrop(crop) of an image of (height, width): the shorter side becomes
/// `resize` and the longer one int(resize * long / short) (torchvision's rule), then the crop's
/// origin is round((resized - crop) / 2) with ties to even (torchvision's center_crop).
struct CenterResize {
  /// Size of the whole resized image.
  int64_t resized_h = 1, resized_w = 1;
  /// Origin of the crop inside the resized image.
  int64_t top = 0, left = 0;
};

/// The geometry of resize_center; the caller guarantees resize >= max(crop_h, crop_w) >= 1 and
/// height, width >= 1 (so the crop fits the resized image).
CenterResize resize_center_geometry(int64_t height, int64_t width, int64_t resize, int64_t crop_h,
                                    int64_t crop_w);

}  // namespace nocopy
