// MixUp / CutMix on a complete batch: the spec's checks, the per-batch draws and the kernels.
#include "nocopy/pipeline/ops/mix_batch.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

#include "nocopy/pipeline/sampling/beta_draw.hpp"
#include "nocopy/pipeline/sampling/random_streams.hpp"

namespace nocopy {

void validate_batch_mix(const BatchMixSpec& spec) {
  if (spec.choices.empty()) throw std::invalid_argument("batch_transforms: give MixUp or CutMix");
  double total = 0.0;
  for (const MixChoice& c : spec.choices) {
    if (!std::isfinite(c.alpha) || c.alpha <= 0.0) {
      throw std::invalid_argument("MixUp / CutMix: alpha must be finite and > 0, got " +
                                  std::to_string(c.alpha));
    }
    if (!std::isfinite(c.weight) || c.weight < 0.0) {
      throw std::invalid_argument("RandomChoice: p must be finite and >= 0");
    }
    total += c.weight;
  }
  if (!(total > 0.0)) throw std::invalid_argument("RandomChoice: p must not be all 0");
  if (spec.num_classes < 1) {
    throw std::invalid_argument("MixUp / CutMix: num_classes must be >= 1, got " +
                                std::to_string(spec.num_classes));
  }
}

BatchMixParams draw_batch_mix(const BatchMixSpec& spec, uint64_t seed, uint64_t epoch,
                              uint64_t position, int64_t height, int64_t width) {
  uint64_t word = 0;
  auto bits = [&] { return draw_bits(seed, epoch, position, RandomStream::BatchMixBase, word++); };
  BatchMixParams p;
  double total = 0.0;
  for (const MixChoice& c : spec.choices) total += c.weight;
  double u = uniform01(bits()) * total;
  p.choice = static_cast<int64_t>(spec.choices.size()) - 1;
  for (size_t k = 0; k < spec.choices.size(); ++k) {
    if (u < spec.choices[k].weight) {
      p.choice = static_cast<int64_t>(k);
      break;
    }
    u -= spec.choices[k].weight;
  }
  const MixChoice& c = spec.choices[static_cast<size_t>(p.choice)];
  p.lam = draw_beta(c.alpha, c.alpha, bits);
  p.box.lam = p.lam;
  if (c.kind == MixKind::CutMix) {
    const auto cx = static_cast<int64_t>(bounded(bits(), static_cast<uint64_t>(width)));
    const auto cy = static_cast<int64_t>(bounded(bits(), static_cast<uint64_t>(height)));
    p.box = cutmix_box(height, width, p.lam, cx, cy);
  }
  return p;
}

void apply_batch_mix(const BatchMixSpec& spec, const BatchMixParams& p, void* images, DType dtype,
                     Layout layout, int64_t n, int64_t channels, int64_t height, int64_t width,
                     float* soft_labels) {
  const MixChoice& c = spec.choices[static_cast<size_t>(p.choice)];
  if (c.kind == MixKind::MixUp) {
    mixup_images(images, dtype, n, channels * height * width, p.lam);
  } else {
    cutmix_images(images, itemsize(dtype), n, channels, height, width, layout, p.box);
  }
  // The one-hot rows mix like float32 samples, with the label weight (CutMix: box-adjusted).
  mixup_images(soft_labels, DType::Float32, n, spec.num_classes, p.box.lam);
}

}  // namespace nocopy
