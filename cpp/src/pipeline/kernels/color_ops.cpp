// The colour operators of color_ops.hpp. Value-wise operators build a 256-entry lookup table
// (per channel where the table depends on the channel) and apply it; the others are plain loops
// over the pixels in float32, in the reference's order of operations. Fused multiply-adds are
// written explicitly (the reference's "a + alpha * b" is one rounding); everything else is a
// single float32 operation per step, so results do not depend on the compiler's vectorisation
// (the build targets the x86-64 baseline, without FMA instructions the compiler could contract
// a separate multiply and add into).
#include "nocopy/pipeline/kernels/color_ops.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

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

/// Replaces every value v of the image by lut[v].
void apply_lut(ImageU8 image, const Lut& lut) {
  const int64_t n = value_count(image);
  uint8_t* p = image.data;
  for (int64_t i = 0; i < n; ++i) p[i] = lut[p[i]];
}

/// Replaces every value v of channel c by luts[c][v].
void apply_channel_luts(ImageU8 image, const Lut* luts) {
  if (image.channels == 1) return apply_lut(image, luts[0]);
  const int64_t pixels = image.height * image.width;
  uint8_t* p = image.data;
  for (int64_t i = 0; i < pixels; ++i, p += 3) {
    p[0] = luts[0][p[0]];
    p[1] = luts[1][p[1]];
    p[2] = luts[2][p[2]];
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
void filter_row(const uint8_t* src, int64_t width, int64_t channels,
                const std::vector<float>& kernel, std::vector<float>& padded, float* out) {
  const int64_t pad = static_cast<int64_t>(kernel.size()) / 2;
  float* row = padded.data();
  for (int64_t x = -pad; x < width + pad; ++x) {
    const uint8_t* s = src + reflect(x, width) * channels;
    float* d = row + (x + pad) * channels;
    for (int64_t c = 0; c < channels; ++c) d[c] = static_cast<float>(s[c]);
  }
  const int64_t n = width * channels;
  const float w0 = kernel[0];
  for (int64_t j = 0; j < n; ++j) out[j] = w0 * row[j];
  for (size_t k = 1; k < kernel.size(); ++k) {
    const float w = kernel[k];
    const float* r = row + static_cast<int64_t>(k) * channels;
    for (int64_t j = 0; j < n; ++j) out[j] += w * r[j];
  }
}

/// Throws std::invalid_argument unless `hue_factor` is in [-0.5, 0.5] (NaN refused).
void check_hue(double hue_factor) {
  if (!(hue_factor >= -0.5 && hue_factor <= 0.5)) {
    throw std::invalid_argument("hue_factor (" + std::to_string(hue_factor) +
                                ") is not in [-0.5, 0.5]");
  }
}

/// One pixel through the reference's float32 RGB -> HSV, hue shift, HSV -> RGB and back to uint8.
inline void shift_hue(uint8_t* px, float hue) {
  constexpr float kToUnit = static_cast<float>(1.0 / 255.0);
  constexpr float kSixth = static_cast<float>(1.0 / 6.0);
  constexpr float kToByte = static_cast<float>(255.0 + 1.0 - 1e-3);
  const float r = static_cast<float>(px[0]) * kToUnit;
  const float g = static_cast<float>(px[1]) * kToUnit;
  const float b = static_cast<float>(px[2]) * kToUnit;
  const float v = std::max(r, std::max(g, b));
  const float low = std::min(r, std::min(g, b));
  const bool flat = v == low;
  const float range = v - low;
  const float s = range / (flat ? 1.0f : v);
  const float divisor = flat ? 1.0f : range;
  const float rc = (v - r) / divisor, gc = (v - g) / divisor, bc = (v - b) / divisor;
  float h;
  if (v == r) {
    h = bc - gc;
  } else if (v == g) {
    h = (rc + 2.0f) - bc;
  } else {
    h = (gc + 4.0f) - rc;
  }
  h = h * kSixth + 1.0f;  // in [5/6, 11/6): fmod(h, 1) is one exact subtraction
  if (h >= 1.0f) h -= 1.0f;
  h += hue;  // in [-0.5, 1.5): Python's remainder by 1
  if (h >= 1.0f) {
    h -= 1.0f;
  } else if (h < 0.0f) {
    h += 1.0f;
  }
  const float h6 = h * 6.0f;
  const int sector = static_cast<int>(h6);  // floor: h6 >= 0
  const float f = h6 - static_cast<float>(sector);
  const float sf = s * f;
  const float one_minus_s = 1.0f - s;
  const float q = std::clamp((1.0f - sf) * v, 0.0f, 1.0f);
  const float t = std::clamp((sf + one_minus_s) * v, 0.0f, 1.0f);
  const float p = std::clamp(one_minus_s * v, 0.0f, 1.0f);
  // Which of (v, p, q, t) each of R, G, B takes in each sixth of the hue circle.
  static constexpr uint8_t kPick[6][3] = {{0, 3, 1}, {2, 0, 1}, {1, 0, 3},
                                          {1, 2, 0}, {3, 1, 0}, {0, 1, 2}};
  const float vpqt[4] = {v, p, q, t};
  const uint8_t* pick = kPick[sector % 6];
  for (int c = 0; c < 3; ++c) px[c] = static_cast<uint8_t>(vpqt[pick[c]] * kToByte);
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
    for (int64_t i = 0; i < pixels; ++i, p += 3) {
      sum += static_cast<int64_t>(luma(p[0], p[1], p[2]));  // floor: the luma is >= 0
    }
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
  const int64_t pixels = image.height * image.width;
  uint8_t* p = image.data;
  for (int64_t i = 0; i < pixels; ++i, p += 3) {
    // floor, as a truncation (the luma is >= 0) the compiler can vectorise
    const auto gray = static_cast<float>(static_cast<int32_t>(luma(p[0], p[1], p[2])));
    for (int c = 0; c < 3; ++c) {
      p[c] = clamp_truncate(fused_multiply_add(gray, alpha, static_cast<float>(p[c]) * r));
    }
  }
}

void adjust_hue(ImageU8 image, double hue_factor) {
  check_image(image, "adjust_hue");
  check_hue(hue_factor);
  if (image.channels == 1) return;
  const float hue = static_cast<float>(hue_factor);
  const int64_t pixels = image.height * image.width;
  uint8_t* p = image.data;
  for (int64_t i = 0; i < pixels; ++i, p += 3) shift_hue(p, hue);
}

void to_grayscale(ImageU8 image) {
  check_image(image, "to_grayscale");
  if (image.channels == 1) return;
  const int64_t pixels = image.height * image.width;
  uint8_t* p = image.data;
  for (int64_t i = 0; i < pixels; ++i, p += 3) {
    const uint8_t gray = static_cast<uint8_t>(luma(p[0], p[1], p[2]));  // < 255: no clamp
    p[0] = p[1] = p[2] = gray;
  }
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
    uint8_t* out = image.data + y * stride;
    for (int64_t j = ch; j < stride - ch; ++j) {
      // Weights 1/13 around and 5/13 in the centre; rounding S / 13 never meets a tie (S / 13
      // is never k + 1/2), so the exact integer division matches the reference's float32 one.
      const int32_t sum = above[j - ch] + above[j] + above[j + ch] + row[j - ch] + 5 * row[j] +
                          row[j + ch] + below[j - ch] + below[j] + below[j + ch];
      const int32_t blurred = (2 * sum + 13) / 26;
      const auto x = static_cast<float>(row[j]);
      out[j] = clamp_truncate(fused_multiply_add(static_cast<float>(blurred) - x, alpha, x));
    }
  }
}

void autocontrast(ImageU8 image) {
  check_image(image, "autocontrast");
  const int64_t pixels = image.height * image.width;
  if (pixels == 0) return;
  const int64_t ch = image.channels;
  std::array<uint8_t, 3> low{255, 255, 255}, high{0, 0, 0};
  const uint8_t* p = image.data;
  for (int64_t i = 0; i < pixels; ++i, p += ch) {
    for (int64_t c = 0; c < ch; ++c) {
      low[c] = std::min(low[c], p[c]);
      high[c] = std::max(high[c], p[c]);
    }
  }
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
  const std::vector<float>& ky = scratch.kernel_y;
  float* acc = scratch.row_sum.data();
  for (int64_t y = 0; y < h; ++y) {
    const float* first = scratch.filtered.data() + reflect(y - pad_y, h) * stride;
    for (int64_t j = 0; j < stride; ++j) acc[j] = ky[0] * first[j];
    for (int64_t k = 1; k < kernel_size[1]; ++k) {
      const float wk = ky[static_cast<size_t>(k)];
      const float* src = scratch.filtered.data() + reflect(y + k - pad_y, h) * stride;
      for (int64_t j = 0; j < stride; ++j) acc[j] += wk * src[j];
    }
    uint8_t* out = image.data + y * stride;
    for (int64_t j = 0; j < stride; ++j) {
      const float v = std::clamp(acc[j], 0.0f, 255.0f);
      out[j] = static_cast<uint8_t>(round_half_even(v));
    }
  }
}

}  // namespace nocopy
