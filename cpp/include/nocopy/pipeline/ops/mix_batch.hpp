// The batch transforms of nocopy.transforms: MixUp and CutMix (torchvision v2's), or a random
// choice between them, on a complete batch: its images mixed with the batch rolled by one, its
// labels turned into mixed one-hot (soft) labels. The draws (which one, lam, CutMix's centre)
// are pure functions of (seed, epoch, the batch's first global position) on their registered
// stream, so plan(i) reports them and any batch can be rebuilt.
#pragma once

#include <cstdint>
#include <vector>

#include "nocopy/core/dtype.hpp"
#include "nocopy/pipeline/kernels/batch_mix.hpp"
#include "nocopy/pipeline/kernels/sample_transform.hpp"

namespace nocopy {

/// Which batch transform.
enum class MixKind : uint8_t {
  MixUp,   ///< every image lam * x[i] + (1 - lam) * x[i - 1]
  CutMix,  ///< a box of x[i - 1] pasted into x[i]
};

/// One batch transform of the choice, with its Beta(alpha, alpha) parameter and its weight.
struct MixChoice {
  MixKind kind = MixKind::MixUp;
  double alpha = 1.0;
  double weight = 1.0;
};

/// The loader's batch transforms: one of `choices` per batch (drawn by weight), labels one-hot
/// over `num_classes`.
struct BatchMixSpec {
  std::vector<MixChoice> choices;
  int64_t num_classes = 0;
};

/// Checks the spec once: at least one choice, alpha finite and > 0, weights finite, >= 0 and not
/// all 0, num_classes >= 1 (std::invalid_argument naming the value).
void validate_batch_mix(const BatchMixSpec& spec);

/// What one batch draws: the choice (index into choices), lam and CutMix's box.
struct BatchMixParams {
  int64_t choice = 0;
  double lam = 1.0;
  CutMixBox box;
};

/// The values plan(i) reports for a batch, in order.
inline constexpr const char* kBatchMixParameterNames[] = {"choice", "lam", "y1",       "y2",
                                                          "x1",     "x2",  "label_lam"};

/// The draws of the batch whose first sample has global position `position` of `epoch`, for
/// images of height x width.
BatchMixParams draw_batch_mix(const BatchMixSpec& spec, uint64_t seed, uint64_t epoch,
                              uint64_t position, int64_t height, int64_t width);

/// Applies the drawn transform in place: `images` a dense batch of n samples (channels x height
/// x width, `layout`, `dtype`), `soft_labels` n x num_classes float32 one-hot rows (mixed with
/// the same lam: CutMix's box-adjusted one).
void apply_batch_mix(const BatchMixSpec& spec, const BatchMixParams& params, void* images,
                     DType dtype, Layout layout, int64_t n, int64_t channels, int64_t height,
                     int64_t width, float* soft_labels);

}  // namespace nocopy
