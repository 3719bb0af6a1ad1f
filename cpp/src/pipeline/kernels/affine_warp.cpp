// Affine warp: the torchvision-convention inverse matrix, the expanded output size and the
// per-row samplers (nearest, bilinear), specialised for 1, 3 and 4 channels.
//
// Every float operation follows torch's CPU kernels so that results match bit for bit: the
// affine grid in float32 from each pixel's indices (no accumulated steps), then grid_sample's
// unnormalize, floor/round, weights and weighted sum. torch's vectorized kernels for CPUs with
// AVX2 and FMA fuse the unnormalize and the sum into multiply-adds, its default kernel does not;
// so do the two variants here, picked once as torch picks (the CPU, and ATEN_CPU_CAPABILITY=
// default to force the default kernel). No other expression may be contracted:
// contraction is off for this file. Rounding half to even goes through the 1.5 * 2^23
// addition, exact in the default rounding mode.
#include "nocopy/pipeline/kernels/affine_warp.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <numbers>
#include <string_view>

#include "internal/multiversion.hpp"

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
#define NOCOPY_AFFINE_FUSED 1
#define NOCOPY_AFFINE_FUSED_TARGET __attribute__((target("avx2,fma")))
#else
#define NOCOPY_AFFINE_FUSED 0
#endif

#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

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
    const float span = top - bottom;
    // A degenerate matrix (infinite or NaN corners, or a side beyond 2^30) gives 0.
    size[axis] = span >= 0.0f && span <= 1073741824.0f ? static_cast<int64_t>(span) : 0;
  }
  return {size[1], size[0]};
}

WarpSize rotated_size(double angle_deg, bool default_center, const AffineMatrix& inverse,
                      int64_t height, int64_t width) {
  if (default_center) {
    // Python's angle % 360: the remainder takes the divisor's sign.
    double a = std::fmod(angle_deg, 360.0);
    if (a < 0.0) a += 360.0;
    if (a == 90.0 || a == 270.0) return {width, height};
    if (a == 0.0 || a == 180.0) return {height, width};
  }
  return expanded_size(inverse, height, width);
}

namespace {

#ifdef __FAST_MATH__
#error "affine_warp.cpp rounds through IEEE float operations; build it without -ffast-math"
#endif

/// x rounded half to even (|x| < 2^22: pixel values, blends and range-checked coordinates).
inline float round_even(float x) {
  constexpr float kShift = 12582912.0f;  // 1.5 * 2^23
  return (x + kShift) - kShift;
}

/// A float rounded half to even and saturated to [0, 255], as uint8 (min / max, no branches).
inline uint8_t to_u8(float v) {
  const float r = round_even(v);
  const float low = r > 0.0f ? r : 0.0f;
  return static_cast<uint8_t>(static_cast<int32_t>(low < 255.0f ? low : 255.0f));
}

/// a * b + c, fused into one rounding when `Fused` (the caller's target has FMA).
template <bool Fused>
[[gnu::always_inline]] inline float mul_add(float a, float b, float c) {
  if constexpr (Fused) {
    return std::fma(a, b, c);
  } else {
    return a * b + c;
  }
}

/// Everything a row sampler needs, fixed for the whole warp.
struct WarpPlan {
  const uint8_t* src;
  int64_t h, w, channels, row_stride;
  int64_t dst_w;
  /// The matrix scaled to the source's normalized coordinates: gx = (X r[0] + Y r[1]) + r[2],
  /// gy = (X r[3] + Y r[4]) + r[5] for output offsets (X, Y) from the output's center.
  float r[6];
  /// X of output column 0: -(dst_w - 1) / 2.
  float x_first;
  /// Half the source width and height: pixel x = (gx + 1) * half_w - 0.5.
  float half_w, half_h;
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

/// Source position of output column j in a row whose Y terms are yx = Y r[1], yy = Y r[4]: the
/// affine grid (never fused), then grid_sample's unnormalize.
template <bool Fused>
[[gnu::always_inline]] inline void source_position(const WarpPlan& p, int64_t j, float yx, float yy,
                                                   float& x, float& y) {
  const float xo = p.x_first + static_cast<float>(j);
  const float gx = (xo * p.r[0] + yx) + p.r[2];
  const float gy = (xo * p.r[3] + yy) + p.r[5];
  x = mul_add<Fused>(gx + 1.0f, p.half_w, -0.5f);
  y = mul_add<Fused>(gy + 1.0f, p.half_h, -0.5f);
}

/// Writes the fill (or zeros) to one output pixel.
template <int C>
inline void write_fill(const WarpPlan& p, uint8_t* out) {
  const int64_t ch = channel_count<C>(p);
  for (int64_t c = 0; c < ch; ++c) out[c] = p.has_fill ? to_u8(p.fill[c]) : 0;
}

/// One output row, nearest: the source pixel round-half-even(x), round-half-even(y).
template <int C, bool Fused>
[[gnu::always_inline]] inline void nearest_row(const WarpPlan& plan, float yo, uint8_t* out) {
  const WarpPlan p = plan;  // a local copy: the byte stores below cannot alias it
  const int64_t ch = channel_count<C>(p);
  const float yx = yo * p.r[1], yy = yo * p.r[4];
  const float x_hi = static_cast<float>(p.w) - 0.5f, y_hi = static_cast<float>(p.h) - 0.5f;
  for (int64_t j = 0; j < p.dst_w; ++j, out += ch) {
    float x, y;
    source_position<Fused>(p, j, yx, yy, x, y);
    // The range test also rejects NaN and keeps the rounding below inside its domain.
    if (x >= -0.5f && x <= x_hi && y >= -0.5f && y <= y_hi) {
      const float rx = round_even(x), ry = round_even(y);
      if (rx < static_cast<float>(p.w) && ry < static_cast<float>(p.h)) {
        const uint8_t* s =
            p.src + static_cast<int64_t>(ry) * p.row_stride + static_cast<int64_t>(rx) * ch;
        for (int64_t c = 0; c < ch; ++c) out[c] = s[c];
        continue;
      }
    }
    write_fill<C>(p, out);
  }
}

/// One output row, bilinear: the four neighbours of (x, y), those outside weighing nothing; with
/// a fill, (value - fill) * inside_weight + fill (the blend itself is never fused).
template <int C, bool Fused>
[[gnu::always_inline]] inline void bilinear_row(const WarpPlan& plan, float yo, uint8_t* out) {
  const WarpPlan p = plan;  // a local copy: the byte stores below cannot alias it
  const int64_t ch = channel_count<C>(p);
  const float yx = yo * p.r[1], yy = yo * p.r[4];
  const float w = static_cast<float>(p.w), h = static_cast<float>(p.h);
  for (int64_t j = 0; j < p.dst_w; ++j, out += ch) {
    float x, y;
    source_position<Fused>(p, j, yx, yy, x, y);
    if (!(x > -1.0f && x < w && y > -1.0f && y < h)) {  // no neighbour inside (or NaN)
      write_fill<C>(p, out);
      continue;
    }
    const float fx = std::floor(x), fy = std::floor(y);
    const auto xw = static_cast<int64_t>(fx), yn = static_cast<int64_t>(fy);
    const float east = x - fx, south = y - fy;
    const float west = 1.0f - east, north = 1.0f - south;
    float wnw = north * west, wne = north * east, wsw = south * west, wse = south * east;
    const uint8_t *pnw, *pne, *psw, *pse;
    if (xw >= 0 && xw + 1 < p.w && yn >= 0 && yn + 1 < p.h) {  // all inside: most pixels
      pnw = p.src + yn * p.row_stride + xw * ch;
      pne = pnw + ch;
      psw = pnw + p.row_stride;
      pse = psw + ch;
    } else {
      const bool in_w = xw >= 0, in_e = xw + 1 < p.w, in_n = yn >= 0, in_s = yn + 1 < p.h;
      if (!(in_w && in_n)) wnw = 0.0f;
      if (!(in_e && in_n)) wne = 0.0f;
      if (!(in_w && in_s)) wsw = 0.0f;
      if (!(in_e && in_s)) wse = 0.0f;
      // Neighbours outside are read at a clamped position with weight 0.
      const int64_t xa = std::max<int64_t>(xw, 0), xb = std::min<int64_t>(xw + 1, p.w - 1);
      const int64_t ya = std::max<int64_t>(yn, 0), yb = std::min<int64_t>(yn + 1, p.h - 1);
      pnw = p.src + ya * p.row_stride + xa * ch;
      pne = p.src + ya * p.row_stride + xb * ch;
      psw = p.src + yb * p.row_stride + xa * ch;
      pse = p.src + yb * p.row_stride + xb * ch;
    }
    const auto sum = [&](int64_t c) {
      const float nw_ne = mul_add<Fused>(pne[c], wne, pnw[c] * wnw);
      return mul_add<Fused>(pse[c], wse, mul_add<Fused>(psw[c], wsw, nw_ne));
    };
    if (p.has_fill) {
      const float mask =
          mul_add<Fused>(1.0f, wse, mul_add<Fused>(1.0f, wsw, mul_add<Fused>(1.0f, wne, wnw)));
      for (int64_t c = 0; c < ch; ++c) out[c] = to_u8((sum(c) - p.fill[c]) * mask + p.fill[c]);
    } else {
      for (int64_t c = 0; c < ch; ++c) out[c] = to_u8(sum(c));
    }
  }
}

/// A row sampler: the plan, the row's Y offset from the output's center, the row's output.
using RowFn = void (*)(const WarpPlan&, float, uint8_t*);

/// The samplers of torch's default CPU kernel (no fused multiply-adds).
template <int C>
NOCOPY_MULTIVERSION void nearest_row_plain(const WarpPlan& p, float yo, uint8_t* out) {
  nearest_row<C, false>(p, yo, out);
}
template <int C>
NOCOPY_MULTIVERSION void bilinear_row_plain(const WarpPlan& p, float yo, uint8_t* out) {
  bilinear_row<C, false>(p, yo, out);
}

#if NOCOPY_AFFINE_FUSED
/// The samplers of torch's AVX2 / AVX-512 CPU kernels (unnormalize and sums fused).
template <int C>
NOCOPY_AFFINE_FUSED_TARGET void nearest_row_fused(const WarpPlan& p, float yo, uint8_t* out) {
  nearest_row<C, true>(p, yo, out);
}
template <int C>
NOCOPY_AFFINE_FUSED_TARGET void bilinear_row_fused(const WarpPlan& p, float yo, uint8_t* out) {
  bilinear_row<C, true>(p, yo, out);
}

/// True when torch would run its AVX2 (or AVX-512) kernels here: the CPU has AVX2 and FMA and
/// torch's ATEN_CPU_CAPABILITY does not ask for its default kernels.
bool cpu_fuses() {
  static const bool fuses = [] {
    const char* capability = std::getenv("ATEN_CPU_CAPABILITY");
    if (capability != nullptr && std::string_view(capability) == "default") return false;
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }();
  return fuses;
}
#endif

template <int C>
RowFn row_for(Interpolation mode) {
#if NOCOPY_AFFINE_FUSED
  if (cpu_fuses()) {
    return mode == Interpolation::Nearest ? &nearest_row_fused<C> : &bilinear_row_fused<C>;
  }
#endif
  return mode == Interpolation::Nearest ? &nearest_row_plain<C> : &bilinear_row_plain<C>;
}

/// The row sampler for `mode` and `channels` (specialised for 1, 3 and 4 channels).
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
  // torch builds the grid from the float32 matrix divided by half the source size, at output
  // offsets j - (dst_w - 1) / 2 and i - (dst_h - 1) / 2 (exact in float32).
  WarpPlan p{};
  p.src = src;
  p.h = src_h;
  p.w = src_w;
  p.channels = channels;
  p.row_stride = src_row_stride;
  p.dst_w = dst_w;
  p.half_w = static_cast<float>(0.5 * static_cast<double>(src_w));
  p.half_h = static_cast<float>(0.5 * static_cast<double>(src_h));
  for (int k = 0; k < 6; ++k) {
    p.r[k] = static_cast<float>(inverse.m[k]) / (k < 3 ? p.half_w : p.half_h);
  }
  p.x_first = static_cast<float>(-0.5 * static_cast<double>(dst_w - 1));
  p.has_fill = fill != nullptr;
  p.fill = fill;
  const RowFn row = row_function(mode, channels);
  const float y_first = static_cast<float>(-0.5 * static_cast<double>(dst_h - 1));
  const int64_t row_bytes = dst_w * channels;
  for (int64_t i = 0; i < dst_h; ++i) {
    row(p, y_first + static_cast<float>(i), dst + i * row_bytes);
  }
}

}  // namespace nocopy
