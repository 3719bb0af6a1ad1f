// Resampling kernels: torch-compatible coefficient tables (antialiased bilinear, nearest), the
// vertical and horizontal passes and the fused row writers, each hot loop compiled for AVX2 and
// the baseline through function multiversioning (internal/multiversion.hpp). One instance per
// (source, output) element type, picked once per sample by the dtype visitor; elements are read
// and written by internal/element.hpp.
#include "nocopy/pipeline/kernels/resize.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "internal/element.hpp"
#include "internal/multiversion.hpp"
#include "nocopy/core/dtype_visit.hpp"

namespace nocopy {

Interpolation interpolation_from_string(std::string_view name) {
  if (name == "bilinear") return Interpolation::Bilinear;
  if (name == "nearest") return Interpolation::Nearest;
  throw std::invalid_argument("interpolation '" + std::string(name) +
                              "' is not one of 'bilinear', 'nearest'");
}

namespace {

/// The source dtypes resample_window reads.
using ResizeSources = DTypeSet<DType::UInt8, DType::UInt16, DType::Float16, DType::BFloat16,
                               DType::Float32, DType::Float64>;
/// The output dtypes resample_window writes.
using ResizeOutputs = DTypeSet<DType::Float32, DType::Float16, DType::BFloat16, DType::UInt8>;

}  // namespace

bool is_resize_source_dtype(DType t) {
  return DTypeSet<DType::UInt8, DType::UInt16, DType::Float32>::contains(t);
}

bool is_resize_output_dtype(DType t) {
  return ResizeOutputs::contains(t);
}

void ResampleTable::compute(int64_t in_size, int64_t out_size, int64_t begin, int64_t count,
                            Interpolation mode, double offset, double span) {
  size_ = count;
  first_.resize(static_cast<size_t>(count));
  count_.resize(static_cast<size_t>(count));
  if (mode == Interpolation::Nearest) {
    // torch's nearest_idx: identity, halving, else floor(i * scale) in float, clamped; a
    // stretch between samples: floor(offset + i * span / out_size).
    stride_ = 1;
    weights_.assign(static_cast<size_t>(count), 1.0f);
    const float scale = static_cast<float>(in_size) / static_cast<float>(out_size);
    for (int64_t k = 0; k < count; ++k) {
      const int64_t i = begin + k;
      int64_t src;
      if (span > 0.0) {
        const double x = offset + static_cast<double>(i) * span / static_cast<double>(out_size);
        src = std::clamp<int64_t>(static_cast<int64_t>(std::floor(x)), 0, in_size - 1);
      } else if (in_size == out_size) {
        src = i;
      } else if (out_size == 2 * in_size) {
        src = i >> 1;
      } else {
        src =
            std::min(static_cast<int64_t>(std::floor(static_cast<float>(i) * scale)), in_size - 1);
      }
      first_[k] = src;
      count_[k] = 1;
    }
  } else {
    // torch's _compute_weights_aa (interp_size 2, the triangle filter), in double; a stretch
    // between samples moves the centers by `offset` (Pillow's precompute_coeffs with a box).
    const double extent = span > 0.0 ? span : static_cast<double>(in_size);
    const double scale = extent / static_cast<double>(out_size);
    const double support = scale >= 1.0 ? scale : 1.0;
    const double invscale = scale >= 1.0 ? 1.0 / scale : 1.0;
    stride_ = static_cast<int64_t>(std::floor(2.0 * support)) + 2;
    weights_.assign(static_cast<size_t>(count * stride_), 0.0f);
    work_.resize(static_cast<size_t>(stride_));
    for (int64_t k = 0; k < count; ++k) {
      const double center = offset + scale * (static_cast<double>(begin + k) + 0.5);
      int64_t xmin = std::max(static_cast<int64_t>(center - support + 0.5), int64_t{0});
      int64_t xsize = std::min(static_cast<int64_t>(center + support + 0.5), in_size) - xmin;
      xsize = std::clamp<int64_t>(xsize, 0, stride_);
      double total = 0.0;
      for (int64_t j = 0; j < xsize; ++j) {
        const double x = std::fabs((static_cast<double>(j + xmin) - center + 0.5) * invscale);
        work_[j] = x < 1.0 ? 1.0 - x : 0.0;
        total += work_[j];
      }
      // Drop zero taps at both ends (the result is the same, the loops shorter).
      int64_t lo = 0, hi = xsize;
      while (hi > lo + 1 && work_[hi - 1] == 0.0) --hi;
      while (lo + 1 < hi && work_[lo] == 0.0) ++lo;
      if (total == 0.0 || hi <= lo) {  // cannot happen for valid sizes; keep a defined result
        lo = 0;
        hi = 1;
        work_[0] = total = 1.0;
        xmin = std::min(std::max<int64_t>(xmin, 0), in_size - 1);
      }
      first_[k] = xmin + lo;
      count_[k] = static_cast<int32_t>(hi - lo);
      float* w = weights_.data() + k * stride_;
      for (int64_t j = lo; j < hi; ++j) w[j - lo] = static_cast<float>(work_[j] / total);
    }
  }
  source_begin_ = count > 0 ? first_[0] : 0;
  source_end_ = source_begin_;
  for (int64_t k = 0; k < count; ++k) {
    source_begin_ = std::min(source_begin_, first_[k]);
    source_end_ = std::max(source_end_, first_[k] + count_[k]);
  }
}

namespace {

/// out[i] = sum_k w[k] * rows[k][i] for i in [0, n): one vertically resampled row whose
/// elements are contiguous in every source row (channels dense, pixels dense).
template <class S>
[[gnu::always_inline]] inline void vertical_dense(const S* const* rows, const float* w, int n,
                                                  int64_t len, float* __restrict out) {
  const S* __restrict r0 = rows[0];
  const float w0 = w[0];
  for (int64_t i = 0; i < len; ++i) out[i] = w0 * load_as_float(r0 + i);
  for (int k = 1; k < n; ++k) {
    const S* __restrict r = rows[k];
    const float wk = w[k];
    for (int64_t i = 0; i < len; ++i) out[i] += wk * load_as_float(r + i);
  }
}

/// vertical_dense for each source element type, compiled for AVX2 and the baseline.
template <class S>
NOCOPY_MULTIVERSION void vertical_dense_mv(const S* const* rows, const float* w, int n, int64_t len,
                                           float* out) {
  vertical_dense(rows, w, n, len, out);
}

/// The vertical pass for any strides: out[x * C + c] = sum_k w[k] * rows[k][x * sw + c * sc].
template <class S>
void vertical_strided(const S* const* rows, const float* w, int n, int64_t width, int64_t C,
                      int64_t sw, int64_t sc, float* out) {
  for (int64_t x = 0; x < width; ++x) {
    for (int64_t c = 0; c < C; ++c) {
      float acc = 0.0f;
      for (int k = 0; k < n; ++k) acc += w[k] * load_as_float(rows[k] + x * sw + c * sc);
      out[x * C + c] = acc;
    }
  }
}

/// Four floats, as a GCC/Clang vector (SSE on the baseline, wider clones use the same code).
typedef float Float4 __attribute__((vector_size(16)));

/// The horizontal pass: out pixel x is the weighted sum of the row's pixels first[x] ..
/// first[x] + count[x] - 1 (relative to `row`). KC > 0 fixes C. For 3 and 4 channels a pixel
/// is one 4-float vector (the 3-channel case reads one float past a pixel and writes one past
/// it: both buffers carry one float of padding, and pixels are written in increasing order).
template <int KC>
[[gnu::always_inline]] inline void horizontal_body(const float* __restrict row,
                                                   const ResampleTable& t, int64_t shift,
                                                   int64_t C_, float* __restrict out) {
  const int64_t C = KC > 0 ? KC : C_;
  const int64_t ow = t.size(), stride = t.stride();
  const int64_t* first = t.first();
  const int32_t* count = t.count();
  const float* weights = t.weights();
  for (int64_t x = 0; x < ow; ++x) {
    const float* p = row + (first[x] - shift) * C;
    const float* w = weights + x * stride;
    const int n = count[x];
    float* o = out + x * C;
    if constexpr (KC == 3 || KC == 4) {
      Float4 acc = {0, 0, 0, 0};
      for (int j = 0; j < n; ++j) {
        Float4 v;
        std::memcpy(&v, p + j * KC, sizeof v);
        acc += w[j] * v;
      }
      std::memcpy(o, &acc, sizeof acc);
    } else if constexpr (KC > 0) {
      float acc[KC] = {};
      for (int j = 0; j < n; ++j) {
        for (int c = 0; c < KC; ++c) acc[c] += w[j] * p[j * KC + c];
      }
      for (int c = 0; c < KC; ++c) o[c] = acc[c];
    } else {
      for (int64_t c = 0; c < C; ++c) {
        float acc = 0.0f;
        for (int j = 0; j < n; ++j) acc += w[j] * p[j * C + c];
        o[c] = acc;
      }
    }
  }
}

NOCOPY_MULTIVERSION void horizontal(const float* row, const ResampleTable& t, int64_t shift,
                                    int64_t C, float* out) {
  switch (C) {
    case 1:
      horizontal_body<1>(row, t, shift, C, out);
      break;
    case 3:
      horizontal_body<3>(row, t, shift, C, out);
      break;
    case 4:
      horizontal_body<4>(row, t, shift, C, out);
      break;
    default:
      horizontal_body<0>(row, t, shift, C, out);
  }
}

/// Writes one output row y of HWC floats `row` as dtype D: x * a[c] + b[c] in CHW or HWC,
/// output column x taken from row column w - 1 - x when mirrored. KC > 0 fixes C.
template <class D, int KC>
[[gnu::always_inline]] inline void write_row_as(const float* __restrict row, int64_t y, int64_t h,
                                                int64_t w, int64_t C_, bool chw, bool mirror,
                                                const float* a, const float* b, D* __restrict out) {
  const int64_t C = KC > 0 ? KC : C_;
  if (chw) {
    for (int64_t c = 0; c < C; ++c) {
      D* __restrict o = out + c * h * w + y * w;
      const float ac = a[c], bc = b[c];
      if (mirror) {
        const float* __restrict r = row + (w - 1) * C + c;
        for (int64_t x = 0; x < w; ++x) store_from_float(o + x, r[-x * C] * ac + bc);
      } else {
        const float* __restrict r = row + c;
        for (int64_t x = 0; x < w; ++x) store_from_float(o + x, r[x * C] * ac + bc);
      }
    }
  } else {
    D* __restrict o = out + y * w * C;
    for (int64_t x = 0; x < w; ++x) {
      const float* __restrict r = row + (mirror ? w - 1 - x : x) * C;
      for (int64_t c = 0; c < C; ++c) store_from_float(o + x * C + c, r[c] * a[c] + b[c]);
    }
  }
}

/// write_row_as with the 3-channel case specialized.
template <class D>
[[gnu::always_inline]] inline void write_row_any(const float* row, int64_t y, int64_t h, int64_t w,
                                                 int64_t C, bool chw, bool mirror, const float* a,
                                                 const float* b, D* out) {
  if (C == 3) {
    write_row_as<D, 3>(row, y, h, w, C, chw, mirror, a, b, out);
  } else {
    write_row_as<D, 0>(row, y, h, w, C, chw, mirror, a, b, out);
  }
}

/// write_row_any for each output element type, compiled for AVX2 and the baseline.
template <class D>
NOCOPY_MULTIVERSION void write_row(const float* row, int64_t y, int64_t h, int64_t w, int64_t C,
                                   bool chw, bool mirror, const float* a, const float* b, D* out) {
  write_row_any(row, y, h, w, C, chw, mirror, a, b, out);
}

template <class S>
void vertical_pass(const ResizeSource& src, const ResizeGeometry& g, const ResampleTable& rows,
                   int64_t y, int64_t col_begin, int64_t col_end, float* out) {
  constexpr int kMaxRows = 64;
  const S* base = static_cast<const S*>(src.data);
  const int n_total = rows.count()[y];
  const float* w_all = rows.weights() + y * rows.stride();
  const int64_t first = rows.first()[y];
  const int64_t C = src.channels, width = col_end - col_begin;
  const bool dense = src.stride_c == 1 && src.stride_w == C;
  // Rows are summed in groups (very large shrinks have more taps than the pointer table).
  for (int done = 0; done < n_total; done += kMaxRows) {
    const int n = std::min(kMaxRows, n_total - done);
    const S* ptrs[kMaxRows];
    for (int k = 0; k < n; ++k) {
      ptrs[k] =
          base + (g.top + first + done + k) * src.stride_h + (g.left + col_begin) * src.stride_w;
    }
    float* target = out;
    static thread_local std::vector<float> partial;
    if (done > 0) {
      partial.resize(static_cast<size_t>(width * C));
      target = partial.data();
    }
    if (dense) {
      vertical_dense_mv(ptrs, w_all + done, n, width * C, target);
    } else {
      vertical_strided(ptrs, w_all + done, n, width, C, src.stride_w, src.stride_c, target);
    }
    if (done > 0) {
      for (int64_t i = 0; i < width * C; ++i) out[i] += target[i];
    }
  }
}

/// The rows of one sample, S source elements to D output elements.
template <class S, class D>
void resample_rows(const ResizeSource& src, const ResizeGeometry& g, const ResizeOutput& out,
                   ResizeScratch& s) {
  const int64_t C = src.channels;
  const int64_t col_begin = s.cols.source_begin(), col_end = s.cols.source_end();
  for (int64_t y = 0; y < g.out_h; ++y) {
    vertical_pass<S>(src, g, s.rows, y, col_begin, col_end, s.vertical.data());
    horizontal(s.vertical.data(), s.cols, col_begin, C, s.horizontal.data());
    write_row<D>(s.horizontal.data(), y, g.out_h, g.out_w, C, out.channels_first, g.mirror, out.a,
                 out.b, static_cast<D*>(out.data));
  }
}

}  // namespace

void resample_window(const ResizeSource& src, const ResizeGeometry& g, const ResizeOutput& out,
                     ResizeScratch& s) {
  s.rows.compute(g.height, g.resized_h, g.out_top, g.out_h, g.interpolation, g.offset_y, g.span_h);
  s.cols.compute(g.width, g.resized_w, g.out_left, g.out_w, g.interpolation, g.offset_x, g.span_w);
  const int64_t C = src.channels;
  // Only the window columns some output column reads are resampled vertically.
  const int64_t col_begin = s.cols.source_begin(), col_end = s.cols.source_end();
  // One float of padding after each row: the 3-channel horizontal pass moves 4 floats a pixel.
  s.vertical.resize(static_cast<size_t>((col_end - col_begin) * C + 1));
  s.vertical.back() = 0.0f;
  s.horizontal.resize(static_cast<size_t>(g.out_w * C + 1));
  visit_dtype<ResizeSources>(src.dtype, "resampling source", [&](auto source) {
    visit_dtype<ResizeOutputs>(out.dtype, "resampling output", [&](auto output) {
      resample_rows<typename decltype(source)::type, typename decltype(output)::type>(src, g, out,
                                                                                      s);
    });
  });
}

}  // namespace nocopy
