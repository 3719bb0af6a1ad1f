// MixUp and CutMix on a finished batch, in place, with torchvision.transforms.v2's semantics:
// sample i is mixed with sample i - 1 (the batch rolled by one, sample 0 with sample n - 1),
// always from the original values; labels become one-hot rows mixed the same way.
//
// MixUp computes, like torchvision on float32 / float16 / bfloat16 tensors,
//   out[i] = round(round(x[i - 1] * float(1 - lam)) + round(x[i] * float(lam)))
// with each product and the sum rounded to the batch dtype (computed in float32, never fused
// into an FMA), so the result equals torchvision's bit for bit. uint8 (which torchvision's MixUp
// refuses) is mixed by the same float32 formula and rounded to nearest, ties to even.
// CutMix copies the box rows [y1, y2) x columns [x1, x2) of sample i - 1 into sample i; its box
// and adjusted lam come from cutmix_box, torchvision's computation from lam and the centre draw.
#pragma once

#include <cstddef>
#include <cstdint>

#include "nocopy/core/dtype.hpp"
#include "nocopy/pipeline/kernels/sample_transform.hpp"

namespace nocopy {

/// True for the dtypes mixup_images mixes: float32, float16, bfloat16, uint8.
bool is_mixup_dtype(DType t);

/// MixUp in place on a dense batch of n samples of sample_elems elements each (sample i at
/// element i * sample_elems): every sample becomes lam * x[i] + (1 - lam) * x[i - 1 mod n],
/// from the original values (no heap allocation: the last sample is saved piecewise on the
/// stack). std::invalid_argument for another dtype, negative sizes or lam outside [0, 1].
void mixup_images(void* batch, DType dtype, int64_t n, int64_t sample_elems, double lam);

/// A CutMix box (rows [y1, y2), columns [x1, x2), possibly empty) and the adjusted lam: the
/// fraction of each sample the box leaves untouched.
struct CutMixBox {
  /// First row and one past the last row of the box.
  int64_t y1 = 0, y2 = 0;
  /// First column and one past the last column of the box.
  int64_t x1 = 0, x2 = 0;
  /// 1 - box area / image area (the label weight of the sample's own class).
  double lam = 1.0;
};

/// torchvision's CutMix box for a height x width image: half-sides int(0.5 * sqrt(1 - lam) *
/// side) around the centre (center_x, center_y), clamped to the image, and the adjusted lam.
/// center_x and center_y are the uniform draws from [0, width) and [0, height).
/// std::invalid_argument for an empty image, lam outside [0, 1] or a centre outside the image.
CutMixBox cutmix_box(int64_t height, int64_t width, double lam, int64_t center_x, int64_t center_y);

/// CutMix in place on a dense batch of n images of channels x height x width elements of
/// `itemsize` bytes in `layout` (CHW or HWC): the box of sample i - 1 mod n, taken from the
/// original values, replaces the box of sample i (no heap allocation). std::invalid_argument
/// for non-positive sizes or a box outside the image.
void cutmix_images(void* batch, size_t itemsize, int64_t n, int64_t channels, int64_t height,
                   int64_t width, Layout layout, const CutMixBox& box);

/// Mixed soft labels: row i of the n x num_classes float32 `soft_out` is lam * onehot(labels[i])
/// + (1 - lam) * onehot(labels[i - 1 mod n]), rounded like torchvision's float32 label mixing.
/// std::invalid_argument for num_classes < 1, a label outside [0, num_classes) (naming it and
/// its position) or lam outside [0, 1]; soft_out is untouched then.
void mix_labels(const int64_t* labels, int64_t n, int64_t num_classes, double lam, float* soft_out);

}  // namespace nocopy
