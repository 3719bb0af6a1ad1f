// SampleTransform: checks the source and the spec once, computes the per-channel coefficients,
// and runs the fused kernel (sample_kernels.cpp) for each sample.
#include "nocopy/pipeline/kernels/sample_transform.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "internal/checked_math.hpp"
#include "internal/element.hpp"
#include "internal/format_number.hpp"
#include "nocopy/core/errors.hpp"
#include "pipeline/kernels/sample_kernels.hpp"

namespace nocopy {

namespace {

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

/// Largest finite value of an output dtype (float32, float16, bfloat16; 255 for uint8).
double largest_finite(DType t) {
  return visit_dtype<detail::SampleOutputDTypes>(t, "loader output", [](auto output) {
    return largest_value<typename decltype(output)::type>();
  });
}

/// Largest value of an integer source dtype, or 0 for float sources (unbounded).
double largest_source_value(DType t) {
  return visit_dtype<detail::SampleSourceDTypes>(t, "loader images", [](auto source) {
    using S = typename decltype(source)::type;
    if constexpr (std::is_integral_v<S>) {
      return largest_value<S>();
    } else {
      return 0.0;
    }
  });
}

}  // namespace

Layout layout_from_name(std::string_view name) {
  for (Layout l : {Layout::CHW, Layout::HWC}) {
    if (name == layout_name(l)) return l;
  }
  throw std::invalid_argument("layout '" + std::string(name) + "' is not one of 'CHW', 'HWC'");
}

std::string_view layout_name(Layout layout) {
  return layout == Layout::CHW ? "CHW" : "HWC";
}

bool is_supported_source(DType t) {
  return detail::SampleSourceDTypes::contains(t);
}

void check_sample_source(const View& source) {
  source.require_host("loader images");
  if (source.ndim() != 4) {
    throw std::invalid_argument("images must have shape (N, H, W, C); got " +
                                std::to_string(source.ndim()) + " dimensions " +
                                format_tuple(source.shape()));
  }
  if (!is_supported_source(source.dtype())) {
    throw std::invalid_argument("images dtype " + std::string(dtype_name(source.dtype())) +
                                " is not supported; use uint8, uint16, float16, bfloat16, "
                                "float32 or float64");
  }
  if (source.shape()[3] < 1) {
    throw std::invalid_argument("images have 0 channels (shape " + format_tuple(source.shape()) +
                                ")");
  }
}

SampleTransform::SampleTransform(View source, const TransformSpec& spec)
    : source_(std::move(source)), spec_(spec) {
  check_sample_source(source_);
  channels_ = source_.shape()[3];
  const DType o = spec.dtype;
  if (!detail::SampleOutputDTypes::contains(o)) {
    throw std::invalid_argument("dtype '" + std::string(dtype_name(o)) +
                                "' is not one of 'float32', 'float16', 'bfloat16', 'uint8'");
  }
  if (o == DType::UInt8) {
    if (source_.dtype() != DType::UInt8) {
      throw std::invalid_argument("uint8 output copies source bytes and needs uint8 images; got " +
                                  std::string(dtype_name(source_.dtype())));
    }
    if (spec.scale != 1.0 || !spec.mean.empty() || !spec.std.empty()) {
      throw std::invalid_argument(
          "uint8 output copies source bytes unchanged: scale must be 1 (got " +
          format_number(spec.scale) + ") and mean/std must be None");
    }
  }
  if (!std::isfinite(spec.scale)) {
    throw std::invalid_argument("scale " + format_number(spec.scale) + " is not finite");
  }
  const std::vector<double> mean = per_channel(spec.mean, channels_, 0.0, "mean");
  const std::vector<double> stdv = per_channel(spec.std, channels_, 1.0, "std");
  const double limit = largest_finite(o);
  const double x_max = largest_source_value(source_.dtype());
  multiplier_.resize(static_cast<size_t>(channels_));
  offset_.resize(static_cast<size_t>(channels_));
  for (int64_t c = 0; c < channels_; ++c) {
    std::string ch = std::to_string(c);  // built in place: GCC 12 warns on "[" + s (-Wrestrict)
    ch.insert(0, 1, '[');
    ch.push_back(']');
    if (!std::isfinite(mean[c])) {
      throw std::invalid_argument("mean" + ch + " = " + format_number(mean[c]) + " is not finite");
    }
    if (!std::isfinite(stdv[c]) || stdv[c] == 0.0) {
      throw std::invalid_argument("std" + ch + " = " + format_number(stdv[c]) +
                                  " must be finite and non-zero");
    }
    const double a = spec.scale / stdv[c];
    const double b = -mean[c] / stdv[c];
    // Integer sources bound x, so bound the outputs; float sources only bound the coefficients.
    const double reach = x_max > 0 ? std::max(std::abs(b), std::abs(a * x_max + b))
                                   : std::max(std::abs(a), std::abs(b));
    if (o != DType::UInt8 && !(reach <= limit)) {
      const std::string what = x_max > 0 ? "outputs reach " + format_number(reach) + " for " +
                                               std::string(dtype_name(source_.dtype())) +
                                               " images up to " + format_number(x_max)
                                         : "the coefficients scale / std = " + format_number(a) +
                                               " and -mean / std = " + format_number(b) +
                                               " are not finite";
      throw std::invalid_argument(
          "normalization overflows " + std::string(dtype_name(o)) + " on channel " +
          std::to_string(c) + " with scale = " + format_number(spec.scale) + ", mean" + ch + " = " +
          format_number(mean[c]) + ", std" + ch + " = " + format_number(stdv[c]) + ": " + what +
          " (largest finite " + std::string(dtype_name(o)) + ": " + format_number(limit) + ")");
    }
    multiplier_[c] = static_cast<float>(a);
    offset_[c] = static_cast<float>(b);
  }
  int64_t bytes = checked_mul(spec.crop_h, spec.crop_w, "loader sample size");
  bytes = checked_mul(bytes, channels_, "loader sample size");
  bytes = checked_mul(bytes, static_cast<int64_t>(itemsize(o)), "loader sample size in bytes");
  sample_bytes_ = static_cast<size_t>(bytes);
  const int64_t row = checked_mul(spec.crop_w, channels_, "loader row size");
  multiplier_row_.resize(static_cast<size_t>(row));
  offset_row_.resize(static_cast<size_t>(row));
  for (int64_t i = 0; i < row; ++i) {
    multiplier_row_[i] = multiplier_[i % channels_];
    offset_row_[i] = offset_[i % channels_];
  }
}

void SampleTransform::apply(int64_t n, int64_t top, int64_t left, bool mirror, void* out) const {
  const auto& st = source_.strides();
  const int64_t C = channels_;
  const bool dense_pixels = st[3] == 1 && st[2] == C;
  const int dense_channels = dense_pixels && (C == 1 || C == 3 || C == 4) ? static_cast<int>(C) : 0;
  // Picked per call (a few switches): the public header then needs no kernel type.
  const detail::SampleKernel kernel =
      detail::pick_sample_kernel(source_.dtype(), spec_.dtype, dense_channels, spec_.layout);
  const auto* base = static_cast<const char*>(source_.data());
  const int64_t offset = n * st[0] + top * st[1] + left * st[2];
  detail::SampleKernelArgs k{};
  k.src = base + offset * static_cast<int64_t>(source_.itemsize());
  k.row_stride = st[1];
  k.pixel_stride = st[2];
  k.channel_stride = st[3];
  k.rows = spec_.crop_h;
  k.cols = spec_.crop_w;
  k.channels = C;
  k.mirror = mirror;
  k.out = out;
  k.multiplier = multiplier_.data();
  k.offset = offset_.data();
  k.multiplier_row = multiplier_row_.data();
  k.offset_row = offset_row_.data();
  kernel(k);
}

}  // namespace nocopy
