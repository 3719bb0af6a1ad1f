// The augmentation policies and random warps: op spaces and magnitude tables as torchvision v2
// defines them, the per-sample draws, and each operation applied with torchvision's semantics
// on a uint8 image.
#include "nocopy/pipeline/ops/augment_policies.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <numbers>
#include <stdexcept>
#include <string>

#include "nocopy/pipeline/kernels/affine_warp.hpp"
#include "nocopy/pipeline/sampling/beta_draw.hpp"
#include "nocopy/pipeline/sampling/random_streams.hpp"
#include "pipeline/ops/step_checks.hpp"

namespace nocopy {

namespace {

using namespace step_checks;  // NOLINT: num, fail, require, unit

constexpr std::string_view kOpNames[kAugmentOpCount] = {
    "Identity",  "ShearX",     "ShearY",       "TranslateX", "TranslateY",
    "Rotate",    "Brightness", "Color",        "Contrast",   "Sharpness",
    "Posterize", "Solarize",   "AutoContrast", "Equalize",   "Invert"};

/// How an op's magnitudes are tabulated (torchvision's magnitudes_fn).
enum class Table : uint8_t {
  None,       ///< no magnitude (0.0)
  Linspace,   ///< linspace(0, end, bins)
  Width,      ///< linspace(0, end * width, bins)
  Height,     ///< linspace(0, end * height, bins)
  Posterize,  ///< (end - arange(bins) / ((bins - 1) / divisor)).round()
  Solarize,   ///< linspace(1, 0, bins)
};

/// One entry of an op space.
struct SpaceEntry {
  AugmentOp op;
  Table table;
  double end;
  bool is_signed;
  double divisor = 0.0;
};

using Op = AugmentOp;

/// AutoAugment's space (its ImageNet policy names the ops; magnitudes use 10 bins).
constexpr SpaceEntry kAutoSpace[] = {
    {Op::ShearX, Table::Linspace, 0.3, true},
    {Op::ShearY, Table::Linspace, 0.3, true},
    {Op::TranslateX, Table::Width, 150.0 / 331.0, true},
    {Op::TranslateY, Table::Height, 150.0 / 331.0, true},
    {Op::Rotate, Table::Linspace, 30.0, true},
    {Op::Brightness, Table::Linspace, 0.9, true},
    {Op::Color, Table::Linspace, 0.9, true},
    {Op::Contrast, Table::Linspace, 0.9, true},
    {Op::Sharpness, Table::Linspace, 0.9, true},
    {Op::Posterize, Table::Posterize, 8.0, false, 4.0},
    {Op::Solarize, Table::Solarize, 0.0, false},
    {Op::AutoContrast, Table::None, 0.0, false},
    {Op::Equalize, Table::None, 0.0, false},
    {Op::Invert, Table::None, 0.0, false},
};

/// RandAugment's space.
constexpr SpaceEntry kRandSpace[] = {
    {Op::Identity, Table::None, 0.0, false},
    {Op::ShearX, Table::Linspace, 0.3, true},
    {Op::ShearY, Table::Linspace, 0.3, true},
    {Op::TranslateX, Table::Width, 150.0 / 331.0, true},
    {Op::TranslateY, Table::Height, 150.0 / 331.0, true},
    {Op::Rotate, Table::Linspace, 30.0, true},
    {Op::Brightness, Table::Linspace, 0.9, true},
    {Op::Color, Table::Linspace, 0.9, true},
    {Op::Contrast, Table::Linspace, 0.9, true},
    {Op::Sharpness, Table::Linspace, 0.9, true},
    {Op::Posterize, Table::Posterize, 8.0, false, 4.0},
    {Op::Solarize, Table::Solarize, 0.0, false},
    {Op::AutoContrast, Table::None, 0.0, false},
    {Op::Equalize, Table::None, 0.0, false},
};

/// TrivialAugmentWide's space.
constexpr SpaceEntry kWideSpace[] = {
    {Op::Identity, Table::None, 0.0, false},
    {Op::ShearX, Table::Linspace, 0.99, true},
    {Op::ShearY, Table::Linspace, 0.99, true},
    {Op::TranslateX, Table::Linspace, 32.0, true},
    {Op::TranslateY, Table::Linspace, 32.0, true},
    {Op::Rotate, Table::Linspace, 135.0, true},
    {Op::Brightness, Table::Linspace, 0.99, true},
    {Op::Color, Table::Linspace, 0.99, true},
    {Op::Contrast, Table::Linspace, 0.99, true},
    {Op::Sharpness, Table::Linspace, 0.99, true},
    {Op::Posterize, Table::Posterize, 8.0, false, 6.0},
    {Op::Solarize, Table::Solarize, 0.0, false},
    {Op::AutoContrast, Table::None, 0.0, false},
    {Op::Equalize, Table::None, 0.0, false},
};

/// AugMix's space: the first 9 entries without all_ops, all 13 with it.
constexpr SpaceEntry kMixSpace[] = {
    {Op::ShearX, Table::Linspace, 0.3, true},
    {Op::ShearY, Table::Linspace, 0.3, true},
    {Op::TranslateX, Table::Width, 1.0 / 3.0, true},
    {Op::TranslateY, Table::Height, 1.0 / 3.0, true},
    {Op::Rotate, Table::Linspace, 30.0, true},
    {Op::Posterize, Table::Posterize, 4.0, false, 4.0},
    {Op::Solarize, Table::Solarize, 0.0, false},
    {Op::AutoContrast, Table::None, 0.0, false},
    {Op::Equalize, Table::None, 0.0, false},
    {Op::Brightness, Table::Linspace, 0.9, true},
    {Op::Color, Table::Linspace, 0.9, true},
    {Op::Contrast, Table::Linspace, 0.9, true},
    {Op::Sharpness, Table::Linspace, 0.9, true},
};
constexpr size_t kMixPartial = 9;

/// ImageNet's AutoAugment policy: 25 sub-policies of two (op, probability, magnitude bin).
struct SubOp {
  Op op;
  double p;
  int bin;
};
constexpr SubOp kImageNetPolicy[25][2] = {
    {{Op::Posterize, 0.4, 8}, {Op::Rotate, 0.6, 9}},
    {{Op::Solarize, 0.6, 5}, {Op::AutoContrast, 0.6, 0}},
    {{Op::Equalize, 0.8, 0}, {Op::Equalize, 0.6, 0}},
    {{Op::Posterize, 0.6, 7}, {Op::Posterize, 0.6, 6}},
    {{Op::Equalize, 0.4, 0}, {Op::Solarize, 0.2, 4}},
    {{Op::Equalize, 0.4, 0}, {Op::Rotate, 0.8, 8}},
    {{Op::Solarize, 0.6, 3}, {Op::Equalize, 0.6, 0}},
    {{Op::Posterize, 0.8, 5}, {Op::Equalize, 1.0, 0}},
    {{Op::Rotate, 0.2, 3}, {Op::Solarize, 0.6, 8}},
    {{Op::Equalize, 0.6, 0}, {Op::Posterize, 0.4, 6}},
    {{Op::Rotate, 0.8, 8}, {Op::Color, 0.4, 0}},
    {{Op::Rotate, 0.4, 9}, {Op::Equalize, 0.6, 0}},
    {{Op::Equalize, 0.0, 0}, {Op::Equalize, 0.8, 0}},
    {{Op::Invert, 0.6, 0}, {Op::Equalize, 1.0, 0}},
    {{Op::Color, 0.6, 4}, {Op::Contrast, 1.0, 8}},
    {{Op::Rotate, 0.8, 8}, {Op::Color, 1.0, 2}},
    {{Op::Color, 0.8, 8}, {Op::Solarize, 0.8, 7}},
    {{Op::Sharpness, 0.4, 7}, {Op::Invert, 0.6, 0}},
    {{Op::ShearX, 0.6, 5}, {Op::Equalize, 1.0, 0}},
    {{Op::Color, 0.4, 0}, {Op::Equalize, 0.6, 0}},
    {{Op::Equalize, 0.4, 0}, {Op::Solarize, 0.2, 4}},
    {{Op::Solarize, 0.6, 5}, {Op::AutoContrast, 0.6, 0}},
    {{Op::Invert, 0.6, 0}, {Op::Equalize, 1.0, 0}},
    {{Op::Color, 0.6, 4}, {Op::Contrast, 1.0, 8}},
    {{Op::Equalize, 0.8, 0}, {Op::Equalize, 0.6, 0}},
};

/// AugMix's magnitude bins (torchvision's _PARAMETER_MAX) and chains' largest random depth.
constexpr int64_t kMixBins = 10;
constexpr int64_t kMixRandomDepth = 3;

constexpr double kRadToDeg = 180.0 / std::numbers::pi;

/// torch.empty(1).uniform_(lo, hi).item(): a float32 value.
double uniform_f32(uint64_t bits, double lo, double hi) {
  return static_cast<double>(static_cast<float>(lo + (hi - lo) * unit(bits)));
}

/// torch.linspace(start, end, bins)[i] in float32 (torch's CPU kernel: start + step * i in the
/// first half, end - step * (bins - 1 - i) in the second, each one fused multiply-add).
float linspace_at(double start, double end, int64_t bins, int64_t i) {
  const auto s = static_cast<float>(start), e = static_cast<float>(end);
  if (bins == 1) return s;
  const float step = (e - s) / static_cast<float>(bins - 1);
  if (i < bins / 2) return std::fma(step, static_cast<float>(i), s);
  return std::fma(-step, static_cast<float>(bins - 1 - i), e);
}

/// The unsigned magnitude of bin `bin` of an entry for an image of (height, width).
double magnitude_of(const SpaceEntry& e, int64_t bins, int64_t bin, int64_t height, int64_t width) {
  switch (e.table) {
    case Table::None:
      return 0.0;
    case Table::Linspace:
      return linspace_at(0.0, e.end, bins, bin);
    case Table::Width:
      return linspace_at(0.0, e.end * static_cast<double>(width), bins, bin);
    case Table::Height:
      return linspace_at(0.0, e.end * static_cast<double>(height), bins, bin);
    case Table::Posterize: {
      const auto d = static_cast<float>(static_cast<double>(bins - 1) / e.divisor);
      const float v = static_cast<float>(e.end) - static_cast<float>(bin) / d;
      return std::nearbyint(v);
    }
    case Table::Solarize:
      return linspace_at(1.0, 0.0, bins, bin);
  }
  return 0.0;
}

/// One drawn op: its entry's op and its signed magnitude (the sign drawn from `sign_bits`).
void draw_op(const SpaceEntry& e, int64_t bins, int64_t bin, int64_t height, int64_t width,
             uint64_t sign_bits, double* op, double* magnitude) {
  double m = magnitude_of(e, bins, bin, height, width);
  if (e.table != Table::None && e.is_signed && unit(sign_bits) <= 0.5) m = -m;
  *op = static_cast<double>(e.op);
  *magnitude = m;
}

/// Python's float `a % m` for m > 0.
double python_mod(double a, double m) {
  double r = std::fmod(a, m);
  if (r != 0.0) {
    if (r < 0.0) r += m;
  } else {
    r = 0.0;
  }
  return r;
}

/// The per-channel fill of a step for an image of `channels` (false when fill=None).
bool fill_values(const TransformStep& s, int64_t channels, std::array<float, 4>& out) {
  if (s.fill.empty()) return false;
  for (size_t c = 0; c < static_cast<size_t>(std::min<int64_t>(channels, 4)); ++c) {
    out[c] = static_cast<float>(s.fill[s.fill.size() == 1 ? 0 : c]);
  }
  return true;
}

void warp(ImageU8 image, const AffineMatrix& m, Interpolation mode, const float* fill,
          PolicyScratch& scratch) {
  const auto n = static_cast<size_t>(image.height * image.width * image.channels);
  scratch.warp_source.resize(n);
  std::memcpy(scratch.warp_source.data(), image.data, n);
  affine_warp(scratch.warp_source.data(), image.height, image.width, image.channels,
              image.width * image.channels, image.data, image.height, image.width, m, mode, fill);
}

/// torch.rot90 of a square image by k quarter turns counter-clockwise (k = 1 or 3).
void quarter_turn(ImageU8 image, int k, PolicyScratch& scratch) {
  const int64_t n = image.height, c = image.channels;
  const auto size = static_cast<size_t>(n * n * c);
  scratch.warp_source.resize(size);
  std::memcpy(scratch.warp_source.data(), image.data, size);
  const uint8_t* src = scratch.warp_source.data();
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      // k = 1: out[i][j] = in[j][n - 1 - i]; k = 3: out[i][j] = in[n - 1 - j][i].
      const int64_t y = k == 1 ? j : n - 1 - j, x = k == 1 ? n - 1 - i : i;
      std::memcpy(image.data + (i * n + j) * c, src + (y * n + x) * c, static_cast<size_t>(c));
    }
  }
}

/// The image turned half a turn (both axes reversed).
void half_turn(ImageU8 image) {
  const int64_t count = image.height * image.width, c = image.channels;
  for (int64_t a = 0, b = count - 1; a < b; ++a, --b) {
    for (int64_t k = 0; k < c; ++k) std::swap(image.data[a * c + k], image.data[b * c + k]);
  }
}

bool is_policy_kind(StepKind k) {
  return k == StepKind::AutoAugment || k == StepKind::RandAugment ||
         k == StepKind::TrivialAugmentWide || k == StepKind::AugMix;
}

int64_t augmix_depth_slots(const TransformStep& s) {
  return s.chain_depth > 0 ? s.chain_depth : kMixRandomDepth;
}

/// AugMix: the chains blended in float32 as torchvision does, truncated to uint8.
void run_augmix(const TransformStep& s, const double* v, ImageU8 image, const float* fill,
                PolicyScratch& scratch) {
  const int64_t width = s.mixture_width, slots = augmix_depth_slots(s);
  const auto n = static_cast<size_t>(image.height * image.width * image.channels);
  scratch.original.assign(image.data, image.data + n);
  scratch.mix.resize(n);
  const auto m0 = static_cast<float>(v[0]);
  for (size_t p = 0; p < n; ++p) scratch.mix[p] = m0 * static_cast<float>(scratch.original[p]);
  const double* depth = v + 1 + width;
  const double* ops = depth + width;
  const double* magnitudes = ops + width * slots;
  for (int64_t i = 0; i < width; ++i) {
    scratch.chain = scratch.original;
    const ImageU8 chain{scratch.chain.data(), image.height, image.width, image.channels};
    for (int64_t j = 0; j < static_cast<int64_t>(depth[i]); ++j) {
      const int64_t at = i * slots + j;
      apply_augment_op(chain, static_cast<AugmentOp>(static_cast<int>(ops[at])), magnitudes[at],
                       s.interpolation, fill, scratch);
    }
    const auto weight = static_cast<float>(v[1 + i]);
    for (size_t p = 0; p < n; ++p) {
      const float term = weight * static_cast<float>(scratch.chain[p]);
      scratch.mix[p] = scratch.mix[p] + term;
    }
  }
  for (size_t p = 0; p < n; ++p) {
    image.data[p] = static_cast<uint8_t>(std::clamp(scratch.mix[p], 0.0f, 255.0f));
  }
}

}  // namespace

std::string_view augment_op_name(AugmentOp op) {
  return kOpNames[static_cast<size_t>(op)];
}

uint64_t DrawKey::word(uint64_t d) const {
  return counter_hash(seed, epoch, position, stream + d);
}

bool is_augment_policy(StepKind k) {
  return k == StepKind::RandomRotation || k == StepKind::RandomAffine || is_policy_kind(k);
}

std::vector<std::string> augment_parameter_names(const TransformStep& s) {
  std::vector<std::string> names;
  switch (s.kind) {
    case StepKind::RandomRotation:
      return {"angle"};
    case StepKind::RandomAffine:
      return {"angle", "translate_x", "translate_y", "scale", "shear_x", "shear_y"};
    case StepKind::TrivialAugmentWide:
      return {"op", "magnitude"};
    case StepKind::RandAugment:
      for (int64_t k = 0; k < s.num_ops; ++k) names.push_back("op." + std::to_string(k));
      for (int64_t k = 0; k < s.num_ops; ++k) names.push_back("magnitude." + std::to_string(k));
      return names;
    case StepKind::AutoAugment:
      return {"policy", "op.0", "op.1", "applied.0", "applied.1", "magnitude.0", "magnitude.1"};
    case StepKind::AugMix: {
      const int64_t slots = augmix_depth_slots(s);
      for (int64_t i = 0; i <= s.mixture_width; ++i) names.push_back("weight." + std::to_string(i));
      for (int64_t i = 0; i < s.mixture_width; ++i) names.push_back("depth." + std::to_string(i));
      for (const char* base : {"op.", "magnitude."}) {
        for (int64_t i = 0; i < s.mixture_width; ++i) {
          for (int64_t j = 0; j < slots; ++j) {
            names.push_back(base + std::to_string(i) + "." + std::to_string(j));
          }
        }
      }
      return names;
    }
    default:
      return {};
  }
}

void validate_augment_step(const TransformStep& s) {
  auto finite = [](double v) { return std::isfinite(v); };
  for (double f : s.fill) {
    require(finite(f) && f >= 0.0 && f <= 255.0, s,
            "fill values must lie in [0, 255] for uint8 images, got " + num(f));
  }
  require(s.interpolation == Interpolation::Nearest || s.interpolation == Interpolation::Bilinear,
          s, "interpolation must be NEAREST or BILINEAR");
  auto bins_ok = [&] {
    require(s.num_magnitude_bins >= 2 && s.num_magnitude_bins <= 4096, s,
            "num_magnitude_bins must be in [2, 4096], got " + std::to_string(s.num_magnitude_bins));
  };
  switch (s.kind) {
    case StepKind::RandomRotation:
    case StepKind::RandomAffine:
      require(finite(s.degrees[0]) && finite(s.degrees[1]) && s.degrees[0] <= s.degrees[1], s,
              "degrees must be finite with min <= max");
      require(!s.has_center || (finite(s.center[0]) && finite(s.center[1])), s,
              "center must be finite");
      if (s.kind == StepKind::RandomRotation) break;
      for (double t : s.translate) {
        require(finite(t) && t >= 0.0 && t <= 1.0, s,
                "translation values should be between 0 and 1");
      }
      require(
          finite(s.scale[0]) && finite(s.scale[1]) && s.scale[0] > 0 && s.scale[0] <= s.scale[1], s,
          "scale values should be positive with min <= max");
      for (size_t k = 0; k < 4; k += 2) {
        require(finite(s.shear[k]) && finite(s.shear[k + 1]) && s.shear[k] <= s.shear[k + 1], s,
                "shear ranges must be finite with min <= max");
        require(std::abs(s.shear[k]) < 90.0 && std::abs(s.shear[k + 1]) < 90.0, s,
                "shear angles must lie in (-90, 90) degrees");
      }
      break;
    case StepKind::TrivialAugmentWide:
      bins_ok();
      break;
    case StepKind::RandAugment:
      bins_ok();
      require(s.num_ops >= 0 && s.num_ops <= 64, s,
              "num_ops should be a non-negative integer (at most 64), got " +
                  std::to_string(s.num_ops));
      require(s.magnitude >= 0 && s.magnitude < s.num_magnitude_bins, s,
              "magnitude must be in [0, num_magnitude_bins), got " + std::to_string(s.magnitude));
      break;
    case StepKind::AutoAugment:
      break;
    case StepKind::AugMix:
      require(
          s.severity >= 1 && s.severity <= kMixBins, s,
          "The severity must be between [1, 10]. Got " + std::to_string(s.severity) + " instead.");
      require(s.mixture_width >= 1 && s.mixture_width <= 32, s,
              "mixture_width must be in [1, 32], got " + std::to_string(s.mixture_width));
      require(s.chain_depth <= 32, s,
              "chain_depth must be at most 32, got " + std::to_string(s.chain_depth));
      require(finite(s.alpha) && s.alpha > 0.0, s, "alpha must be positive, got " + num(s.alpha));
      break;
    default:
      break;
  }
}

void draw_augment_step(const TransformStep& s, const DrawKey& key, int64_t height, int64_t width,
                       double* v) {
  switch (s.kind) {
    case StepKind::RandomRotation:
      v[0] = uniform_f32(key.word(0), s.degrees[0], s.degrees[1]);
      break;
    case StepKind::RandomAffine: {
      v[0] = uniform_f32(key.word(0), s.degrees[0], s.degrees[1]);
      const double max_dx = s.translate[0] * static_cast<double>(width);
      const double max_dy = s.translate[1] * static_cast<double>(height);
      v[1] = std::nearbyint(uniform_f32(key.word(1), -max_dx, max_dx));
      v[2] = std::nearbyint(uniform_f32(key.word(2), -max_dy, max_dy));
      v[3] = uniform_f32(key.word(3), s.scale[0], s.scale[1]);
      v[4] = uniform_f32(key.word(4), s.shear[0], s.shear[1]);
      v[5] = uniform_f32(key.word(5), s.shear[2], s.shear[3]);
      break;
    }
    case StepKind::TrivialAugmentWide: {
      const SpaceEntry& e = kWideSpace[bounded(key.word(0), std::size(kWideSpace))];
      const auto bins = s.num_magnitude_bins;
      const auto bin = static_cast<int64_t>(bounded(key.word(1), static_cast<uint64_t>(bins)));
      draw_op(e, bins, bin, height, width, key.word(2), &v[0], &v[1]);
      break;
    }
    case StepKind::RandAugment:
      for (int64_t k = 0; k < s.num_ops; ++k) {
        const auto d = static_cast<uint64_t>(2 * k);
        const SpaceEntry& e = kRandSpace[bounded(key.word(d), std::size(kRandSpace))];
        draw_op(e, s.num_magnitude_bins, s.magnitude, height, width, key.word(d + 1), &v[k],
                &v[s.num_ops + k]);
      }
      break;
    case StepKind::AutoAugment: {
      const auto policy = bounded(key.word(0), std::size(kImageNetPolicy));
      v[0] = static_cast<double>(policy);
      for (size_t j = 0; j < 2; ++j) {
        const SubOp& sub = kImageNetPolicy[policy][j];
        const SpaceEntry* e = std::find_if(std::begin(kAutoSpace), std::end(kAutoSpace),
                                           [&](const SpaceEntry& x) { return x.op == sub.op; });
        v[3 + j] = unit(key.word(1 + 2 * j)) <= sub.p ? 1.0 : 0.0;
        draw_op(*e, 10, sub.bin, height, width, key.word(2 + 2 * j), &v[1 + j], &v[5 + j]);
      }
      break;
    }
    case StepKind::AugMix: {
      // Beta(alpha, alpha) as a 2-Dirichlet, then a mixture_width-Dirichlet scaled by its
      // second weight; float32 as torch's sampler returns them.
      uint64_t d = 0;
      auto next = [&] { return key.word(d++); };
      const int64_t width_n = s.mixture_width, slots = augmix_depth_slots(s);
      auto dirichlet = [&](int64_t count, double* out) {
        double top = -std::numeric_limits<double>::infinity();
        for (int64_t i = 0; i < count; ++i) {
          out[i] = draw_log_gamma(s.alpha, next);
          top = std::max(top, out[i]);
        }
        double sum = 0.0;
        for (int64_t i = 0; i < count; ++i) sum += std::exp(out[i] - top);
        for (int64_t i = 0; i < count; ++i) {
          out[i] = static_cast<double>(static_cast<float>(std::exp(out[i] - top) / sum));
        }
      };
      double beta[2];
      dirichlet(2, beta);
      v[0] = beta[0];
      dirichlet(width_n, v + 1);
      for (int64_t i = 0; i < width_n; ++i) {
        v[1 + i] = static_cast<double>(static_cast<float>(v[1 + i]) * static_cast<float>(beta[1]));
      }
      double* depth = v + 1 + width_n;
      double* ops = depth + width_n;
      double* magnitudes = ops + width_n * slots;
      const size_t space = s.all_ops ? std::size(kMixSpace) : kMixPartial;
      for (int64_t i = 0; i < width_n; ++i) {
        const uint64_t base = 0x10000 + static_cast<uint64_t>(i) * 0x100;
        depth[i] = static_cast<double>(s.chain_depth > 0
                                           ? s.chain_depth
                                           : 1 + static_cast<int64_t>(bounded(key.word(base), 3)));
        for (int64_t j = 0; j < slots; ++j) {
          const int64_t at = i * slots + j;
          if (j >= static_cast<int64_t>(depth[i])) {
            ops[at] = -1.0;
            magnitudes[at] = 0.0;
            continue;
          }
          const uint64_t w = base + 1 + 3 * static_cast<uint64_t>(j);
          const SpaceEntry& e = kMixSpace[bounded(key.word(w), space)];
          const auto bin =
              static_cast<int64_t>(bounded(key.word(w + 1), static_cast<uint64_t>(s.severity)));
          draw_op(e, kMixBins, bin, height, width, key.word(w + 2), &ops[at], &magnitudes[at]);
        }
      }
      break;
    }
    default:
      break;
  }
}

void rotate_image(ImageU8 image, double angle, Interpolation mode, const double* center,
                  const float* fill, PolicyScratch& scratch) {
  if (image.height < 1 || image.width < 1) return;
  angle = python_mod(angle, 360.0);
  if (center == nullptr) {
    if (angle == 0.0) return;
    if (angle == 180.0) return half_turn(image);
    if (image.height == image.width && (angle == 90.0 || angle == 270.0)) {
      return quarter_turn(image, angle == 90.0 ? 1 : 3, scratch);
    }
  }
  double pivot[2] = {0.0, 0.0};
  if (center != nullptr) {
    pivot[0] = center[0] - static_cast<double>(image.width) * 0.5;
    pivot[1] = center[1] - static_cast<double>(image.height) * 0.5;
  }
  const AffineMatrix m = inverse_affine_matrix(pivot[0], pivot[1], -angle, 0.0, 0.0, 1.0, 0.0, 0.0);
  warp(image, m, mode, fill, scratch);
}

void affine_image(ImageU8 image, double angle, std::array<double, 2> translate, double scale,
                  std::array<double, 2> shear, Interpolation mode, const double* center,
                  const float* fill, PolicyScratch& scratch) {
  if (image.height < 1 || image.width < 1) return;
  double pivot[2] = {0.0, 0.0};
  if (center != nullptr) {
    pivot[0] = center[0] - static_cast<double>(image.width) * 0.5;
    pivot[1] = center[1] - static_cast<double>(image.height) * 0.5;
  }
  const AffineMatrix m = inverse_affine_matrix(pivot[0], pivot[1], angle, translate[0],
                                               translate[1], scale, shear[0], shear[1]);
  warp(image, m, mode, fill, scratch);
}

void apply_augment_op(ImageU8 image, AugmentOp op, double magnitude, Interpolation mode,
                      const float* fill, PolicyScratch& scratch) {
  static constexpr double kCorner[2] = {0.0, 0.0};  // ShearX / ShearY pivot: the top-left
  switch (op) {
    case Op::Identity:
      break;
    case Op::ShearX:
      affine_image(image, 0.0, {0.0, 0.0}, 1.0, {kRadToDeg * std::atan(magnitude), 0.0}, mode,
                   kCorner, fill, scratch);
      break;
    case Op::ShearY:
      affine_image(image, 0.0, {0.0, 0.0}, 1.0, {0.0, kRadToDeg * std::atan(magnitude)}, mode,
                   kCorner, fill, scratch);
      break;
    case Op::TranslateX:
      affine_image(image, 0.0, {std::trunc(magnitude), 0.0}, 1.0, {0.0, 0.0}, mode, nullptr, fill,
                   scratch);
      break;
    case Op::TranslateY:
      affine_image(image, 0.0, {0.0, std::trunc(magnitude)}, 1.0, {0.0, 0.0}, mode, nullptr, fill,
                   scratch);
      break;
    case Op::Rotate:
      rotate_image(image, magnitude, mode, nullptr, fill, scratch);
      break;
    case Op::Brightness:
      adjust_brightness(image, 1.0 + magnitude);
      break;
    case Op::Color:
      adjust_saturation(image, 1.0 + magnitude);
      break;
    case Op::Contrast:
      adjust_contrast(image, 1.0 + magnitude);
      break;
    case Op::Sharpness:
      adjust_sharpness(image, 1.0 + magnitude, scratch);
      break;
    case Op::Posterize:
      posterize(image, static_cast<int>(magnitude));
      break;
    case Op::Solarize:
      solarize(image, 255.0 * magnitude);
      break;
    case Op::AutoContrast:
      autocontrast(image);
      break;
    case Op::Equalize:
      equalize(image);
      break;
    case Op::Invert:
      invert(image);
      break;
  }
}

void apply_augment_step(const TransformStep& s, const double* v, ImageU8 image,
                        PolicyScratch& scratch) {
  std::array<float, 4> fill_buffer{};
  const float* fill = fill_values(s, image.channels, fill_buffer) ? fill_buffer.data() : nullptr;
  const double* center = s.has_center ? s.center.data() : nullptr;
  switch (s.kind) {
    case StepKind::RandomRotation:
      rotate_image(image, v[0], s.interpolation, center, fill, scratch);
      break;
    case StepKind::RandomAffine:
      affine_image(image, v[0], {v[1], v[2]}, v[3], {v[4], v[5]}, s.interpolation, center, fill,
                   scratch);
      break;
    case StepKind::TrivialAugmentWide:
      apply_augment_op(image, static_cast<AugmentOp>(static_cast<int>(v[0])), v[1], s.interpolation,
                       fill, scratch);
      break;
    case StepKind::RandAugment:
      for (int64_t k = 0; k < s.num_ops; ++k) {
        apply_augment_op(image, static_cast<AugmentOp>(static_cast<int>(v[k])), v[s.num_ops + k],
                         s.interpolation, fill, scratch);
      }
      break;
    case StepKind::AutoAugment:
      for (size_t j = 0; j < 2; ++j) {
        if (v[3 + j] == 0.0) continue;
        apply_augment_op(image, static_cast<AugmentOp>(static_cast<int>(v[1 + j])), v[5 + j],
                         s.interpolation, fill, scratch);
      }
      break;
    case StepKind::AugMix:
      run_augmix(s, v, image, fill, scratch);
      break;
    default:
      break;
  }
}

}  // namespace nocopy
