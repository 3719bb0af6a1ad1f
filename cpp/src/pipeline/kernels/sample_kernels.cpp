// The fused per-sample kernels: crop window, mirror, x * multiplier[c] + offset[c], layout and
// dtype conversion in one pass, one instance per (source dtype, output dtype, channel count,
// layout) and per instruction set, picked by the dtype visitor; elements are read and written by
// internal/element.hpp.
//
// Each instance is compiled twice, with AVX2 + F16C and for the baseline x86-64, and the variant
// is picked at run time from CPUID (cpu_has_avx2). This is function multiversioning done by
// hand rather than with NOCOPY_MULTIVERSION (internal/multiversion.hpp): GCC would clone these
// templates, but clang does not clone templates and TSan builds skip target_clones, while this
// dispatch works in every build.
#include "pipeline/kernels/sample_kernels.hpp"

#include <cpuid.h>
#include <immintrin.h>

#include <type_traits>
#include <vector>

#include "internal/element.hpp"

namespace nocopy::detail {

namespace {

/// float32 -> float16 bits for a run of values with the F16C instruction (round to nearest even,
/// the same bits as float_to_half_bits).
[[gnu::target("avx2,f16c")]] void half_row_f16c(const float* f, Float16Bits* o, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(f + i);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(o + i),
                     _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  }
  for (; i < n; ++i) store_from_float(o + i, f[i]);
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
    for (int c = 0; c < 3; ++c) f[c][x] = load_as_float(px + c) * a[c] + b[c];
  }
}

/// Stores a run of float results as the 16-bit output type D (float32 runs are written in
/// place; uint8 output never goes through float).
template <class D, bool Avx2>
[[gnu::always_inline]] inline void convert_row(const float* __restrict f, D* __restrict o,
                                               int64_t n) {
  if constexpr (std::is_same_v<D, Float16Bits> && Avx2) {
    half_row_f16c(f, o, n);
  } else if constexpr (!std::is_same_v<D, float>) {
    for (int64_t i = 0; i < n; ++i) store_from_float(o + i, f[i]);
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
    for (int64_t x = 0; x < w; ++x) f[x] = load_as_float(r + x * st) * a + b;
  } else {
    const S* __restrict e = r + (w - 1) * st;
#pragma GCC ivdep
    for (int64_t x = 0; x < w; ++x) f[x] = load_as_float(e - x * st) * a + b;
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

/// The kernel body. KC > 0: channels are contiguous (channel_stride == 1, pixel_stride == KC),
/// known at compile time, so loops vectorize; KC == 0: any strides. Inlined into each
/// instruction-set variant; 16-bit outputs are computed as float rows in a per-thread scratch row,
/// then converted.
template <class S, class D, int KC, Layout L, bool Avx2>
[[gnu::always_inline]] inline void sample_body(const SampleKernelArgs& k) {
  constexpr bool kRaw = std::is_same_v<D, uint8_t>;
  constexpr bool kFloat = std::is_same_v<D, float>;
  const S* src = static_cast<const S*>(k.src);
  D* out = static_cast<D*>(k.out);
  const int64_t h = k.rows, w = k.cols;
  const int64_t C = KC > 0 ? KC : k.channels;
  const int64_t pixel_step = KC > 0 ? KC : k.pixel_stride;
  const int64_t channel_step = KC > 0 ? 1 : k.channel_stride;
  const int64_t plane = h * w;
  static thread_local std::vector<float> scratch;
  float* tmp = nullptr;
  if constexpr (!kRaw && !kFloat) {
    if (scratch.size() < static_cast<size_t>(w * C)) scratch.resize(static_cast<size_t>(w * C));
    tmp = scratch.data();
  }
  for (int64_t y = 0; y < h; ++y) {
    const S* row = src + y * k.row_stride;
    if constexpr (L == Layout::CHW && Avx2 && KC == 3 && std::is_same_v<S, uint8_t> && !kRaw) {
      // The seeds' case (RGB bytes to channel planes): all three planes of a row at once.
      D* o[3] = {out + y * w, out + plane + y * w, out + 2 * plane + y * w};
      float* f[3];
      for (int c = 0; c < 3; ++c) f[c] = kFloat ? reinterpret_cast<float*>(o[c]) : tmp + c * w;
      const bool aligned = ((reinterpret_cast<uintptr_t>(f[0]) | reinterpret_cast<uintptr_t>(f[1]) |
                             reinterpret_cast<uintptr_t>(f[2])) &
                            31) == 0;
      if (kFloat && aligned) {
        rgb_u8_planes<true>(row, w, k.mirror, k.multiplier, k.offset, f[0], f[1], f[2]);
      } else {
        rgb_u8_planes<false>(row, w, k.mirror, k.multiplier, k.offset, f[0], f[1], f[2]);
      }
      if constexpr (!kFloat) {
        for (int c = 0; c < 3; ++c) convert_row<D, Avx2>(f[c], o[c], w);
      }
    } else if constexpr (L == Layout::CHW) {
      for (int64_t c = 0; c < C; ++c) {
        D* o = out + c * plane + y * w;
        if constexpr (kRaw) {
          plane_row_raw<KC>(row + c * channel_step, pixel_step, w, k.mirror, o);
        } else {
          float* f = kFloat ? reinterpret_cast<float*>(o) : tmp;
          plane_row<S, KC>(row + c * channel_step, pixel_step, w, k.mirror, k.multiplier[c],
                           k.offset[c], f);
          if constexpr (!kFloat) convert_row<D, Avx2>(f, o, w);
        }
      }
    } else {
      D* __restrict o = out + y * w * C;
      if constexpr (kRaw) {
        for (int64_t x = 0; x < w; ++x) {
          const int64_t sx = k.mirror ? w - 1 - x : x;
          for (int64_t c = 0; c < C; ++c) o[x * C + c] = row[sx * pixel_step + c * channel_step];
        }
      } else {
        float* __restrict f = kFloat ? reinterpret_cast<float*>(o) : tmp;
        if (KC > 0 && !k.mirror) {
          // A row of contiguous pixels is one flat run of w * C values.
          const float* __restrict ar = k.multiplier_row;
          const float* __restrict br = k.offset_row;
#pragma GCC ivdep
          for (int64_t i = 0; i < w * C; ++i) f[i] = load_as_float(row + i) * ar[i] + br[i];
        } else {
          // Channel by channel: each pass is a strided walk that still vectorizes for KC > 0.
          for (int64_t c = 0; c < C; ++c) {
            const float a = k.multiplier[c], b = k.offset[c];
            const S* r = row + c * channel_step + (k.mirror ? (w - 1) * pixel_step : 0);
            const int64_t st = k.mirror ? -pixel_step : pixel_step;
            for (int64_t x = 0; x < w; ++x) f[x * C + c] = load_as_float(r + x * st) * a + b;
          }
        }
        if constexpr (!kFloat) convert_row<D, Avx2>(f, o, w * C);
      }
    }
  }
}

template <class S, class D, int KC, Layout L>
[[gnu::target("avx2,f16c")]] void sample_avx2(const SampleKernelArgs& k) {
  sample_body<S, D, KC, L, true>(k);
  _mm_sfence();  // non-temporal stores are visible before the sample is reported done
}

template <class S, class D, int KC, Layout L>
void sample_baseline(const SampleKernelArgs& k) {
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
SampleKernel pick_layout(Layout l) {
  const bool avx2 = cpu_has_avx2();
  if (l == Layout::CHW) {
    return avx2 ? &sample_avx2<S, D, KC, Layout::CHW> : &sample_baseline<S, D, KC, Layout::CHW>;
  }
  return avx2 ? &sample_avx2<S, D, KC, Layout::HWC> : &sample_baseline<S, D, KC, Layout::HWC>;
}

/// Compile-time channel counts get their own kernels only for the common sources.
template <class S, class D>
SampleKernel pick_channels(int kc, Layout l) {
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

}  // namespace

SampleKernel pick_sample_kernel(DType src, DType out, int kc, Layout l) {
  return visit_dtype<SampleSourceDTypes>(src, "sample kernel source", [&](auto source) {
    using S = typename decltype(source)::type;
    return visit_dtype<SampleOutputDTypes>(out, "sample kernel output", [&](auto output) {
      using D = typename decltype(output)::type;
      if constexpr (std::is_same_v<D, uint8_t> && !std::is_same_v<S, uint8_t>) {
        throw_unsupported_dtype(src, "sample kernel source of uint8 output (a copy of the bytes)",
                                DTypeSet<DType::UInt8>::values);
        return SampleKernel{};
      } else {
        return pick_channels<S, D>(kc, l);
      }
    });
  });
}

}  // namespace nocopy::detail
