// Fused crop / mirror / normalize / layout / dtype kernels, compiled twice (AVX2 and baseline)
// and chosen once per transform from the CPU's features (function multiversioning by hand:
// templates cannot use target_clones).
#include "nocopy/pipeline/sample_transform.hpp"

#include <cpuid.h>
#include <immintrin.h>

#include <cmath>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "internal/checked_math.hpp"
#include "internal/half.hpp"
#include "nocopy/core/errors.hpp"

namespace nocopy {

namespace {

/// Tags for 16-bit float element types (both stored as uint16_t bits).
struct F16 {
  uint16_t bits;
};
struct BF16 {
  uint16_t bits;
};

template <class S>
inline float load(const S* p) {
  if constexpr (std::is_same_v<S, F16>) {
    return half_bits_to_float(p->bits);
  } else if constexpr (std::is_same_v<S, BF16>) {
    return bfloat16_bits_to_float(p->bits);
  } else {
    return static_cast<float>(*p);
  }
}

template <class D>
inline void store(D* p, float v) {
  if constexpr (std::is_same_v<D, F16>) {
    p->bits = float_to_half_bits(v);
  } else if constexpr (std::is_same_v<D, BF16>) {
    p->bits = float_to_bfloat16_bits(v);
  } else {
    *p = v;
  }
}

/// Everything one sample's kernel needs; strides are in source elements.
struct KernelArgs {
  const void* src;  ///< element (top, left, channel 0) of the sample
  int64_t sh, sw, sc;
  int64_t h, w, c;
  bool mirror;
  void* out;
  const float *a, *b;          ///< per channel
  const float *a_row, *b_row;  ///< tiled over one HWC output row
};

using Kernel = void (*)(const KernelArgs&);

/// float32 -> float16 bits for a run of values with the F16C instruction (round to nearest even,
/// the same bits as float_to_half_bits).
[[gnu::target("avx2,f16c")]] void half_row_f16c(const float* f, uint16_t* o, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(f + i);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(o + i),
                     _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  }
  for (; i < n; ++i) o[i] = float_to_half_bits(f[i]);
}

/// pshufb masks that pick channel c of 8 RGB pixels (24 bytes) from two overlapping 16-byte
/// loads at byte 0 (`lo`, pixels 0-4) and byte 8 (`hi`, pixels 5-7), in forward or reversed
/// pixel order. Entries with the top bit set give zero.
struct RgbMasks {
  alignas(16) uint8_t lo[2][3][16];
  alignas(16) uint8_t hi[2][3][16];
  RgbMasks() {
    for (int m = 0; m < 2; ++m) {
      for (int c = 0; c < 3; ++c) {
        for (int j = 0; j < 16; ++j) {
          lo[m][c][j] = hi[m][c][j] = 0x80;
          if (j >= 8) continue;
          const int pixel = m ? 7 - j : j;
          if (pixel <= 4) {
            lo[m][c][j] = static_cast<uint8_t>(3 * pixel + c);
          } else {
            hi[m][c][j] = static_cast<uint8_t>(3 * pixel + c - 8);
          }
        }
      }
    }
  }
};
const RgbMasks kRgbMasks;

/// The three channel planes of one row of 3-channel uint8 pixels, f_c[x] = p[x].c * a[c] + b[c]
/// (multiply then add, like the scalar path, so results are identical), 8 pixels per step with
/// byte shuffles; mirrored rows are read backwards. With `stream` (all planes 32-byte aligned,
/// writing the final batch) the stores bypass the cache: the batch is not read again by this
/// core, and non-temporal stores skip the read-for-ownership that doubles write traffic.
template <bool Stream>
[[gnu::target("avx2")]] void rgb_u8_planes(const uint8_t* row, int64_t w, bool mirror,
                                           const float* a, const float* b, float* f0, float* f1,
                                           float* f2) {
  float* f[3] = {f0, f1, f2};
  __m128i mlo[3], mhi[3];
  __m256 av[3], bv[3];
  const int m = mirror ? 1 : 0;
  for (int c = 0; c < 3; ++c) {
    mlo[c] = _mm_load_si128(reinterpret_cast<const __m128i*>(kRgbMasks.lo[m][c]));
    mhi[c] = _mm_load_si128(reinterpret_cast<const __m128i*>(kRgbMasks.hi[m][c]));
    av[c] = _mm256_set1_ps(a[c]);
    bv[c] = _mm256_set1_ps(b[c]);
  }
  int64_t x = 0;
  for (; x + 8 <= w; x += 8) {
    // Output pixels x..x+7 come from source pixels x..x+7, or w-1-x down to w-8-x.
    const uint8_t* p = row + 3 * (mirror ? w - 8 - x : x);
    const __m128i lo = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i hi = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 8));
    for (int c = 0; c < 3; ++c) {
      const __m128i v = _mm_or_si128(_mm_shuffle_epi8(lo, mlo[c]), _mm_shuffle_epi8(hi, mhi[c]));
      const __m256 fv = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(v));
      const __m256 r = _mm256_add_ps(_mm256_mul_ps(fv, av[c]), bv[c]);
      if constexpr (Stream) {
        _mm256_stream_ps(f[c] + x, r);
      } else {
        _mm256_storeu_ps(f[c] + x, r);
      }
    }
  }
  for (; x < w; ++x) {
    const uint8_t* px = row + 3 * (mirror ? w - 1 - x : x);
    for (int c = 0; c < 3; ++c) f[c][x] = static_cast<float>(px[c]) * a[c] + b[c];
  }
}

/// Stores a run of float results as the output type D (float32 runs are written in place).
template <class D, bool Avx2>
[[gnu::always_inline]] inline void convert_row(const float* __restrict f, D* __restrict o,
                                               int64_t n) {
  if constexpr (std::is_same_v<D, F16>) {
    if constexpr (Avx2) {
      half_row_f16c(f, reinterpret_cast<uint16_t*>(o), n);
    } else {
      for (int64_t i = 0; i < n; ++i) o[i].bits = float_to_half_bits(f[i]);
    }
  } else if constexpr (std::is_same_v<D, BF16>) {
    for (int64_t i = 0; i < n; ++i) o[i].bits = float_to_bfloat16_bits(f[i]);
  }
}

/// One output row of one channel plane: f[x] = src[x * step] * a + b, walking the source row
/// backwards when mirrored. KS > 0 fixes the step at compile time so the loop vectorizes.
template <class S, int KS>
[[gnu::always_inline]] inline void plane_row(const S* __restrict r, int64_t step, int64_t w,
                                             bool mirror, float a, float b, float* __restrict f) {
  const int64_t st = KS > 0 ? KS : step;
  if (!mirror) {
#pragma GCC ivdep
    for (int64_t x = 0; x < w; ++x) f[x] = load(r + x * st) * a + b;
  } else {
    const S* __restrict e = r + (w - 1) * st;
#pragma GCC ivdep
    for (int64_t x = 0; x < w; ++x) f[x] = load(e - x * st) * a + b;
  }
}

/// plane_row for uint8 output: the bytes unchanged.
template <int KS>
[[gnu::always_inline]] inline void plane_row_raw(const uint8_t* __restrict r, int64_t step,
                                                 int64_t w, bool mirror, uint8_t* __restrict o) {
  const int64_t st = KS > 0 ? KS : step;
  if (!mirror) {
#pragma GCC ivdep
    for (int64_t x = 0; x < w; ++x) o[x] = r[x * st];
  } else {
    const uint8_t* __restrict e = r + (w - 1) * st;
#pragma GCC ivdep
    for (int64_t x = 0; x < w; ++x) o[x] = e[-x * st];
  }
}

/// The kernel body. KC > 0: channels are contiguous (sc == 1, sw == KC), known at compile time,
/// so loops vectorize; KC == 0: any strides. Inlined into each instruction-set variant; 16-bit
/// outputs are computed as float rows in a per-thread scratch row, then converted.
template <class S, class D, int KC, Layout L, bool Avx2>
[[gnu::always_inline]] inline void sample_body(const KernelArgs& k) {
  constexpr bool kRaw = std::is_same_v<D, uint8_t>;
  constexpr bool kFloat = std::is_same_v<D, float>;
  const S* src = static_cast<const S*>(k.src);
  D* out = static_cast<D*>(k.out);
  const int64_t h = k.h, w = k.w;
  const int64_t C = KC > 0 ? KC : k.c;
  const int64_t sw = KC > 0 ? KC : k.sw;
  const int64_t sc = KC > 0 ? 1 : k.sc;
  const int64_t plane = h * w;
  static thread_local std::vector<float> scratch;
  float* tmp = nullptr;
  if constexpr (!kRaw && !kFloat) {
    if (scratch.size() < static_cast<size_t>(w * C)) scratch.resize(static_cast<size_t>(w * C));
    tmp = scratch.data();
  }
  for (int64_t y = 0; y < h; ++y) {
    const S* row = src + y * k.sh;
    if constexpr (L == Layout::CHW && Avx2 && KC == 3 && std::is_same_v<S, uint8_t> && !kRaw) {
      // The seeds' case (RGB bytes to channel planes): all three planes of a row at once.
      D* o[3] = {out + y * w, out + plane + y * w, out + 2 * plane + y * w};
      float* f[3];
      for (int c = 0; c < 3; ++c) f[c] = kFloat ? reinterpret_cast<float*>(o[c]) : tmp + c * w;
      const bool aligned = ((reinterpret_cast<uintptr_t>(f[0]) | reinterpret_cast<uintptr_t>(f[1]) |
                             reinterpret_cast<uintptr_t>(f[2])) &
                            31) == 0;
      if (kFloat && aligned) {
        rgb_u8_planes<true>(row, w, k.mirror, k.a, k.b, f[0], f[1], f[2]);
      } else {
        rgb_u8_planes<false>(row, w, k.mirror, k.a, k.b, f[0], f[1], f[2]);
      }
      if constexpr (!kFloat) {
        for (int c = 0; c < 3; ++c) convert_row<D, Avx2>(f[c], o[c], w);
      }
    } else if constexpr (L == Layout::CHW) {
      for (int64_t c = 0; c < C; ++c) {
        D* o = out + c * plane + y * w;
        if constexpr (kRaw) {
          plane_row_raw<KC>(row + c * sc, sw, w, k.mirror, o);
        } else {
          float* f = kFloat ? reinterpret_cast<float*>(o) : tmp;
          plane_row<S, KC>(row + c * sc, sw, w, k.mirror, k.a[c], k.b[c], f);
          if constexpr (!kFloat) convert_row<D, Avx2>(f, o, w);
        }
      }
    } else {
      D* __restrict o = out + y * w * C;
      if constexpr (kRaw) {
        for (int64_t x = 0; x < w; ++x) {
          const int64_t sx = k.mirror ? w - 1 - x : x;
          for (int64_t c = 0; c < C; ++c) o[x * C + c] = row[sx * sw + c * sc];
        }
      } else {
        float* __restrict f = kFloat ? reinterpret_cast<float*>(o) : tmp;
        if (KC > 0 && !k.mirror) {
          // A row of contiguous pixels is one flat run of w * C values.
          const float* __restrict ar = k.a_row;
          const float* __restrict br = k.b_row;
#pragma GCC ivdep
          for (int64_t i = 0; i < w * C; ++i) f[i] = load(row + i) * ar[i] + br[i];
        } else {
          // Channel by channel: each pass is a strided walk that still vectorizes for KC > 0.
          for (int64_t c = 0; c < C; ++c) {
            const float a = k.a[c], b = k.b[c];
            const S* r = row + c * sc + (k.mirror ? (w - 1) * sw : 0);
            const int64_t st = k.mirror ? -sw : sw;
            for (int64_t x = 0; x < w; ++x) f[x * C + c] = load(r + x * st) * a + b;
          }
        }
        if constexpr (!kFloat) convert_row<D, Avx2>(f, o, w * C);
      }
    }
  }
}

template <class S, class D, int KC, Layout L>
[[gnu::target("avx2,f16c")]] void sample_avx2(const KernelArgs& k) {
  sample_body<S, D, KC, L, true>(k);
  _mm_sfence();  // non-temporal stores are visible before the sample is reported done
}

template <class S, class D, int KC, Layout L>
void sample_baseline(const KernelArgs& k) {
  sample_body<S, D, KC, L, false>(k);
}

bool cpu_has_avx2() {
  static const bool has = [] {
    __builtin_cpu_init();
    // F16C is CPUID leaf 1, ECX bit 29 (read directly: older clang has no "f16c" name).
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    const bool f16c = __get_cpuid(1, &eax, &ebx, &ecx, &edx) != 0 && (ecx & (1u << 29)) != 0;
    return __builtin_cpu_supports("avx2") != 0 && f16c;
  }();
  return has;
}

template <class S, class D, int KC>
Kernel pick_layout(Layout l) {
  const bool avx2 = cpu_has_avx2();
  if (l == Layout::CHW) {
    return avx2 ? &sample_avx2<S, D, KC, Layout::CHW> : &sample_baseline<S, D, KC, Layout::CHW>;
  }
  return avx2 ? &sample_avx2<S, D, KC, Layout::HWC> : &sample_baseline<S, D, KC, Layout::HWC>;
}

/// Compile-time channel counts get their own kernels only for the common sources.
template <class S, class D>
Kernel pick_channels(int kc, Layout l) {
  if constexpr (std::is_same_v<S, uint8_t> || std::is_same_v<S, float>) {
    switch (kc) {
      case 1:
        return pick_layout<S, D, 1>(l);
      case 3:
        return pick_layout<S, D, 3>(l);
      case 4:
        return pick_layout<S, D, 4>(l);
      default:
        break;
    }
  }
  return pick_layout<S, D, 0>(l);
}

template <class S>
Kernel pick_output(DType out, int kc, Layout l) {
  switch (out) {
    case DType::Float32:
      return pick_channels<S, float>(kc, l);
    case DType::Float16:
      return pick_channels<S, F16>(kc, l);
    case DType::BFloat16:
      return pick_channels<S, BF16>(kc, l);
    case DType::UInt8:
      if constexpr (std::is_same_v<S, uint8_t>) return pick_channels<S, uint8_t>(kc, l);
      break;
    default:
      break;
  }
  throw std::logic_error("unsupported transform output");  // excluded by validation
}

Kernel pick_kernel(DType src, DType out, int kc, Layout l) {
  switch (src) {
    case DType::UInt8:
      return pick_output<uint8_t>(out, kc, l);
    case DType::UInt16:
      return pick_output<uint16_t>(out, kc, l);
    case DType::Float16:
      return pick_output<F16>(out, kc, l);
    case DType::BFloat16:
      return pick_output<BF16>(out, kc, l);
    case DType::Float32:
      return pick_output<float>(out, kc, l);
    case DType::Float64:
      return pick_output<double>(out, kc, l);
    default:
      break;
  }
  throw std::logic_error("unsupported transform source");  // excluded by validation
}

std::string num(double v) {
  std::string s = std::to_string(v);
  return s;
}

/// Broadcasts a mean/std list to C channels, or throws naming the argument.
std::vector<double> per_channel(const std::vector<double>& v, int64_t C, double fill,
                                const char* name) {
  if (v.empty()) return std::vector<double>(static_cast<size_t>(C), fill);
  if (v.size() == 1) return std::vector<double>(static_cast<size_t>(C), v[0]);
  if (static_cast<int64_t>(v.size()) != C) {
    throw std::invalid_argument(std::string(name) + " has " + std::to_string(v.size()) +
                                " values but the images have " + std::to_string(C) + " channels");
  }
  return v;
}

}  // namespace

bool is_supported_source(DType t) {
  switch (t) {
    case DType::UInt8:
    case DType::UInt16:
    case DType::Float16:
    case DType::BFloat16:
    case DType::Float32:
    case DType::Float64:
      return true;
    default:
      return false;
  }
}

SampleTransform::SampleTransform(View source, const TransformSpec& spec)
    : source_(std::move(source)), spec_(spec) {
  source_.require_host("loader images");
  if (source_.ndim() != 4) {
    throw std::invalid_argument("images must have shape (N, H, W, C); got " +
                                std::to_string(source_.ndim()) + " dimensions " +
                                format_tuple(source_.shape()));
  }
  if (!is_supported_source(source_.dtype())) {
    throw std::invalid_argument("images dtype " + std::string(dtype_name(source_.dtype())) +
                                " is not supported; use uint8, uint16, float16, bfloat16, "
                                "float32 or float64");
  }
  const auto& shape = source_.shape();
  channels_ = shape[3];
  if (channels_ < 1)
    throw std::invalid_argument("images have 0 channels (shape " + format_tuple(shape) + ")");
  if (spec.crop_h < 1 || spec.crop_w < 1 || spec.crop_h > shape[1] || spec.crop_w > shape[2]) {
    throw std::invalid_argument("crop (" + std::to_string(spec.crop_h) + ", " +
                                std::to_string(spec.crop_w) + ") is not within image (" +
                                std::to_string(shape[1]) + ", " + std::to_string(shape[2]) +
                                ") on axes (1, 2)");
  }
  const DType o = spec.dtype;
  if (o != DType::Float32 && o != DType::Float16 && o != DType::BFloat16 && o != DType::UInt8) {
    throw std::invalid_argument("output dtype " + std::string(dtype_name(o)) +
                                " is not supported; use float32, float16, bfloat16 or uint8");
  }
  if (o == DType::UInt8) {
    if (source_.dtype() != DType::UInt8) {
      throw std::invalid_argument("uint8 output copies source bytes and needs uint8 images; got " +
                                  std::string(dtype_name(source_.dtype())));
    }
    if (spec.scale != 1.0 || !spec.mean.empty() || !spec.std.empty()) {
      throw std::invalid_argument(
          "uint8 output copies source bytes unchanged: scale must be 1 "
          "(got " +
          num(spec.scale) + ") and mean/std must be None");
    }
  }
  if (!std::isfinite(spec.scale)) {
    throw std::invalid_argument("scale " + num(spec.scale) + " is not finite");
  }
  const std::vector<double> mean = per_channel(spec.mean, channels_, 0.0, "mean");
  const std::vector<double> stdv = per_channel(spec.std, channels_, 1.0, "std");
  a_.resize(channels_);
  b_.resize(channels_);
  for (int64_t c = 0; c < channels_; ++c) {
    if (!std::isfinite(mean[c])) {
      throw std::invalid_argument("mean[" + std::to_string(c) + "] = " + num(mean[c]) +
                                  " is not finite");
    }
    if (!std::isfinite(stdv[c]) || stdv[c] == 0.0) {
      throw std::invalid_argument("std[" + std::to_string(c) + "] = " + num(stdv[c]) +
                                  " must be finite and non-zero");
    }
    a_[c] = static_cast<float>(spec.scale / stdv[c]);
    b_[c] = static_cast<float>(-mean[c] / stdv[c]);
  }
  int64_t bytes = checked_mul(spec.crop_h, spec.crop_w, "loader sample size");
  bytes = checked_mul(bytes, channels_, "loader sample size");
  bytes = checked_mul(bytes, static_cast<int64_t>(itemsize(o)), "loader sample size in bytes");
  sample_bytes_ = static_cast<size_t>(bytes);
  const int64_t row = checked_mul(spec.crop_w, channels_, "loader row size");
  a_row_.resize(row);
  b_row_.resize(row);
  for (int64_t i = 0; i < row; ++i) {
    a_row_[i] = a_[i % channels_];
    b_row_[i] = b_[i % channels_];
  }
}

void SampleTransform::apply(int64_t n, int64_t top, int64_t left, bool mirror, void* out) const {
  const auto& st = source_.strides();
  const int64_t C = channels_;
  const bool dense_pixels = st[3] == 1 && st[2] == C;
  const int kc = dense_pixels && (C == 1 || C == 3 || C == 4) ? static_cast<int>(C) : 0;
  // Chosen per call (cheap switch) so the transform stays a plain copyable value.
  const Kernel kernel = pick_kernel(source_.dtype(), spec_.dtype, kc, spec_.layout);
  const auto* base = static_cast<const char*>(source_.data());
  const int64_t offset = n * st[0] + top * st[1] + left * st[2];
  KernelArgs k{base + offset * static_cast<int64_t>(source_.itemsize()),
               st[1],
               st[2],
               st[3],
               spec_.crop_h,
               spec_.crop_w,
               C,
               mirror,
               out,
               a_.data(),
               b_.data(),
               a_row_.data(),
               b_row_.data()};
  kernel(k);
}

}  // namespace nocopy
