// The colour operators of color_ops.hpp. Value-wise operators build a 256-entry lookup table
// (per channel where the table depends on the channel) and apply it; the others run in float32
// (float64 where a fused multiply-add is emulated) in the reference's order of operations.
// Fused multiply-adds are written explicitly (the reference's "a + alpha * b" is one rounding);
// everything else is a single float32 operation per step, so results do not depend on the
// compiler's vectorisation (the build targets the x86-64 baseline, and the AVX2 clones do not
// enable FMA either, so there are no FMA instructions the compiler could contract a separate
// multiply and add into; a build with -mfma would change the hue's values).
//
// Speed: the per-pixel operators of 3-channel images work on blocks of pixels split into one
// plane per channel, so that the arithmetic runs over contiguous arrays (vectorised by the
// compiler, or written with GCC vector types for the hue's branch-free HSV round trip); the hot
// loops are compiled for AVX2 beside the baseline (NOCOPY_MULTIVERSION). Every lane performs the
// scalar form's operations on the same operands, so the values are the scalar form's.
#include "nocopy/pipeline/kernels/color_ops.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "internal/multiversion.hpp"

namespace nocopy {
namespace {

using Lut = std::array<uint8_t, 256>;

/// Number of values (pixels times channels) of the image.
int64_t value_count(const ImageU8& image) {
  return image.height * image.width * image.channels;
}

/// Throws std::invalid_argument unless the image is a valid 1- or 3-channel image.
void check_image(const ImageU8& image, const char* op) {
  if (image.channels != 1 && image.channels != 3) {
    throw std::invalid_argument(std::string(op) + " needs an image with 1 or 3 channels, got " +
                                std::to_string(image.channels));
  }
  if (image.height < 0 || image.width < 0) {
    throw std::invalid_argument(std::string(op) + " got a negative image size");
  }
  if (image.data == nullptr && value_count(image) > 0) {
    throw std::invalid_argument(std::string(op) + " got an image without pixels");
  }
}

/// Throws std::invalid_argument unless `factor` is a non-negative number (NaN refused).
void check_factor(double factor, const char* name) {
  if (!(factor >= 0.0)) {
    throw std::invalid_argument(std::string(name) + " (" + std::to_string(factor) +
                                ") is not non-negative");
  }
}

/// a * b + c in float32 with a single rounding (the product of two floats is exact in double;
/// the sum is rounded to double and then to float, which differs from one rounding only when the
/// double lands exactly halfway between two floats).
inline float fused_multiply_add(float a, float b, float c) {
  return static_cast<float>(static_cast<double>(a) * static_cast<double>(b) +
                            static_cast<double>(c));
}

/// The reference's clamp(0, 255) followed by the conversion to uint8 (truncation); NaN gives 0.
inline uint8_t clamp_truncate(float v) {
  v = v > 0.0f ? v : 0.0f;
  v = v < 255.0f ? v : 255.0f;
  return static_cast<uint8_t>(v);
}

/// The float32 luma 0.2989 R + 0.587 G + 0.114 B, as the reference accumulates it.
inline float luma(uint8_t r, uint8_t g, uint8_t b) {
  const float acc = static_cast<float>(r) * 0.2989f;
  return fused_multiply_add(static_cast<float>(b), 0.114f,
                            fused_multiply_add(static_cast<float>(g), 0.587f, acc));
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define NOCOPY_LUT_VBMI 1
/// The 64 values of x looked up in the 256-byte table whose 64-byte quarters are t[0..3]: in the
/// two 128-byte halves (vpermi2b reads the low 7 bits) and the half picked by the high bit.
[[gnu::target("avx512f,avx512bw,avx512vbmi")]] inline __m512i lookup_vbmi(const __m512i* t,
                                                                          __m512i x) {
  const __m512i low = _mm512_permutex2var_epi8(t[0], x, t[1]);
  const __m512i high = _mm512_permutex2var_epi8(t[2], x, t[3]);
  return _mm512_mask_blend_epi8(_mm512_movepi8_mask(x), low, high);
}

/// p[i] = lut[p[i]] for i in [0, n) with AVX-512 VBMI byte permutes, 64 values a step (the last
/// one under a mask).
[[gnu::target("avx512f,avx512bw,avx512vbmi")]] void apply_lut_vbmi(uint8_t* p, int64_t n,
                                                                   const uint8_t* lut) {
  __m512i t[4];
  for (int q = 0; q < 4; ++q) t[q] = _mm512_loadu_si512(lut + 64 * q);
  for (int64_t i = 0; i < n; i += 64) {
    const __mmask64 m = n - i >= 64 ? ~__mmask64{0} : (__mmask64{1} << (n - i)) - 1;
    _mm512_mask_storeu_epi8(p + i, m, lookup_vbmi(t, _mm512_maskz_loadu_epi8(m, p + i)));
  }
}

/// p[i] = luts[i % 3][p[i]] for i in [0, n) (a 3-channel image) with AVX-512 VBMI byte permutes:
/// each step looks its 64 values up in the three tables and keeps, lane by lane, its channel's.
[[gnu::target("avx512f,avx512bw,avx512vbmi")]] void apply_channel_luts_vbmi(uint8_t* p, int64_t n,
                                                                            const Lut* luts) {
  __m512i t[3][4];
  for (int c = 0; c < 3; ++c) {
    for (int q = 0; q < 4; ++q) t[c][q] = _mm512_loadu_si512(luts[c].data() + 64 * q);
  }
  // is_channel[phase][c]: the lanes k with (phase + k) % 3 == c, for a step starting at a value
  // whose channel is `phase`.
  __mmask64 is_channel[3][3] = {};
  for (int phase = 0; phase < 3; ++phase) {
    for (int k = 0; k < 64; ++k) is_channel[phase][(phase + k) % 3] |= __mmask64{1} << k;
  }
  for (int64_t i = 0; i < n; i += 64) {
    const __mmask64 m = n - i >= 64 ? ~__mmask64{0} : (__mmask64{1} << (n - i)) - 1;
    const __m512i x = _mm512_maskz_loadu_epi8(m, p + i);
    const __mmask64* pick = is_channel[i % 3];
    __m512i y = lookup_vbmi(t[0], x);
    y = _mm512_mask_blend_epi8(pick[1], y, lookup_vbmi(t[1], x));
    y = _mm512_mask_blend_epi8(pick[2], y, lookup_vbmi(t[2], x));
    _mm512_mask_storeu_epi8(p + i, m, y);
  }
}

/// Whether this CPU runs apply_lut_vbmi.
bool has_lut_vbmi() {
  static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vbmi");
  return has;
}
#endif

/// Replaces every value v of the image by lut[v]: with byte permutes where the CPU has them,
/// else eight values per 64-bit load and store.
void apply_lut(ImageU8 image, const Lut& lut) {
  const int64_t n = value_count(image);
  uint8_t* p = image.data;
#ifdef NOCOPY_LUT_VBMI
  if (has_lut_vbmi()) return apply_lut_vbmi(p, n, lut.data());
#endif
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t in = 0, out = 0;
    std::memcpy(&in, p + i, 8);
    for (int k = 0; k < 64; k += 8) out |= static_cast<uint64_t>(lut[(in >> k) & 255]) << k;
    std::memcpy(p + i, &out, 8);
  }
  for (; i < n; ++i) p[i] = lut[p[i]];
}

/// Replaces every value v of channel c by luts[c][v].
void apply_channel_luts(ImageU8 image, const Lut* luts) {
  if (image.channels == 1) return apply_lut(image, luts[0]);
#ifdef NOCOPY_LUT_VBMI
  if (has_lut_vbmi()) return apply_channel_luts_vbmi(image.data, value_count(image), luts);
#endif
  const int64_t pixels = image.height * image.width;
  uint8_t* p = image.data;
  for (int64_t i = 0; i < pixels; ++i, p += 3) {
    p[0] = luts[0][p[0]];
    p[1] = luts[1][p[1]];
    p[2] = luts[2][p[2]];
  }
}

/// Pixels per block of the planar kernels: a block of a 3-channel image is split into one plane
/// per channel, the arithmetic runs over those contiguous planes (which the compiler vectorises,
/// one float32 or float64 operation per step as in the scalar form, so the values are the same),
/// and the planes are merged back.
constexpr int64_t kBlock = 64;

/// The three channel planes of one block.
struct Planes {
  alignas(64) uint8_t r[kBlock];
  alignas(64) uint8_t g[kBlock];
  alignas(64) uint8_t b[kBlock];
};

/// Splits n <= kBlock interleaved RGB pixels into planes.
[[gnu::always_inline]] inline void split(const uint8_t* __restrict p, int64_t n,
                                         Planes& __restrict s) {
  for (int64_t i = 0; i < n; ++i) {
    s.r[i] = p[3 * i];
    s.g[i] = p[3 * i + 1];
    s.b[i] = p[3 * i + 2];
  }
}

/// Interleaves n <= kBlock pixels of planes back into RGB pixels.
[[gnu::always_inline]] inline void merge(const Planes& __restrict s, int64_t n,
                                         uint8_t* __restrict p) {
  for (int64_t i = 0; i < n; ++i) {
    p[3 * i] = s.r[i];
    p[3 * i + 1] = s.g[i];
    p[3 * i + 2] = s.b[i];
  }
}

/// The floored luma (the reference's grayscale value) of n <= kBlock pixels of a block.
[[gnu::always_inline]] inline void block_gray(const Planes& __restrict s, int64_t n,
                                              int32_t* __restrict gray) {
  for (int64_t i = 0; i < n; ++i) {
    gray[i] = static_cast<int32_t>(luma(s.r[i], s.g[i], s.b[i]));  // floor: the luma is >= 0
  }
}

/// Sum of the floored luma of `pixels` RGB pixels.
NOCOPY_MULTIVERSION int64_t sum_gray(const uint8_t* p, int64_t pixels) {
  Planes s;
  alignas(64) int32_t gray[kBlock];
  int64_t sum = 0;
  for (int64_t start = 0; start < pixels; start += kBlock) {
    const int64_t n = std::min(kBlock, pixels - start);
    split(p + 3 * start, n, s);
    block_gray(s, n, gray);
    int32_t block_sum = 0;  // at most kBlock * 255
    for (int64_t i = 0; i < n; ++i) block_sum += gray[i];
    sum += block_sum;
  }
  return sum;
}

/// Writes the floored luma of each of `pixels` RGB pixels to its three channels.
NOCOPY_MULTIVERSION void gray_pixels(uint8_t* p, int64_t pixels) {
  Planes s;
  alignas(64) int32_t gray[kBlock];
  for (int64_t start = 0; start < pixels; start += kBlock) {
    const int64_t n = std::min(kBlock, pixels - start);
    split(p + 3 * start, n, s);
    block_gray(s, n, gray);
    for (int64_t i = 0; i < n; ++i) {
      s.r[i] = s.g[i] = s.b[i] = static_cast<uint8_t>(gray[i]);  // < 255: no clamp
    }
    merge(s, n, p + 3 * start);
  }
}

/// Blends each of `pixels` RGB pixels with its floored luma: x * r + gray * alpha.
NOCOPY_MULTIVERSION void saturate_pixels(uint8_t* p, int64_t pixels, float r, float alpha) {
  Planes s;
  alignas(64) int32_t gray[kBlock];
  for (int64_t start = 0; start < pixels; start += kBlock) {
    const int64_t n = std::min(kBlock, pixels - start);
    split(p + 3 * start, n, s);
    block_gray(s, n, gray);
    for (int64_t i = 0; i < n; ++i) {
      // fused_multiply_add(gray, alpha, x * r) for the three channels, the exact product once
      const double weighted_gray = static_cast<double>(gray[i]) * static_cast<double>(alpha);
      s.r[i] = clamp_truncate(
          static_cast<float>(weighted_gray + static_cast<double>(static_cast<float>(s.r[i]) * r)));
      s.g[i] = clamp_truncate(
          static_cast<float>(weighted_gray + static_cast<double>(static_cast<float>(s.g[i]) * r)));
      s.b[i] = clamp_truncate(
          static_cast<float>(weighted_gray + static_cast<double>(static_cast<float>(s.b[i]) * r)));
    }
    merge(s, n, p + 3 * start);
  }
}

/// Lowers low[c] and raises high[c] to the minimum and maximum of channel c over the n values of
/// a 1- or 3-channel image, 48 values (a whole number of pixels) a step in 48 byte lanes.
NOCOPY_MULTIVERSION void channel_range(const uint8_t* p, int64_t n, int64_t ch, uint8_t* low,
                                       uint8_t* high) {
  typedef uint8_t Byte16 __attribute__((vector_size(16)));
  constexpr int64_t kLanes = 48;
  Byte16 vec_low[3], vec_high[3];
  for (int j = 0; j < 3; ++j) {
    vec_low[j] = Byte16{} + 255;
    vec_high[j] = Byte16{};
  }
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int j = 0; j < 3; ++j) {
      Byte16 v;
      std::memcpy(&v, p + i + 16 * j, sizeof v);
      vec_low[j] = v < vec_low[j] ? v : vec_low[j];
      vec_high[j] = v > vec_high[j] ? v : vec_high[j];
    }
  }
  uint8_t lane_low[kLanes], lane_high[kLanes];
  std::memcpy(lane_low, vec_low, kLanes);
  std::memcpy(lane_high, vec_high, kLanes);
  for (int64_t k = 0; k < kLanes; ++k) {  // lane k holds channel k % ch
    low[k % ch] = std::min(low[k % ch], lane_low[k]);
    high[k % ch] = std::max(high[k % ch], lane_high[k]);
  }
  for (; i < n; ++i) {  // i - (the last step's start) is a whole number of pixels: channel i % ch
    low[i % ch] = std::min(low[i % ch], p[i]);
    high[i % ch] = std::max(high[i % ch], p[i]);
  }
}

/// The table of the reference's blend x * ratio + other * (1 - ratio), clamped and truncated.
Lut blend_lut(double ratio, float other) {
  const float r = static_cast<float>(ratio);
  const float alpha = static_cast<float>(1.0 - ratio);
  Lut lut;
  for (int v = 0; v < 256; ++v) {
    lut[v] = clamp_truncate(fused_multiply_add(other, alpha, static_cast<float>(v) * r));
  }
  return lut;
}

/// Rounds a value in [0, 2**22) to the nearest integer, halves to even (as torch.round), with
/// the float32 rounding of the addition.
inline float round_half_even(float v) {
  constexpr float kShift = 8388608.0f;  // 2**23: floats from here on are integers
  return (v + kShift) - kShift;
}

/// Index of the reflection (without repeating the edge) of i into [0, n); requires -n < i < 2n-1.
inline int64_t reflect(int64_t i, int64_t n) {
  if (i < 0) return -i;
  if (i >= n) return 2 * (n - 1) - i;
  return i;
}

/// The reference's 1-d Gaussian kernel: float32 points spaced evenly over +-(k-1)/(2 sqrt 2),
/// divided by sigma, squared, negated and softmax-normalized.
void gaussian_kernel(int64_t size, double sigma, std::vector<float>& out) {
  out.resize(static_cast<size_t>(size));
  if (size == 1) {
    out[0] = 1.0f;
    return;
  }
  const double lim = static_cast<double>(size - 1) / (2.0 * std::sqrt(2.0));
  const float start = static_cast<float>(-lim), end = static_cast<float>(lim);
  const float step = (end - start) / static_cast<float>(size - 1);
  const float s = static_cast<float>(sigma);
  float largest = -INFINITY;
  for (int64_t i = 0; i < size; ++i) {
    const float x = i < size / 2 ? start + static_cast<float>(i) * step
                                 : end - static_cast<float>(size - 1 - i) * step;
    const float z = x / s;
    out[static_cast<size_t>(i)] = -(z * z);
    largest = std::max(largest, out[static_cast<size_t>(i)]);
  }
  float sum = 0.0f;
  for (float& w : out) {
    w = std::exp(w - largest);
    sum += w;
  }
  for (float& w : out) w /= sum;
}

/// Filters one row of `width` pixels along x with `kernel` (reflected borders) into `out`.
NOCOPY_MULTIVERSION void filter_row(const uint8_t* src, int64_t width, int64_t channels,
                                    const std::vector<float>& kernel, std::vector<float>& padded,
                                    float* out) {
  const int64_t pad = static_cast<int64_t>(kernel.size()) / 2;
  float* __restrict row = padded.data();
  const int64_t n = width * channels;
  for (int64_t j = 0; j < n; ++j) row[pad * channels + j] = static_cast<float>(src[j]);
  for (int64_t x = -pad; x < 0; ++x) {  // the reflected borders, copied from the converted row
    for (int64_t c = 0; c < channels; ++c) {
      row[(x + pad) * channels + c] = row[(reflect(x, width) + pad) * channels + c];
      row[(width - 1 - x + pad) * channels + c] =
          row[(reflect(width - 1 - x, width) + pad) * channels + c];
    }
  }
  const float w0 = kernel[0];
  for (int64_t j = 0; j < n; ++j) out[j] = w0 * row[j];
  for (size_t k = 1; k < kernel.size(); ++k) {
    const float w = kernel[k];
    const float* r = row + static_cast<int64_t>(k) * channels;
    for (int64_t j = 0; j < n; ++j) out[j] += w * r[j];
  }
}

/// Output row y of the vertical pass: the rows of `filtered` (h rows of `stride` floats) around
/// y weighted by `kernel` (reflected borders) and summed into `acc`, rounded into `out`.
NOCOPY_MULTIVERSION void filter_column(const float* filtered, int64_t h, int64_t stride, int64_t y,
                                       const std::vector<float>& kernel, float* __restrict acc,
                                       uint8_t* __restrict out) {
  const int64_t pad = static_cast<int64_t>(kernel.size()) / 2;
  const float* first = filtered + reflect(y - pad, h) * stride;
  const float w0 = kernel[0];
  for (int64_t j = 0; j < stride; ++j) acc[j] = w0 * first[j];
  for (size_t k = 1; k < kernel.size(); ++k) {
    const float wk = kernel[k];
    const float* src = filtered + reflect(y + static_cast<int64_t>(k) - pad, h) * stride;
    for (int64_t j = 0; j < stride; ++j) acc[j] += wk * src[j];
  }
  // std::clamp to [0, 255] as two selects, then the rounding: two loops, as GCC vectorises
  // neither the two together nor std::clamp's branches
  for (int64_t j = 0; j < stride; ++j) {
    const float low = acc[j] < 0.0f ? 0.0f : acc[j];
    acc[j] = 255.0f < low ? 255.0f : low;
  }
  for (int64_t j = 0; j < stride; ++j) {
    out[j] = static_cast<uint8_t>(static_cast<int32_t>(round_half_even(acc[j])));
  }
}

/// Throws std::invalid_argument unless `hue_factor` is in [-0.5, 0.5] (NaN refused).
void check_hue(double hue_factor) {
  if (!(hue_factor >= -0.5 && hue_factor <= 0.5)) {
    throw std::invalid_argument("hue_factor (" + std::to_string(hue_factor) +
                                ") is not in [-0.5, 0.5]");
  }
}

// The helpers below pass 32-byte vectors by value; they are always inlined, so no call ABI is
// involved (GCC reports the ABI note at the end of the file, so it stays off from here on).
#pragma GCC diagnostic ignored "-Wpsabi"

/// Eight floats as a GCC vector: two SSE registers on the baseline, one AVX register in the AVX2
/// clone. Every lane gets the scalar float32 operation, so the vector form gives the values of
/// the scalar one.
typedef float Float8 __attribute__((vector_size(32)));
/// Eight int32 (comparison masks, hue sectors, truncated values).
typedef int32_t Int8 __attribute__((vector_size(32)));

/// x clamped to [0, 1], as std::clamp (NaN stays NaN).
[[gnu::always_inline]] inline Float8 clamp_unit(const Float8& x) {
  const Float8 zero = Float8{} + 0.0f, one = Float8{} + 1.0f;
  return x < zero ? zero : (one < x ? one : x);
}

/// Eight pixels of float planes (values 0..255) through the reference's float32 RGB -> HSV, hue
/// shift, HSV -> RGB and back to uint8 (as int32): both sides of each choice are computed (the
/// divisions never by zero) and one is selected.
[[gnu::always_inline]] inline void shift_hue8(const float* pr, const float* pg, const float* pb,
                                              float hue, int32_t* out_r, int32_t* out_g,
                                              int32_t* out_b) {
  constexpr float kToUnit = static_cast<float>(1.0 / 255.0);
  constexpr float kSixth = static_cast<float>(1.0 / 6.0);
  constexpr float kToByte = static_cast<float>(255.0 + 1.0 - 1e-3);
  const Float8 zero = Float8{} + 0.0f, one = Float8{} + 1.0f;
  Float8 r, g, b;
  std::memcpy(&r, pr, sizeof r);
  std::memcpy(&g, pg, sizeof g);
  std::memcpy(&b, pb, sizeof b);
  r *= kToUnit;
  g *= kToUnit;
  b *= kToUnit;
  const Float8 gb_high = g < b ? b : g, gb_low = b < g ? b : g;  // std::max and std::min
  const Float8 v = r < gb_high ? gb_high : r;
  const Float8 low = gb_low < r ? gb_low : r;
  const Int8 flat = v == low;
  const Float8 range = v - low;
  const Float8 sat = range / (flat ? one : v);
  const Float8 divisor = flat ? one : range;
  const Float8 rc = (v - r) / divisor, gc = (v - g) / divisor, bc = (v - b) / divisor;
  const Float8 h_red = bc - gc, h_green = (rc + 2.0f) - bc, h_blue = (gc + 4.0f) - rc;
  Float8 h = v == r ? h_red : (v == g ? h_green : h_blue);
  h = h * kSixth + 1.0f;  // in [5/6, 11/6): fmod(h, 1) is one exact subtraction
  h = h >= one ? h - 1.0f : h;
  h += hue;  // in [-0.5, 1.5): Python's remainder by 1
  h = h >= one ? h - 1.0f : (h < zero ? h + 1.0f : h);
  const Float8 h6 = h * 6.0f;
  Int8 sector = __builtin_convertvector(h6, Int8);  // floor: h6 >= 0
  const Float8 f = h6 - __builtin_convertvector(sector, Float8);
  sector = sector >= 6 ? sector - 6 : sector;  // h6 == 6 when h rounded up to 1
  const Float8 sf = sat * f;
  const Float8 one_minus_s = 1.0f - sat;
  const Float8 q = clamp_unit((1.0f - sf) * v);
  const Float8 t = clamp_unit((sf + one_minus_s) * v);
  const Float8 p = clamp_unit(one_minus_s * v);
  // Which of (v, p, q, t) each of R, G, B takes in each sixth of the hue circle:
  // R: v q p p t v, G: t v v q p p, B: p p t v v q.
  const Float8 red =
      ((sector == 0) | (sector == 5)) ? v : (sector == 1 ? q : (sector == 4 ? t : p));
  const Float8 green =
      ((sector == 1) | (sector == 2)) ? v : (sector == 0 ? t : (sector == 3 ? q : p));
  const Float8 blue =
      ((sector == 3) | (sector == 4)) ? v : (sector == 2 ? t : (sector == 5 ? q : p));
  const Int8 bytes_r = __builtin_convertvector(red * kToByte, Int8);  // truncation
  const Int8 bytes_g = __builtin_convertvector(green * kToByte, Int8);
  const Int8 bytes_b = __builtin_convertvector(blue * kToByte, Int8);
  std::memcpy(out_r, &bytes_r, sizeof bytes_r);
  std::memcpy(out_g, &bytes_g, sizeof bytes_g);
  std::memcpy(out_b, &bytes_b, sizeof bytes_b);
}

/// Rotates the hue of `pixels` RGB pixels by `hue` turns.
NOCOPY_MULTIVERSION void shift_hue_pixels(uint8_t* p, int64_t pixels, float hue) {
  Planes s{};  // a last, partial block runs over the previous block's values too: no harm
  alignas(64) float fr[kBlock], fg[kBlock], fb[kBlock];
  alignas(64) int32_t out_r[kBlock], out_g[kBlock], out_b[kBlock];
  for (int64_t start = 0; start < pixels; start += kBlock) {
    const int64_t n = std::min(kBlock, pixels - start);
    split(p + 3 * start, n, s);
    for (int64_t i = 0; i < kBlock; ++i) {
      fr[i] = s.r[i];
      fg[i] = s.g[i];
      fb[i] = s.b[i];
    }
    for (int64_t i = 0; i < kBlock; i += 8) {
      shift_hue8(fr + i, fg + i, fb + i, hue, out_r + i, out_g + i, out_b + i);
    }
    for (int64_t i = 0; i < kBlock; ++i) {
      s.r[i] = static_cast<uint8_t>(out_r[i]);
      s.g[i] = static_cast<uint8_t>(out_g[i]);
      s.b[i] = static_cast<uint8_t>(out_b[i]);
    }
    merge(s, n, p + 3 * start);
  }
}

/// One interior row of the sharpness blend: out[j] for j in [ch, len - ch) from the unmodified
/// rows above, at and below it.
NOCOPY_MULTIVERSION void sharpen_row(const uint8_t* __restrict above, const uint8_t* __restrict row,
                                     const uint8_t* __restrict below, int64_t ch, int64_t len,
                                     float alpha, uint8_t* __restrict out) {
  for (int64_t j = ch; j < len - ch; ++j) {
    // Weights 1/13 around and 5/13 in the centre; rounding S / 13 never meets a tie (S / 13
    // is never k + 1/2), so the exact integer division matches the reference's float32 one.
    const int32_t sum = above[j - ch] + above[j] + above[j + ch] + row[j - ch] + 5 * row[j] +
                        row[j + ch] + below[j - ch] + below[j] + below[j + ch];
    const int32_t blurred = (2 * sum + 13) / 26;
    const auto x = static_cast<float>(row[j]);
    out[j] = clamp_truncate(fused_multiply_add(static_cast<float>(blurred) - x, alpha, x));
  }
}

}  // namespace

void adjust_brightness(ImageU8 image, double factor) {
  check_image(image, "adjust_brightness");
  check_factor(factor, "brightness_factor");
  const float f = static_cast<float>(factor);
  Lut lut;
  for (int v = 0; v < 256; ++v) lut[v] = clamp_truncate(static_cast<float>(v) * f);
  apply_lut(image, lut);
}

void adjust_contrast(ImageU8 image, double factor) {
  check_image(image, "adjust_contrast");
  check_factor(factor, "contrast_factor");
  const int64_t pixels = image.height * image.width;
  if (pixels == 0) return;
  int64_t sum = 0;
  const uint8_t* p = image.data;
  if (image.channels == 3) {
    sum = sum_gray(p, pixels);
  } else {
    for (int64_t i = 0; i < pixels; ++i) sum += p[i];
  }
  const float mean = static_cast<float>(sum) / static_cast<float>(pixels);
  apply_lut(image, blend_lut(factor, mean));
}

void adjust_saturation(ImageU8 image, double factor) {
  check_image(image, "adjust_saturation");
  check_factor(factor, "saturation_factor");
  if (image.channels == 1) return;
  const float r = static_cast<float>(factor);
  const float alpha = static_cast<float>(1.0 - factor);
  saturate_pixels(image.data, image.height * image.width, r, alpha);
}

void adjust_hue(ImageU8 image, double hue_factor) {
  check_image(image, "adjust_hue");
  check_hue(hue_factor);
  if (image.channels == 1) return;
  const float hue = static_cast<float>(hue_factor);
  shift_hue_pixels(image.data, image.height * image.width, hue);
}

void to_grayscale(ImageU8 image) {
  check_image(image, "to_grayscale");
  if (image.channels == 1) return;
  gray_pixels(image.data, image.height * image.width);
}

void invert(ImageU8 image) {
  check_image(image, "invert");
  const int64_t n = value_count(image);
  uint8_t* p = image.data;
  for (int64_t i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(~p[i]);
}

void posterize(ImageU8 image, int bits) {
  check_image(image, "posterize");
  if (bits < 0 || bits > 8) {
    throw std::invalid_argument("bits must be an integer in [0, 8], got " + std::to_string(bits));
  }
  if (bits == 8) return;
  const auto mask = static_cast<uint8_t>(((1 << bits) - 1) << (8 - bits));
  const int64_t n = value_count(image);
  uint8_t* p = image.data;
  for (int64_t i = 0; i < n; ++i) p[i] &= mask;
}

void solarize(ImageU8 image, double threshold) {
  check_image(image, "solarize");
  if (std::isnan(threshold) || threshold > 255.0) {
    throw std::invalid_argument("threshold (" + std::to_string(threshold) +
                                ") must be a number <= 255");
  }
  const float t = static_cast<float>(threshold);
  Lut lut;
  for (int v = 0; v < 256; ++v) {
    lut[v] = static_cast<float>(v) >= t ? static_cast<uint8_t>(255 - v) : static_cast<uint8_t>(v);
  }
  apply_lut(image, lut);
}

void adjust_sharpness(ImageU8 image, double factor, ColorScratch& scratch) {
  check_image(image, "adjust_sharpness");
  check_factor(factor, "sharpness_factor");
  const int64_t h = image.height, w = image.width, ch = image.channels;
  if (h <= 2 || w <= 2) return;
  const int64_t stride = w * ch;
  scratch.pixels.resize(static_cast<size_t>(h * stride));
  std::memcpy(scratch.pixels.data(), image.data, static_cast<size_t>(h * stride));
  const float alpha = static_cast<float>(1.0 - factor);
  for (int64_t y = 1; y + 1 < h; ++y) {
    const uint8_t* above = scratch.pixels.data() + (y - 1) * stride;
    const uint8_t* row = above + stride;
    const uint8_t* below = row + stride;
    sharpen_row(above, row, below, ch, stride, alpha, image.data + y * stride);
  }
}

void autocontrast(ImageU8 image) {
  check_image(image, "autocontrast");
  const int64_t pixels = image.height * image.width;
  if (pixels == 0) return;
  const int64_t ch = image.channels;
  std::array<uint8_t, 3> low{255, 255, 255}, high{0, 0, 0};
  channel_range(image.data, pixels * ch, ch, low.data(), high.data());
  std::array<Lut, 3> luts;
  for (int64_t c = 0; c < ch; ++c) {
    const bool flat = low[c] == high[c];
    const float minimum = flat ? 0.0f : static_cast<float>(low[c]);
    const float inv_scale =
        flat ? 1.0f : static_cast<float>(high[c] - low[c]) * static_cast<float>(1.0 / 255.0);
    for (int v = 0; v < 256; ++v) {
      luts[c][v] = clamp_truncate((static_cast<float>(v) - minimum) / inv_scale);
    }
  }
  apply_channel_luts(image, luts.data());
}

void equalize(ImageU8 image) {
  check_image(image, "equalize");
  const int64_t pixels = image.height * image.width;
  if (pixels == 0) return;
  const int64_t ch = image.channels;
  std::array<std::array<int64_t, 256>, 3> hist{};
  const uint8_t* p = image.data;
  for (int64_t i = 0; i < pixels; ++i, p += ch) {
    for (int64_t c = 0; c < ch; ++c) ++hist[c][p[c]];
  }
  std::array<Lut, 3> luts;
  for (int64_t c = 0; c < ch; ++c) {
    int top = 255;  // the largest value present
    while (hist[c][top] == 0) --top;
    const int64_t step = (pixels - hist[c][top]) / 255;
    Lut& lut = luts[c];
    if (step == 0) {
      for (int v = 0; v < 256; ++v) lut[v] = static_cast<uint8_t>(v);
      continue;
    }
    lut[0] = 0;
    int64_t cumulative = 0;
    for (int v = 1; v < 256; ++v) {
      cumulative += hist[c][v - 1];
      lut[v] = static_cast<uint8_t>(std::min<int64_t>(255, (cumulative + step / 2) / step));
    }
  }
  apply_channel_luts(image, luts.data());
}

void gaussian_blur(ImageU8 image, std::array<int64_t, 2> kernel_size, std::array<double, 2> sigma,
                   ColorScratch& scratch) {
  check_image(image, "gaussian_blur");
  for (int64_t k : kernel_size) {
    if (k <= 0 || k % 2 == 0) {
      throw std::invalid_argument("kernel_size should have odd and positive integers, got " +
                                  std::to_string(k));
    }
  }
  for (double s : sigma) {
    if (!(s > 0.0) || std::isinf(s)) {
      throw std::invalid_argument("sigma should have positive finite values, got " +
                                  std::to_string(s));
    }
  }
  const int64_t h = image.height, w = image.width, ch = image.channels;
  if (h == 0 || w == 0) return;
  const int64_t pad_x = kernel_size[0] / 2, pad_y = kernel_size[1] / 2;
  if (pad_x >= w || pad_y >= h) {
    throw std::invalid_argument("gaussian_blur: a kernel of " + std::to_string(kernel_size[0]) +
                                "x" + std::to_string(kernel_size[1]) +
                                " needs an image larger than half of it (reflected borders), "
                                "got " +
                                std::to_string(h) + "x" + std::to_string(w));
  }
  gaussian_kernel(kernel_size[0], sigma[0], scratch.kernel_x);
  gaussian_kernel(kernel_size[1], sigma[1], scratch.kernel_y);
  const int64_t stride = w * ch;
  scratch.filtered.resize(static_cast<size_t>(h * stride));
  scratch.padded_row.resize(static_cast<size_t>((w + 2 * pad_x) * ch));
  scratch.row_sum.resize(static_cast<size_t>(stride));
  for (int64_t y = 0; y < h; ++y) {
    filter_row(image.data + y * stride, w, ch, scratch.kernel_x, scratch.padded_row,
               scratch.filtered.data() + y * stride);
  }
  for (int64_t y = 0; y < h; ++y) {
    filter_column(scratch.filtered.data(), h, stride, y, scratch.kernel_y, scratch.row_sum.data(),
                  image.data + y * stride);
  }
}

}  // namespace nocopy
