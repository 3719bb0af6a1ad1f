// Affine warp of a uint8 HWC image (the geometry behind RandomRotation and RandomAffine).
//
// Semantics are those of torchvision v2's affine and rotate on uint8 tensors: an inverse 2x3
// matrix maps each output pixel, in coordinates relative to the output's center, to a source
// position relative to the source's center (pixel centers at integer offsets, the center at
// ((w - 1) / 2, (h - 1) / 2)); the source is sampled there as torch's grid_sample does with
// align_corners=False (nearest: the source pixel round-half-to-even; bilinear: the four
// neighbours, those outside the image weighing nothing), then blended with a per-channel fill
// by the weight that fell inside, and rounded half to even. Positions, weights and sums are
// float32 computed in torch's order, with fused multiply-adds where torch's kernel for the CPU
// uses them, so results match torchvision's bit for bit on x86-64.
#pragma once

#include <cstdint>

#include "nocopy/pipeline/kernels/resize.hpp"

namespace nocopy {

/// A 2x3 affine matrix, row-major: x' = m[0] x + m[1] y + m[2], y' = m[3] x + m[4] y + m[5].
struct AffineMatrix {
  double m[6];
};

/// The inverse matrix (output -> source, both relative to their centers) of the affine map that
/// rotates by `angle_deg` (clockwise on screen), scales by `scale`, shears by `shear_x_deg` and
/// `shear_y_deg` about the pivot (center_x, center_y) (relative to the image center) and then
/// translates by (translate_x, translate_y): torchvision's convention (rotate(a) is angle -a).
/// Requires scale != 0 and cos(shear_y) != 0 for a finite result.
AffineMatrix inverse_affine_matrix(double center_x, double center_y, double angle_deg,
                                   double translate_x, double translate_y, double scale,
                                   double shear_x_deg, double shear_y_deg);

/// Output size of a warp that keeps the whole transformed image (rotate with expand=True).
struct WarpSize {
  int64_t height, width;
};

/// The size rotate(expand=True) gives a `height` x `width` image under `inverse`: the bounding
/// box of the four corners mapped through the matrix, computed in float32 and truncated to 1e-4
/// before rounding outwards, as torchvision does. A side is 0 for a degenerate matrix (corners
/// not finite, or a side beyond 2^30); the caller checks.
WarpSize expanded_size(const AffineMatrix& inverse, int64_t height, int64_t width);

/// The size rotate(angle_deg, expand=True) gives (angle counter-clockwise, rotate's convention;
/// `inverse` its matrix): about the default center, multiples of 90 degrees are exact
/// transpositions ((width, height) for 90 and 270, the same size for 0 and 180, after Python's
/// angle % 360); otherwise expanded_size.
WarpSize rotated_size(double angle_deg, bool default_center, const AffineMatrix& inverse,
                      int64_t height, int64_t width);

/// Warps `src` (src_h x src_w x channels uint8, rows `src_row_stride` elements apart, pixels
/// dense) into the dense dst_h x dst_w x channels `dst` through `inverse` (see the file
/// comment). `fill` holds one value per channel (0..255) for what falls outside the source; null
/// means torchvision's fill=None (zeros, with no blending of the bilinear border). Requires
/// sizes in [1, 2^22) and channels >= 1; allocates nothing.
void affine_warp(const uint8_t* src, int64_t src_h, int64_t src_w, int64_t channels,
                 int64_t src_row_stride, uint8_t* dst, int64_t dst_h, int64_t dst_w,
                 const AffineMatrix& inverse, Interpolation mode, const float* fill);

}  // namespace nocopy
