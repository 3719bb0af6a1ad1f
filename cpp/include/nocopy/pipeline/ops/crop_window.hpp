// The crop window operator, declared once: where each sample's window is taken and what it is
// resized to. Its options (crop, crop_mode, area, ratio, resize, interpolation) with their docs
// and checks, the draw of each sample's window as a pure function of (seed, epoch, global
// position) on its registered random streams, and the resampling geometry the kernels get.
//
// Modes: 'random' (uniform top and left), 'center', 'none' (the whole image), 'random_resized'
// (torchvision's RandomResizedCrop: resized_crop_window.hpp) and 'resize_center' (the shorter
// side resized to `resize`, then a center crop). The plain modes copy a crop-sized window; the
// resizing ones, and images of different sizes, go through the resampling kernel.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "nocopy/core/option_spec.hpp"
#include "nocopy/pipeline/kernels/resize.hpp"
#include "nocopy/pipeline/ops/resized_crop_window.hpp"

namespace nocopy {

/// How the crop window is chosen for each sample.
enum class CropMode : uint8_t {
  Random,  ///< uniform top in [0, H - h], left in [0, W - w]
  Center,  ///< (H - h) / 2, (W - w) / 2, rounded down
  None,    ///< the whole image (top = left = 0, window = image)
  /// torchvision's RandomResizedCrop window (random_resized_window), resized to the crop
  RandomResized,
  /// the whole image, its shorter side resized to `resize`, then center-cropped to the crop
  ResizeCenter,
};

/// The mode called `name` ("random", "center", "none", "random_resized", "resize_center");
/// std::invalid_argument listing the names.
CropMode crop_mode_from_name(std::string_view name);
/// The name of a mode, as crop_mode_from_name accepts it.
std::string_view crop_mode_name(CropMode mode);

/// Largest `resize` of CropMode::ResizeCenter (larger sides would not fit a batch anyway).
inline constexpr int64_t kMaxResize = int64_t{1} << 20;

/// The operator's options (nc.Loader's keyword arguments of the same names and defaults).
struct CropWindowOptions {
  /// Output window (rows, columns); absent means the whole image (needs CropMode::None).
  std::optional<std::array<int64_t, 2>> crop = std::array<int64_t, 2>{256, 256};
  /// How each sample's window is chosen.
  CropMode crop_mode = CropMode::Random;
  /// random_resized only: range of the window's fraction of the image area (torchvision's
  /// `scale`); absent means (0.08, 1.0).
  std::optional<std::array<double, 2>> area;
  /// random_resized only: range of the window's aspect ratio (width / height), drawn
  /// log-uniformly; absent means (3/4, 4/3).
  std::optional<std::array<double, 2>> ratio;
  /// resize_center only: the shorter side after resizing; absent means 8/7 of the larger crop
  /// side.
  std::optional<int64_t> resize;
  /// How resized windows are resampled.
  Interpolation interpolation = Interpolation::Bilinear;
};

/// The declarations of CropWindowOptions.
std::span<const OptionSpec<CropWindowOptions>> crop_window_option_specs();

/// The images the windows are drawn from: every image H x W, or each sample's (H, W, C).
struct ImageSizes {
  /// Samples.
  int64_t count = 0;
  /// Height and width of every image (of the first one when `shapes` is given).
  int64_t height = 1, width = 1;
  /// Each sample's (H, W, C), 3 * count values, for images of different sizes; null otherwise.
  const std::vector<int64_t>* shapes = nullptr;

  /// Height and width of sample i (unchecked index).
  int64_t height_of(int64_t i) const;
  int64_t width_of(int64_t i) const;
};

/// The operator resolved against the images: every default filled in, every check passed.
struct CropWindowConfig {
  /// Output window size.
  int64_t crop_h = 1, crop_w = 1;
  /// The mode.
  CropMode mode = CropMode::Random;
  /// random_resized's ranges.
  ResizedCropRange resized_crop;
  /// resize_center's shorter side.
  int64_t resize = 0;
  /// The resampling filter.
  Interpolation interpolation = Interpolation::Bilinear;
  /// True when windows go through the resampling kernel (a resizing mode, or images of
  /// different sizes), false for the plain crop kernel.
  bool resample = false;
};

/// Resolves and checks the options against the images: options of another mode are refused
/// (not ignored), the crop must fit every image for the plain modes (std::invalid_argument
/// naming the sample and both sizes: `crop (300, 300) is larger than image (256, 256) on axes
/// (1, 2)`), the ranges and `resize` must be valid.
CropWindowConfig resolve_crop_window(const CropWindowOptions& options, const ImageSizes& images);

/// The window of the sample at global position `position` of `epoch`, an image of H x W.
CropWindow draw_crop_window(const CropWindowConfig& config, uint64_t seed, uint64_t epoch,
                            uint64_t position, int64_t height, int64_t width);

/// What the resampling kernel does with a drawn window (mirrored when asked).
ResizeGeometry window_geometry(const CropWindowConfig& config, const CropWindow& window,
                               bool mirror);

}  // namespace nocopy
