// The compiled transforms pipeline: each step's checks, the order rules of the fusion, the
// per-sample draws (torchvision's distributions on our counter-based streams) and the fused
// geometry of a sample.
#include "nocopy/pipeline/ops/transform_program.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <stdexcept>

#include "nocopy/pipeline/ops/augment_policies.hpp"
#include "nocopy/pipeline/sampling/beta_draw.hpp"
#include "nocopy/pipeline/sampling/random_streams.hpp"
#include "pipeline/ops/step_checks.hpp"

namespace nocopy {

namespace {

using namespace step_checks;  // NOLINT: num, fail, require, unit

struct KindName {
  StepKind kind;
  std::string_view name;
};

constexpr KindName kKindNames[] = {
    {StepKind::RandomResizedCrop, "RandomResizedCrop"},
    {StepKind::Resize, "Resize"},
    {StepKind::CenterCrop, "CenterCrop"},
    {StepKind::RandomCrop, "RandomCrop"},
    {StepKind::Pad, "Pad"},
    {StepKind::RandomHorizontalFlip, "RandomHorizontalFlip"},
    {StepKind::RandomVerticalFlip, "RandomVerticalFlip"},
    {StepKind::ColorJitter, "ColorJitter"},
    {StepKind::Grayscale, "Grayscale"},
    {StepKind::RandomGrayscale, "RandomGrayscale"},
    {StepKind::GaussianBlur, "GaussianBlur"},
    {StepKind::RandomInvert, "RandomInvert"},
    {StepKind::RandomPosterize, "RandomPosterize"},
    {StepKind::RandomSolarize, "RandomSolarize"},
    {StepKind::RandomAdjustSharpness, "RandomAdjustSharpness"},
    {StepKind::RandomAutocontrast, "RandomAutocontrast"},
    {StepKind::RandomEqualize, "RandomEqualize"},
    {StepKind::RandomRotation, "RandomRotation"},
    {StepKind::RandomAffine, "RandomAffine"},
    {StepKind::AutoAugment, "AutoAugment"},
    {StepKind::RandAugment, "RandAugment"},
    {StepKind::TrivialAugmentWide, "TrivialAugmentWide"},
    {StepKind::AugMix, "AugMix"},
    {StepKind::RandomApply, "RandomApply"},
    {StepKind::RandomChoice, "RandomChoice"},
    {StepKind::RandomOrder, "RandomOrder"},
    {StepKind::Compose, "Compose"},
    {StepKind::ToDtype, "ToDtype"},
    {StepKind::Normalize, "Normalize"},
    {StepKind::RandomErasing, "RandomErasing"},
    {StepKind::Lambda, "Lambda"},
};

/// The first stream of the transform steps; step k's draw d uses kStepStreams + 64 * k + d.
constexpr auto kStepStreams = static_cast<uint64_t>(RandomStream::TransformStepBase);

/// The first stream of the policy and warp steps; step k's words are kPolicyStreams +
/// k * kPolicyWords + d.
constexpr uint64_t kPolicyStreams = 0x50410000000000ull;

/// Most direct children of RandomApply, RandomChoice and RandomOrder.
constexpr int64_t kMaxChildren = 64;

bool is_container(StepKind k) {
  return k == StepKind::RandomApply || k == StepKind::RandomChoice || k == StepKind::RandomOrder ||
         k == StepKind::Compose;
}

/// Largest size or padding a step accepts (larger would not fit a batch anyway).
constexpr int64_t kMaxSide = int64_t{1} << 20;

enum class Stage : uint8_t { Resample, Index, Pixel, Output, Erase };

Stage stage_of(StepKind k) {
  switch (k) {
    case StepKind::RandomResizedCrop:
    case StepKind::Resize:
      return Stage::Resample;
    case StepKind::CenterCrop:
    case StepKind::RandomCrop:
    case StepKind::Pad:
    case StepKind::RandomHorizontalFlip:
    case StepKind::RandomVerticalFlip:
      return Stage::Index;
    case StepKind::ToDtype:
    case StepKind::Normalize:
      return Stage::Output;
    case StepKind::RandomErasing:
      return Stage::Erase;
    default:
      return Stage::Pixel;
  }
}

bool finite(double v) {
  return std::isfinite(v);
}

/// Python's round() of a double (half to even), as an integer.
int64_t round_even(double v) {
  return static_cast<int64_t>(std::nearbyint(v));
}

/// torchvision's Resize output size of an image of (h, w).
std::array<int64_t, 2> resize_size(const TransformStep& s, int64_t h, int64_t w) {
  if (s.size[1] >= 0) return s.size;
  const int64_t requested = s.size[0];
  const int64_t shorter = std::min(h, w), longer = std::max(h, w);
  int64_t new_short = requested;
  auto new_long = static_cast<int64_t>(static_cast<double>(requested) *
                                       static_cast<double>(longer) / static_cast<double>(shorter));
  if (s.max_size > 0 && new_long > s.max_size) {
    new_short =
        static_cast<int64_t>(static_cast<double>(s.max_size) * static_cast<double>(new_short) /
                             static_cast<double>(new_long));
    new_long = s.max_size;
  }
  return w <= h ? std::array<int64_t, 2>{new_long, new_short}
                : std::array<int64_t, 2>{new_short, new_long};
}

/// RandomCrop's padding on an image of (h, w), pad_if_needed applied: (left, top, right,
/// bottom).
std::array<int64_t, 4> random_crop_padding(const TransformStep& s, int64_t h, int64_t w) {
  std::array<int64_t, 4> p = s.padding;
  if (s.pad_if_needed) {
    const int64_t ph = h + p[1] + p[3], pw = w + p[0] + p[2];
    if (ph < s.size[0]) {
      const int64_t diff = s.size[0] - ph;
      p[1] += diff;
      p[3] += diff;
    }
    if (pw < s.size[1]) {
      const int64_t diff = s.size[1] - pw;
      p[0] += diff;
      p[2] += diff;
    }
  }
  return p;
}

/// One axis of an index step: output index o reads input index `offset + o` of an axis of
/// `size` (outside: padding by `mode`), or input `size - 1 - o` when `flip`.
struct AxisMap {
  int64_t offset = 0;
  bool flip = false;
};

/// The input index an output index reads on an axis of `size`, or -1 for the constant fill.
int64_t map_index(int64_t o, const AxisMap& m, int64_t size, PadMode mode) {
  if (m.flip) return size - 1 - o;
  int64_t i = o + m.offset;
  if (i >= 0 && i < size) return i;
  switch (mode) {
    case PadMode::Constant:
      return -1;
    case PadMode::Edge:
      return std::clamp<int64_t>(i, 0, size - 1);
    case PadMode::Reflect: {
      if (size == 1) return 0;
      const int64_t period = 2 * (size - 1);
      i %= period;
      if (i < 0) i += period;
      return i < size ? i : period - i;
    }
    case PadMode::Symmetric: {
      const int64_t period = 2 * size;
      i %= period;
      if (i < 0) i += period;
      return i < size ? i : period - 1 - i;
    }
  }
  return -1;
}

}  // namespace

StepKind step_kind_from_name(std::string_view name) {
  for (const KindName& k : kKindNames) {
    if (k.name == name) return k.kind;
  }
  std::string all;
  for (const KindName& k : kKindNames) all += (all.empty() ? "" : ", ") + std::string(k.name);
  throw std::invalid_argument("unknown transform '" + std::string(name) + "' (known: " + all + ")");
}

std::string_view step_kind_name(StepKind kind) {
  for (const KindName& k : kKindNames) {
    if (k.kind == kind) return k.name;
  }
  return "?";
}

std::vector<std::string> step_parameter_names(const TransformStep& s) {
  if (is_augment_policy(s.kind)) return augment_parameter_names(s);
  switch (s.kind) {
    case StepKind::RandomApply:
      return {"applied"};
    case StepKind::RandomChoice:
      return {"choice"};
    case StepKind::RandomOrder: {
      std::vector<std::string> names;
      for (int64_t k = 0; k < s.children; ++k) names.push_back("order." + std::to_string(k));
      return names;
    }
    case StepKind::Compose:
      return {};
    case StepKind::RandomResizedCrop:
      return {"top", "left", "height", "width"};
    case StepKind::RandomCrop:
      return {"top", "left"};
    case StepKind::ColorJitter:
      return {"order0",     "order1",   "order2",     "order3",
              "brightness", "contrast", "saturation", "hue"};
    case StepKind::GaussianBlur:
      return {"sigma"};
    case StepKind::RandomErasing:
      if (s.random_value) return {"applied", "top", "left", "height", "width", "noise_seed"};
      return {"applied", "top", "left", "height", "width"};
    case StepKind::RandomHorizontalFlip:
    case StepKind::RandomVerticalFlip:
    case StepKind::RandomGrayscale:
    case StepKind::RandomInvert:
    case StepKind::RandomPosterize:
    case StepKind::RandomSolarize:
    case StepKind::RandomAdjustSharpness:
    case StepKind::RandomAutocontrast:
    case StepKind::RandomEqualize:
      return {"applied"};
    default:
      return {};
  }
}

void validate_step(const TransformStep& s) {
  require(finite(s.p) && s.p >= 0.0 && s.p <= 1.0, s, "p=" + num(s.p) + " must be in [0, 1]");
  auto positive_size = [&](bool one_allowed) {
    const bool one = one_allowed && s.size[1] < 0;
    require(
        s.size[0] >= 1 && (one || s.size[1] >= 1) && s.size[0] <= kMaxSide && s.size[1] <= kMaxSide,
        s, "size must be positive (at most " + std::to_string(kMaxSide) + ")");
  };
  for (double f : s.fill) require(finite(f), s, "fill must be finite");
  if (is_augment_policy(s.kind)) return validate_augment_step(s);
  require(!s.fill.empty(), s, "fill=None is not supported here; give a number");
  switch (s.kind) {
    case StepKind::RandomApply:
    case StepKind::RandomChoice:
    case StepKind::RandomOrder:
    case StepKind::Compose: {
      require(s.span >= 0 && s.children >= 0 && s.children <= s.span && s.children <= kMaxChildren,
              s, "at most " + std::to_string(kMaxChildren) + " transforms");
      const bool pick = s.kind == StepKind::RandomChoice || s.kind == StepKind::RandomOrder;
      require(!pick || s.children >= 1, s, "needs at least one transform");
      if (s.kind == StepKind::RandomChoice && !s.weights.empty()) {
        require(static_cast<int64_t>(s.weights.size()) == s.children, s,
                "Length of p doesn't match the number of transforms: " +
                    std::to_string(s.weights.size()) + " != " + std::to_string(s.children));
        double total = 0.0;
        for (double w : s.weights) {
          require(finite(w) && w >= 0.0, s, "p must hold finite, non-negative numbers");
          total += w;
        }
        require(total > 0.0, s, "p must not sum to zero");
      }
      break;
    }
    case StepKind::RandomResizedCrop: {
      positive_size(false);
      ResizedCropRange r{s.scale[0], s.scale[1], s.ratio[0], s.ratio[1]};
      validate_resized_crop_range(r);
      break;
    }
    case StepKind::Resize:
      positive_size(true);
      require(s.max_size == 0 || (s.size[1] < 0 && s.max_size > s.size[0]), s,
              "max_size=" + std::to_string(s.max_size) + " needs size as one int smaller than it");
      break;
    case StepKind::CenterCrop:
      positive_size(false);
      break;
    case StepKind::RandomCrop:
      positive_size(false);
      [[fallthrough]];
    case StepKind::Pad:
      for (int64_t v : s.padding) {
        require(
            v >= 0 && v <= kMaxSide, s,
            "padding must be in [0, " + std::to_string(kMaxSide) + "], got " + std::to_string(v));
      }
      break;
    case StepKind::ColorJitter:
      for (size_t k = 0; k < 4; ++k) {
        const auto& j = s.jitter[k];
        if (std::isnan(j[0])) continue;
        const char* names[] = {"brightness", "contrast", "saturation", "hue"};
        const bool ok = finite(j[0]) && finite(j[1]) && j[0] <= j[1] &&
                        (k == 3 ? (j[0] >= -0.5 && j[1] <= 0.5) : j[0] >= 0.0);
        require(ok, s,
                std::string(names[k]) + " range (" + num(j[0]) + ", " + num(j[1]) + ") must " +
                    (k == 3 ? "lie in [-0.5, 0.5]" : "be non-negative") + " with min <= max");
      }
      break;
    case StepKind::Grayscale:
    case StepKind::RandomGrayscale:
      require(s.num_output_channels == 1 || s.num_output_channels == 3, s,
              "num_output_channels must be 1 or 3");
      break;
    case StepKind::GaussianBlur:
      for (int64_t k : s.kernel) {
        require(k >= 1 && k % 2 == 1 && k <= 1025, s,
                "kernel_size values must be odd and positive, got " + std::to_string(k));
      }
      require(
          finite(s.sigma[0]) && finite(s.sigma[1]) && s.sigma[0] > 0 && s.sigma[0] <= s.sigma[1], s,
          "sigma must satisfy 0 < min <= max");
      break;
    case StepKind::RandomPosterize:
      require(s.value >= 0 && s.value <= 8 && s.value == std::floor(s.value), s,
              "bits must be an int in [0, 8]");
      break;
    case StepKind::RandomSolarize:
      require(finite(s.value) && s.value >= 0 && s.value <= 255, s,
              "threshold must be in [0, 255] for uint8 images");
      break;
    case StepKind::RandomAdjustSharpness:
      require(finite(s.value) && s.value >= 0, s, "sharpness_factor must be finite and >= 0");
      break;
    case StepKind::ToDtype:
      require(s.dtype == DType::Float32 || s.dtype == DType::Float16 ||
                  s.dtype == DType::BFloat16 || s.dtype == DType::UInt8,
              s, "dtype must be float32, float16, bfloat16 or uint8");
      break;
    case StepKind::Normalize:
      require(!s.mean.empty() && s.mean.size() == s.std.size(), s,
              "mean and std must have the same, non-zero, length");
      for (size_t c = 0; c < s.std.size(); ++c) {
        require(finite(s.mean[c]) && finite(s.std[c]) && s.std[c] != 0.0, s,
                "std evaluated to zero or a value is not finite");
      }
      break;
    case StepKind::Lambda:
      require(s.function != nullptr, s, "needs a function");
      break;
    case StepKind::RandomErasing: {
      require(finite(s.scale[0]) && finite(s.scale[1]) && s.scale[0] >= 0 &&
                  s.scale[0] <= s.scale[1] && s.scale[1] <= 1,
              s, "scale should be between 0 and 1 with min <= max");
      require(
          finite(s.ratio[0]) && finite(s.ratio[1]) && s.ratio[0] > 0 && s.ratio[0] <= s.ratio[1], s,
          "ratio must satisfy 0 < min <= max");
      break;
    }
    default:
      break;
  }
}

TransformProgram::TransformProgram(std::vector<TransformStep> steps, int64_t channels,
                                   DType source_dtype)
    : steps_(std::move(steps)), channels_(channels), source_dtype_(source_dtype) {
  Stage last = Stage::Resample;
  bool seen_geometry = false, seen_resample = false, scale_values = false;
  output_channels_ = channels;
  output_dtype_ = source_dtype;
  std::vector<double> mean, std;
  std::vector<size_t> open_groups;  // where each enclosing RandomApply / Choice / Order ends
  for (size_t k = 0; k < steps_.size(); ++k) {
    const TransformStep& s = steps_[k];
    validate_step(s);
    while (!open_groups.empty() && open_groups.back() <= k) open_groups.pop_back();
    if (!open_groups.empty()) {
      size_t group = k;
      while (group-- > 0 && !(is_container(steps_[group].kind) &&
                              group + 1 + static_cast<size_t>(steps_[group].span) > k)) {
      }
      const std::string where(step_kind_name(steps_[group].kind));
      require(stage_of(s.kind) == Stage::Pixel, s,
              "cannot be fused yet inside " + where +
                  " (only colour transforms and the augmentation policies can)");
      require(!(s.kind == StepKind::Grayscale && s.num_output_channels == 1), s,
              "num_output_channels=1 inside " + where + " would make mixed channel counts");
    }
    if (is_container(s.kind)) {
      const size_t end = k + 1 + static_cast<size_t>(s.span);
      require(end <= steps_.size() && (open_groups.empty() || end <= open_groups.back()), s,
              "its transforms run past the end of the pipeline");
      int64_t count = 0;
      size_t c = k + 1;
      for (; c < end; c += 1 + static_cast<size_t>(steps_[c].span)) ++count;
      require(c == end && count == s.children, s, "its transforms are malformed");
      open_groups.push_back(end);
    }
    offsets_.push_back(parameter_count_);
    parameter_count_ += static_cast<int64_t>(step_parameter_names(s).size());
    const Stage stage = stage_of(s.kind);
    const std::string name(step_kind_name(s.kind));
    if (stage == Stage::Resample) {
      require(!seen_resample, s,
              "a second resampling transform cannot be fused into one resample; give one "
              "Resize or RandomResizedCrop");
      require(!seen_geometry, s,
              "must come before the crops, pads and flips (they are fused after the one "
              "resample)");
      seen_resample = true;
    }
    if (stage == Stage::Resample || stage == Stage::Index) {
      require(last == Stage::Resample || last == Stage::Index, s,
              "geometric transforms must come before the colour, dtype and erasing ones");
      seen_geometry = true;
    }
    if (stage == Stage::Pixel) {
      require(last != Stage::Output && last != Stage::Erase, s,
              "colour transforms work on uint8 images: put them before ToDtype and Normalize");
      require(source_dtype == DType::UInt8, s,
              "colour transforms need uint8 images, not " + std::string(dtype_name(source_dtype)));
      const bool needs_rgb = s.kind == StepKind::ColorJitter || s.kind == StepKind::Grayscale ||
                             s.kind == StepKind::RandomGrayscale;
      require(output_channels_ == 1 || output_channels_ == 3, s,
              "colour transforms need 1- or 3-channel images, these have " +
                  std::to_string(output_channels_));
      require(!needs_rgb || output_channels_ == 3, s,
              "needs 3-channel (RGB) images, these have " + std::to_string(output_channels_));
      if ((s.kind == StepKind::Grayscale || s.kind == StepKind::RandomGrayscale) &&
          s.num_output_channels == 1) {
        require(s.kind == StepKind::Grayscale, s,
                "num_output_channels=1 would make batches of mixed channel counts; use 3");
        output_channels_ = 1;
      }
      require(!is_augment_policy(s.kind) || s.fill.size() <= 1 ||
                  static_cast<int64_t>(s.fill.size()) == channels_,
              s, "fill needs 1 or " + std::to_string(channels_) + " values");
      has_pixel_steps_ = true;
    }
    if (stage == Stage::Output) {
      require(last != Stage::Erase, s, "must come before RandomErasing");
      if (s.kind == StepKind::ToDtype) {
        require(output_dtype_ == DType::UInt8 || !s.scale_values, s,
                "scale=True needs uint8 images");
        scale_values = s.scale_values && s.dtype != DType::UInt8;
        require(s.dtype != DType::UInt8 || output_dtype_ == DType::UInt8, s,
                "converting floats back to uint8 is not supported");
        output_dtype_ = s.dtype;
      } else {
        require(output_dtype_ != DType::UInt8, s,
                "needs float images: put ToDtype(torch.float32, scale=True) before it");
        require(mean.empty(), s, "a second Normalize is not supported");
        require(s.mean.size() == 1 || static_cast<int64_t>(s.mean.size()) == output_channels_, s,
                "mean and std need 1 or " + std::to_string(output_channels_) + " values");
        mean = s.mean;
        std = s.std;
      }
    }
    if (stage == Stage::Erase) {
      require(s.fill.size() == 1 || static_cast<int64_t>(s.fill.size()) == output_channels_, s,
              "value needs 1 or " + std::to_string(output_channels_) + " values");
    }
    if (stage == Stage::Index && s.padding_mode == PadMode::Constant) {
      require(s.fill.size() == 1 || static_cast<int64_t>(s.fill.size()) == channels_, s,
              "fill needs 1 or " + std::to_string(channels_) + " values");
    }
    last = stage;
  }
  require(output_dtype_ == DType::UInt8 || output_dtype_ == DType::Float32 ||
              output_dtype_ == DType::Float16 || output_dtype_ == DType::BFloat16 || steps_.empty(),
          TransformStep{}, "the output dtype must be float32, float16, bfloat16 or uint8");
  const double scale = scale_values ? 1.0 / 255.0 : 1.0;
  for (int64_t c = 0; c < output_channels_; ++c) {
    const auto k = static_cast<size_t>(c);
    const double m = mean.empty() ? 0.0 : mean[mean.size() == 1 ? 0 : k];
    const double d = std.empty() ? 1.0 : std[std.size() == 1 ? 0 : k];
    multiplier_.push_back(static_cast<float>(scale / d));
    offset_.push_back(static_cast<float>(-m / d));
  }
}

std::array<int64_t, 2> TransformProgram::output_size(int64_t h, int64_t w, std::string* why) const {
  for (const TransformStep& s : steps_) {
    switch (s.kind) {
      case StepKind::RandomResizedCrop:
      case StepKind::CenterCrop:
        h = s.size[0];
        w = s.size[1];
        break;
      case StepKind::Resize: {
        const auto r = resize_size(s, h, w);
        h = r[0];
        w = r[1];
        break;
      }
      case StepKind::Pad:
        h += s.padding[1] + s.padding[3];
        w += s.padding[0] + s.padding[2];
        break;
      case StepKind::RandomCrop: {
        const auto p = random_crop_padding(s, h, w);
        const int64_t ph = h + p[1] + p[3], pw = w + p[0] + p[2];
        if (ph < s.size[0] || pw < s.size[1]) {
          if (why) {
            *why = "RandomCrop: the crop (" + std::to_string(s.size[0]) + ", " +
                   std::to_string(s.size[1]) + ") is larger than the padded image (" +
                   std::to_string(ph) + ", " + std::to_string(pw) + "); use pad_if_needed=True";
          }
          return {-1, -1};
        }
        if (s.padding_mode == PadMode::Reflect &&
            (p[0] >= w || p[2] >= w || p[1] >= h || p[3] >= h)) {
          if (why) *why = "RandomCrop: reflect padding must be smaller than the image";
          return {-1, -1};
        }
        h = s.size[0];
        w = s.size[1];
        break;
      }
      default:
        break;
    }
    if (s.kind == StepKind::Pad && s.padding_mode == PadMode::Reflect) {
      const int64_t ih = h - s.padding[1] - s.padding[3], iw = w - s.padding[0] - s.padding[2];
      if (s.padding[0] >= iw || s.padding[2] >= iw || s.padding[1] >= ih || s.padding[3] >= ih) {
        if (why) *why = "Pad: reflect padding must be smaller than the image";
        return {-1, -1};
      }
    }
  }
  return {h, w};
}

SampleParameters TransformProgram::draw(uint64_t seed, uint64_t epoch, uint64_t position, int64_t h,
                                        int64_t w) const {
  SampleParameters out(static_cast<size_t>(parameter_count_), 0.0);
  for (size_t k = 0; k < steps_.size(); ++k) {
    const TransformStep& s = steps_[k];
    double* v = out.data() + offsets_[k];
    auto bits = [&](uint64_t d) {
      return counter_hash(seed, epoch, position, kStepStreams + 64 * k + d);
    };
    auto coin = [&](uint64_t d) { return unit(bits(d)) < s.p; };
    if (is_augment_policy(s.kind)) {
      const DrawKey key{seed, epoch, position, kPolicyStreams + kPolicyWords * k};
      draw_augment_step(s, key, h, w, v);
      continue;
    }
    switch (s.kind) {
      case StepKind::RandomChoice: {
        double total = 0.0;
        for (int64_t c = 0; c < s.children; ++c) {
          total += s.weights.empty() ? 1.0 : s.weights[static_cast<size_t>(c)];
        }
        const double u = unit(bits(0)) * total;
        double cumulative = 0.0;
        int64_t pick = s.children - 1;
        for (int64_t c = 0; c < s.children; ++c) {
          const double weight = s.weights.empty() ? 1.0 : s.weights[static_cast<size_t>(c)];
          cumulative += weight;
          if (u < cumulative && weight > 0.0) {
            pick = c;
            break;
          }
        }
        v[0] = static_cast<double>(pick);
        break;
      }
      case StepKind::RandomOrder: {
        for (int64_t c = 0; c < s.children; ++c) v[c] = static_cast<double>(c);
        for (auto i = static_cast<uint64_t>(s.children - 1); i > 0; --i) {
          const auto j = static_cast<size_t>(bounded(bits(i), i + 1));
          std::swap(v[i], v[j]);
        }
        break;
      }
      case StepKind::RandomResizedCrop: {
        const ResizedCropRange r{s.scale[0], s.scale[1], s.ratio[0], s.ratio[1]};
        const CropWindow win = random_resized_window(seed, epoch, position, h, w, r);
        v[0] = static_cast<double>(win.top);
        v[1] = static_cast<double>(win.left);
        v[2] = static_cast<double>(win.height);
        v[3] = static_cast<double>(win.width);
        h = s.size[0];
        w = s.size[1];
        break;
      }
      case StepKind::Resize: {
        const auto r = resize_size(s, h, w);
        h = r[0];
        w = r[1];
        break;
      }
      case StepKind::CenterCrop:
        h = s.size[0];
        w = s.size[1];
        break;
      case StepKind::Pad:
        h += s.padding[1] + s.padding[3];
        w += s.padding[0] + s.padding[2];
        break;
      case StepKind::RandomCrop: {
        const auto p = random_crop_padding(s, h, w);
        const int64_t ph = h + p[1] + p[3], pw = w + p[0] + p[2];
        v[0] = static_cast<double>(bounded(bits(0), static_cast<uint64_t>(ph - s.size[0] + 1)));
        v[1] = static_cast<double>(bounded(bits(1), static_cast<uint64_t>(pw - s.size[1] + 1)));
        h = s.size[0];
        w = s.size[1];
        break;
      }
      case StepKind::ColorJitter: {
        double order[4] = {0, 1, 2, 3};
        for (uint64_t i = 3; i > 0; --i) {  // Fisher-Yates: a uniform permutation
          const auto j = static_cast<size_t>(bounded(bits(i), i + 1));
          std::swap(order[i], order[j]);
        }
        for (size_t i = 0; i < 4; ++i) {
          v[i] = order[i];
          const auto& r = s.jitter[i];
          v[4 + i] = std::isnan(r[0]) ? std::numeric_limits<double>::quiet_NaN()
                                      : r[0] + (r[1] - r[0]) * unit(bits(4 + i));
        }
        break;
      }
      case StepKind::GaussianBlur:
        v[0] = s.sigma[0] + (s.sigma[1] - s.sigma[0]) * unit(bits(0));
        break;
      case StepKind::RandomErasing: {
        if (!coin(0)) break;
        const double area = static_cast<double>(h) * static_cast<double>(w);
        const double lo = std::log(s.ratio[0]), hi = std::log(s.ratio[1]);
        for (uint64_t a = 0; a < 10; ++a) {
          const double erase =
              area * (s.scale[0] + (s.scale[1] - s.scale[0]) * unit(bits(1 + 4 * a)));
          const double aspect = std::exp(lo + (hi - lo) * unit(bits(2 + 4 * a)));
          const int64_t eh = round_even(std::sqrt(erase * aspect));
          const int64_t ew = round_even(std::sqrt(erase / aspect));
          if (!(eh < h && ew < w)) continue;
          v[0] = 1.0;
          v[1] = static_cast<double>(bounded(bits(3 + 4 * a), static_cast<uint64_t>(h - eh + 1)));
          v[2] = static_cast<double>(bounded(bits(4 + 4 * a), static_cast<uint64_t>(w - ew + 1)));
          v[3] = static_cast<double>(eh);
          v[4] = static_cast<double>(ew);
          // value="random": the seed of the box's noise (53 bits: exact in a double).
          if (s.random_value) v[5] = static_cast<double>(bits(63) >> 11);
          break;
        }
        break;
      }
      default:
        if (!step_parameter_names(s).empty()) v[0] = coin(0) ? 1.0 : 0.0;  // "applied"
        break;
    }
  }
  return out;
}

void erasing_noise(uint64_t noise_seed, std::span<float> out) {
  for (size_t k = 0; k < out.size(); ++k) {
    out[k] = static_cast<float>(
        normal_from_bits(counter_hash(noise_seed, 0, k, 0), counter_hash(noise_seed, 0, k, 1)));
  }
}

void sample_geometry(const TransformProgram& program, std::span<const double> params,
                     int64_t height, int64_t width, SampleGeometry& g) {
  g.top = 0;
  g.left = 0;
  g.height = height;
  g.width = width;
  g.resized_h = height;
  g.resized_w = width;
  g.interpolation = Interpolation::Bilinear;
  // Sizes after the resample, then the index steps as (axis maps, size before, pad mode).
  struct IndexStep {
    AxisMap row, col;
    int64_t in_h, in_w;
    PadMode mode;
    const std::vector<double>* fill;  // constant padding's value (null: zeros)
  };
  std::vector<IndexStep> index_steps;
  int64_t h = height, w = width;
  const std::vector<TransformStep>& steps = program.steps();
  for (size_t k = 0; k < steps.size(); ++k) {
    const TransformStep& s = steps[k];
    const double* v = params.data() + program.parameter_offset(k);
    switch (s.kind) {
      case StepKind::RandomResizedCrop:
        g.top = static_cast<int64_t>(v[0]);
        g.left = static_cast<int64_t>(v[1]);
        g.height = static_cast<int64_t>(v[2]);
        g.width = static_cast<int64_t>(v[3]);
        h = g.resized_h = s.size[0];
        w = g.resized_w = s.size[1];
        g.interpolation = s.interpolation;
        break;
      case StepKind::Resize: {
        const auto r = resize_size(s, h, w);
        h = g.resized_h = r[0];
        w = g.resized_w = r[1];
        g.interpolation = s.interpolation;
        break;
      }
      case StepKind::CenterCrop: {
        // torchvision pads a too-small image with zeros (centred), then crops at the anchor.
        const int64_t pl = s.size[1] > w ? (s.size[1] - w) / 2 : 0;
        const int64_t pt = s.size[0] > h ? (s.size[0] - h) / 2 : 0;
        const int64_t ph = std::max(h, s.size[0]), pw = std::max(w, s.size[1]);
        const int64_t top = round_even(static_cast<double>(ph - s.size[0]) / 2.0);
        const int64_t left = round_even(static_cast<double>(pw - s.size[1]) / 2.0);
        index_steps.push_back(
            {{top - pt, false}, {left - pl, false}, h, w, PadMode::Constant, nullptr});
        h = s.size[0];
        w = s.size[1];
        break;
      }
      case StepKind::Pad:
        index_steps.push_back(
            {{-s.padding[1], false}, {-s.padding[0], false}, h, w, s.padding_mode, &s.fill});
        h += s.padding[1] + s.padding[3];
        w += s.padding[0] + s.padding[2];
        break;
      case StepKind::RandomCrop: {
        const auto p = random_crop_padding(s, h, w);
        index_steps.push_back({{static_cast<int64_t>(v[0]) - p[1], false},
                               {static_cast<int64_t>(v[1]) - p[0], false},
                               h,
                               w,
                               s.padding_mode,
                               &s.fill});
        h = s.size[0];
        w = s.size[1];
        break;
      }
      case StepKind::RandomHorizontalFlip:
        if (v[0] != 0.0)
          index_steps.push_back({{0, false}, {0, true}, h, w, PadMode::Constant, nullptr});
        break;
      case StepKind::RandomVerticalFlip:
        if (v[0] != 0.0)
          index_steps.push_back({{0, true}, {0, false}, h, w, PadMode::Constant, nullptr});
        break;
      default:
        break;
    }
  }
  // Compose the tables from the output backwards: entry = the index it reads at each step.
  g.rows.resize(static_cast<size_t>(h));
  g.cols.resize(static_cast<size_t>(w));
  for (int64_t i = 0; i < h; ++i) g.rows[static_cast<size_t>(i)] = i;
  for (int64_t i = 0; i < w; ++i) g.cols[static_cast<size_t>(i)] = i;
  // A pixel outside the image at step k shows step k's fill: entries that leave the image there
  // become -1 - k, and a pixel takes the fill of the latest step its row or column left at.
  const auto channels = static_cast<size_t>(program.input_channels());
  g.fill.assign(std::max<size_t>(index_steps.size(), 1) * channels, 0.0);
  for (size_t k = index_steps.size(); k-- > 0;) {
    const IndexStep& st = index_steps[k];
    const auto gone = -1 - static_cast<int64_t>(k);
    for (int64_t& r : g.rows) {
      if (r >= 0)
        r = std::max(map_index(r, st.row, st.in_h, st.mode), int64_t{-1}) < 0
                ? gone
                : map_index(r, st.row, st.in_h, st.mode);
    }
    for (int64_t& c : g.cols) {
      if (c >= 0)
        c = map_index(c, st.col, st.in_w, st.mode) < 0 ? gone
                                                       : map_index(c, st.col, st.in_w, st.mode);
    }
    if (st.fill != nullptr) {
      for (size_t c = 0; c < channels; ++c) {
        g.fill[k * channels + c] = (*st.fill)[st.fill->size() == 1 ? 0 : c];
      }
    }
  }
}

}  // namespace nocopy
