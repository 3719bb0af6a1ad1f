// Affine warp: the torchvision-convention inverse matrix, the expanded output size and the
// per-row samplers (nearest, bilinear), specialised for 1, 3 and 4 channels. Source positions
// are computed in double directly from each pixel's indices (no accumulated steps); bilinear
// weights and sums are float32, as grid_sample's; rounding is half to even through the
// 1.5 * 2^23 (float) and 1.5 * 2^52 (double) additions, exact in the default rounding mode.
#include "nocopy/pipeline/kernels/affine_warp.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "internal/multiversion.hpp"

namespace nocopy {

AffineMatrix inverse_affine_matrix(double center_x, double center_y, double angle_deg,
                                   double translate_x, double translate_y, double scale,
                                   double shear_x_deg, double shear_y_deg) {
  constexpr double kRadians = std::numbers::pi / 180.0;
  const double rot = angle_deg * kRadians;
  const double sx = shear_x_deg * kRadians;
  const double sy = shear_y_deg * kRadians;
  // The forward map about the pivot is R(rot) * S(scale) * SHy(sy) * SHx(sx) = scale * [a b; c d]
  // (determinant 1 before scaling); its inverse is [d -b; -c a] / scale.
  const double tan_sx = std::tan(sx);
  const double a = std::cos(rot - sy) / std::cos(sy);
  const double b = -(a * tan_sx + std::sin(rot));
  const double c = std::sin(rot - sy) / std::cos(sy);
  const double d = std::cos(rot) - c * tan_sx;
  AffineMatrix m{{d / scale, -b / scale, 0.0, -c / scale, a / scale, 0.0}};
  // Undo the translation and the pivot, apply the inverse, restore the pivot.
  const double px = center_x + translate_x;
  const double py = center_y + translate_y;
  m.m[2] = center_x - m.m[0] * px - m.m[1] * py;
  m.m[5] = center_y - m.m[3] * px - m.m[4] * py;
  return m;
}

WarpSize expanded_size(const AffineMatrix& inverse, int64_t height, int64_t width) {
  const float half_w = static_cast<float>(0.5 * static_cast<double>(width));
  const float half_h = static_cast<float>(0.5 * static_cast<double>(height));
  float t[6];
  for (int k = 0; k < 6; ++k) t[k] = static_cast<float>(inverse.m[k]);
  const float corners[4][2] = {
      {-half_w, -half_h}, {-half_w, half_h}, {half_w, half_h}, {half_w, -half_h}};
  float lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY};
  for (const auto& p : corners) {
    for (int axis = 0; axis < 2; ++axis) {
      const float* row = t + 3 * axis;
      const float v = row[0] * p[0] + row[1] * p[1] + row[2];
      lo[axis] = std::min(lo[axis], v);
      hi[axis] = std::max(hi[axis], v);
    }
  }
  // Back to [0, w] x [0, h]; truncated to 1e-4 so that 1e-15 above an integer is not a pixel.
  const float halves[2] = {half_w, half_h};
  int64_t size[2];
  for (int axis = 0; axis < 2; ++axis) {
    const float top = std::ceil(std::trunc((hi[axis] + halves[axis]) * 1e4f) * 1e-4f);
    const float bottom = std::floor(std::trunc((lo[axis] + halves[axis]) * 1e4f) * 1e-4f);
    size[axis] = static_cast<int64_t>(top - bottom);
  }
  return {size[1], size[0]};
}

namespace {

#ifdef __FAST_MATH__
#error "affine_warp.cpp rounds through IEEE additions; build it without -ffast-math"
#endif

/// x rounded half to even (|x| < 2^22: every pixel value and blend).
inline float round_even(float x) {
  constexpr float kShift = 12582912.0f;  // 1.5 * 2^23
  return (x + kShift) - kShift;
}

/// x rounded half to even (|x| < 2^51: callers check the range first).
inline double round_even(double x) {
  constexpr double kShift = 6755399441055744.0;  // 1.5 * 2^52
  return (x + kShift) - kShift;
}

/// A float in [0, 255] after rounding half to even, as uint8.
inline uint8_t to_u8(float v) {
  return static_cast<uint8_t>(std::clamp(round_even(v), 0.0f, 255.0f));
}

/// Everything a row sampler needs, fixed for the whole warp.
struct WarpPlan {
  const uint8_t* src;
  int64_t h, w, channels, row_stride;
  int64_t dst_w;
  /// Source x = ax * j + x0 and y = ay * j + y0 for output column j of the current row.
  double ax, ay;
  /// Per-channel fill (0..255), or has_fill false for zeros without blending.
  bool has_fill;
  const float* fill;
};

/// Channel count known at compile time (1, 3, 4), or the plan's (0).
template <int C>
inline int64_t channel_count(const WarpPlan& p) {
  if constexpr (C > 0) {
    return C;
  } else {
    return p.channels;
  }
}

/// One output row, nearest: the source pixel round-half-even(x), round-half-even(y).
template <int C>
NOCOPY_MULTIVERSION void nearest_row(const WarpPlan& p, double x0, double y0, uint8_t* out) {
  const int64_t ch = channel_count<C>(p);
  const double x_hi = static_cast<double>(p.w) - 0.5, y_hi = static_cast<double>(p.h) - 0.5;
  for (int64_t j = 0; j < p.dst_w; ++j, out += ch) {
    const double x = p.ax * static_cast<double>(j) + x0;
    const double y = p.ay * static_cast<double>(j) + y0;
    // The range test also rejects NaN and keeps the rounding below inside its domain.
    if (x >= -0.5 && x <= x_hi && y >= -0.5 && y <= y_hi) {
      const double rx = round_even(x), ry = round_even(y);
      if (rx < static_cast<double>(p.w) && ry < static_cast<double>(p.h)) {
        const uint8_t* s =
            p.src + static_cast<int64_t>(ry) * p.row_stride + static_cast<int64_t>(rx) * ch;
        for (int64_t c = 0; c < ch; ++c) out[c] = s[c];
        continue;
      }
    }
    for (int64_t c = 0; c < ch; ++c) out[c] = p.has_fill ? to_u8(p.fill[c]) : 0;
  }
}

/// One output row, bilinear: the four neighbours of (x, y), those outside weighing nothing; with
/// a fill, (value - fill) * inside_weight + fill.
template <int C>
NOCOPY_MULTIVERSION void bilinear_row(const WarpPlan& p, double x0, double y0, uint8_t* out) {
  const int64_t ch = channel_count<C>(p);
  const double w = static_cast<double>(p.w), h = static_cast<double>(p.h);
  for (int64_t j = 0; j < p.dst_w; ++j, out += ch) {
    const double x = p.ax * static_cast<double>(j) + x0;
    const double y = p.ay * static_cast<double>(j) + y0;
    if (!(x > -1.0 && x < w && y > -1.0 && y < h)) {  // no neighbour inside (or NaN)
      for (int64_t c = 0; c < ch; ++c) out[c] = p.has_fill ? to_u8(p.fill[c]) : 0;
      continue;
    }
    const double fx = std::floor(x), fy = std::floor(y);
    const auto xw = static_cast<int64_t>(fx), yn = static_cast<int64_t>(fy);
    const auto east = static_cast<float>(x - fx), south = static_cast<float>(y - fy);
    const float west = 1.0f - east, north = 1.0f - south;
    float wnw = north * west, wne = north * east, wsw = south * west, wse = south * east;
    const bool in_w = xw >= 0, in_e = xw + 1 < p.w, in_n = yn >= 0, in_s = yn + 1 < p.h;
    if (!(in_w && in_n)) wnw = 0.0f;
    if (!(in_e && in_n)) wne = 0.0f;
    if (!(in_w && in_s)) wsw = 0.0f;
    if (!(in_e && in_s)) wse = 0.0f;
    // Neighbours outside are read at a clamped position with weight 0.
    const int64_t xa = std::max<int64_t>(xw, 0), xb = std::min<int64_t>(xw + 1, p.w - 1);
    const int64_t ya = std::max<int64_t>(yn, 0), yb = std::min<int64_t>(yn + 1, p.h - 1);
    const uint8_t* rn = p.src + ya * p.row_stride;
    const uint8_t* rs = p.src + yb * p.row_stride;
    const uint8_t *pnw = rn + xa * ch, *pne = rn + xb * ch, *psw = rs + xa * ch,
                  *pse = rs + xb * ch;
    if (p.has_fill) {
      const float mask = wnw + wne + wsw + wse;
      for (int64_t c = 0; c < ch; ++c) {
        const float v = pnw[c] * wnw + pne[c] * wne + psw[c] * wsw + pse[c] * wse;
        out[c] = to_u8((v - p.fill[c]) * mask + p.fill[c]);
      }
    } else {
      for (int64_t c = 0; c < ch; ++c) {
        out[c] = to_u8(pnw[c] * wnw + pne[c] * wne + psw[c] * wsw + pse[c] * wse);
      }
    }
  }
}

/// The row sampler for `mode` and the plan's channel count.
using RowFn = void (*)(const WarpPlan&, double, double, uint8_t*);

template <int C>
RowFn row_for(Interpolation mode) {
  return mode == Interpolation::Nearest ? &nearest_row<C> : &bilinear_row<C>;
}

RowFn row_function(Interpolation mode, int64_t channels) {
  switch (channels) {
    case 1:
      return row_for<1>(mode);
    case 3:
      return row_for<3>(mode);
    case 4:
      return row_for<4>(mode);
    default:
      return row_for<0>(mode);
  }
}

}  // namespace

void affine_warp(const uint8_t* src, int64_t src_h, int64_t src_w, int64_t channels,
                 int64_t src_row_stride, uint8_t* dst, int64_t dst_h, int64_t dst_w,
                 const AffineMatrix& inverse, Interpolation mode, const float* fill) {
  const double* m = inverse.m;
  const WarpPlan plan{src,   src_h, src_w, channels,        src_row_stride,
                      dst_w, m[0],  m[3],  fill != nullptr, fill};
  const RowFn row = row_function(mode, channels);
  // Output pixel (i, j) sits at (j - (dst_w - 1) / 2, i - (dst_h - 1) / 2) from the output's
  // center; its source position is relative to the source's center ((w - 1) / 2, (h - 1) / 2).
  const double out_cx = 0.5 * static_cast<double>(dst_w - 1);
  const double out_cy = 0.5 * static_cast<double>(dst_h - 1);
  const double src_cx = 0.5 * static_cast<double>(src_w - 1);
  const double src_cy = 0.5 * static_cast<double>(src_h - 1);
  const double x_left = -m[0] * out_cx + m[2] + src_cx;
  const double y_left = -m[3] * out_cx + m[5] + src_cy;
  const int64_t row_bytes = dst_w * channels;
  for (int64_t i = 0; i < dst_h; ++i) {
    const double yo = static_cast<double>(i) - out_cy;
    row(plan, m[1] * yo + x_left, m[4] * yo + y_left, dst + i * row_bytes);
  }
}

}  // namespace nocopy
