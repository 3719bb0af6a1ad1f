// The crop window operator: its option table, its checks against the images, its draws and the
// resampling geometry of a drawn window.
#include "nocopy/pipeline/ops/crop_window.hpp"

#include <algorithm>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <variant>

#include "nocopy/core/view.hpp"
#include "nocopy/pipeline/sampling/random_streams.hpp"

namespace nocopy {

namespace {

using O = CropWindowOptions;
using V = OptionValue;

void require(bool ok, const std::string& message) {
  if (!ok) throw std::invalid_argument(message);
}

/// "(a, b)", the way sizes appear in messages.
std::string pair(int64_t a, int64_t b) {
  const int64_t values[2] = {a, b};
  return format_tuple(values);
}

bool none(const V& v) {
  return std::holds_alternative<std::monostate>(v);
}

template <class T>
V maybe(const std::optional<T>& v) {
  return v ? V(*v) : V();
}

/// An option that only `mode` uses, given with another mode, is an error rather than ignored.
void require_mode_for(bool given, const char* name, CropMode mode, CropMode actual) {
  require(!given || actual == mode, std::string(name) + " applies only to crop_mode='" +
                                        std::string(crop_mode_name(mode)) + "', not '" +
                                        std::string(crop_mode_name(actual)) + "'; leave it out");
}

const OptionSpec<CropWindowOptions> kCropWindowSpecs[] = {
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
};

}  // namespace

std::span<const OptionSpec<CropWindowOptions>> crop_window_option_specs() {
  return kCropWindowSpecs;
}

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

int64_t ImageSizes::height_of(int64_t i) const {
  return shapes ? (*shapes)[3 * static_cast<size_t>(i)] : height;
}

int64_t ImageSizes::width_of(int64_t i) const {
  return shapes ? (*shapes)[3 * static_cast<size_t>(i) + 1] : width;
}

CropWindowConfig resolve_crop_window(const CropWindowOptions& o, const ImageSizes& images) {
  if (!o.crop && o.crop_mode != CropMode::None) {
    throw std::invalid_argument("crop_mode '" + std::string(crop_mode_name(o.crop_mode)) +
                                "' needs a crop size; pass crop=(h, w) or crop_mode='none'");
  }
  require_mode_for(o.area.has_value(), "area", CropMode::RandomResized, o.crop_mode);
  require_mode_for(o.ratio.has_value(), "ratio", CropMode::RandomResized, o.crop_mode);
  require_mode_for(o.resize.has_value(), "resize", CropMode::ResizeCenter, o.crop_mode);
  const std::array<int64_t, 2> crop =
      o.crop.value_or(std::array<int64_t, 2>{images.height, images.width});
  CropWindowConfig c;
  c.crop_h = crop[0];
  c.crop_w = crop[1];
  c.mode = o.crop_mode;
  c.interpolation = o.interpolation;
  const std::array<double, 2> area = o.area.value_or(std::array<double, 2>{0.08, 1.0});
  const std::array<double, 2> ratio = o.ratio.value_or(std::array<double, 2>{3.0 / 4.0, 4.0 / 3.0});
  c.resized_crop = {area[0], area[1], ratio[0], ratio[1]};
  const int64_t side = std::max(crop[0], crop[1]);
  c.resize = o.resize.value_or(side > kMaxResize ? side : side * 8 / 7);
  const bool resizing = c.mode == CropMode::RandomResized || c.mode == CropMode::ResizeCenter;
  c.resample = images.shapes != nullptr || resizing;

  const std::string image = pair(images.height, images.width);
  const std::string cropped = pair(c.crop_h, c.crop_w);
  const std::string mode = "crop_mode '" + std::string(crop_mode_name(c.mode)) + "'";
  require(images.height >= 1 && images.width >= 1, "image size " + image + " is empty");
  require(c.crop_h >= 1 && c.crop_w >= 1, "crop " + cropped + " must be positive");
  if (c.mode == CropMode::RandomResized) validate_resized_crop_range(c.resized_crop);
  if (c.mode == CropMode::ResizeCenter) {
    require(c.resize >= side && c.resize <= kMaxResize,
            "resize " + std::to_string(c.resize) + " is not in [" + std::to_string(side) + ", " +
                std::to_string(kMaxResize) +
                "]: resize_center needs the shorter side resized to at least the larger crop "
                "side " +
                cropped);
  }
  if (!resizing && images.shapes == nullptr) {
    // The one check that the crop fits the image (the kernels rely on it).
    require(c.crop_h <= images.height && c.crop_w <= images.width,
            "crop " + cropped + " is larger than image " + image + " on axes (1, 2)");
    require(c.mode != CropMode::None || (c.crop_h == images.height && c.crop_w == images.width),
            "crop_mode 'none' keeps the whole image " + image + ", but crop is " + cropped +
                "; pass no crop (crop=None)");
  }
  if (!resizing && images.shapes != nullptr) {
    // Images of different sizes: the plain modes need every image to hold the crop window.
    for (int64_t i = 0; i < images.count; ++i) {
      const int64_t h = images.height_of(i), w = images.width_of(i);
      if (c.mode == CropMode::None) {
        require(h == c.crop_h && w == c.crop_w,
                "sample " + std::to_string(i) + " of size " + pair(h, w) + " differs from crop " +
                    cropped + "; " + mode +
                    " keeps whole images, so every image needs the same size (use "
                    "'random_resized' or 'resize_center' for images of any size)");
      }
      require(h >= c.crop_h && w >= c.crop_w,
              "sample " + std::to_string(i) + " of size " + pair(h, w) + " is smaller than crop " +
                  cropped + "; " + mode +
                  " needs every image at least the crop (use 'random_resized' or "
                  "'resize_center' for images of any size)");
    }
  }
  return c;
}

CropWindow draw_crop_window(const CropWindowConfig& c, uint64_t seed, uint64_t epoch, uint64_t g,
                            int64_t H, int64_t W) {
  CropWindow w;
  w.height = c.crop_h;
  w.width = c.crop_w;
  switch (c.mode) {
    case CropMode::Random:
      w.top = static_cast<int64_t>(bounded(draw_bits(seed, epoch, g, RandomStream::CropTop),
                                           static_cast<uint64_t>(H - c.crop_h + 1)));
      w.left = static_cast<int64_t>(bounded(draw_bits(seed, epoch, g, RandomStream::CropLeft),
                                            static_cast<uint64_t>(W - c.crop_w + 1)));
      break;
    case CropMode::Center:
      w.top = (H - c.crop_h) / 2;
      w.left = (W - c.crop_w) / 2;
      break;
    case CropMode::None:
    case CropMode::ResizeCenter:
      w.height = H;
      w.width = W;
      break;
    case CropMode::RandomResized:
      w = random_resized_window(seed, epoch, g, H, W, c.resized_crop);
      break;
  }
  return w;
}

ResizeGeometry window_geometry(const CropWindowConfig& c, const CropWindow& w, bool mirror) {
  ResizeGeometry g;
  g.top = w.top;
  g.left = w.left;
  g.height = w.height;
  g.width = w.width;
  g.out_h = c.crop_h;
  g.out_w = c.crop_w;
  g.mirror = mirror;
  g.interpolation = c.interpolation;
  if (c.mode == CropMode::ResizeCenter) {
    const CenterResize r = resize_center_geometry(w.height, w.width, c.resize, c.crop_h, c.crop_w);
    g.resized_h = r.resized_h;
    g.resized_w = r.resized_w;
    g.out_top = r.top;
    g.out_left = r.left;
  } else if (c.mode == CropMode::RandomResized) {
    g.resized_h = c.crop_h;
    g.resized_w = c.crop_w;
  } else {
    g.resized_h = g.out_h = w.height;
    g.resized_w = g.out_w = w.width;
  }
  return g;
}

}  // namespace nocopy
