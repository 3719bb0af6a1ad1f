// MixUp, CutMix and soft labels on a finished batch, in place. Both image kernels walk the batch
// in pieces of at most kPieceBytes: the piece of the last sample is saved on the stack, then
// every sample's piece is rewritten from its predecessor's, last to first, so each sample reads
// the original values of the one before it, and sample 0 the saved piece.
#include "nocopy/pipeline/kernels/batch_mix.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "internal/checked_math.hpp"
#include "internal/element.hpp"
#include "internal/multiversion.hpp"
#include "nocopy/core/dtype_visit.hpp"

namespace nocopy {

namespace {

/// Bytes of one piece (the stack buffer holding the last sample's piece).
constexpr size_t kPieceBytes = 16384;

/// The dtypes MixUp mixes.
using MixDTypes = DTypeSet<DType::Float32, DType::Float16, DType::BFloat16, DType::UInt8>;

/// std::invalid_argument unless lam is in [0, 1] (NaN refused).
void check_lam(double lam, const char* what) {
  if (!(lam >= 0.0 && lam <= 1.0)) {
    throw std::invalid_argument(std::string(what) + ": lam must be in [0, 1], got " +
                                std::to_string(lam));
  }
}

/// x[e] = round(round(prev[e] * keep_prev) + round(x[e] * keep_own)) for e < len, each rounding
/// to T (float32 arithmetic; separate statements, and the clones enable no FMA, so nothing is
/// contracted).
template <class T>
NOCOPY_MULTIVERSION void mix_piece(T* x, const T* prev, int64_t len, float keep_own,
                                   float keep_prev) {
  for (int64_t e = 0; e < len; ++e) {
    float from_prev = load_as_float(prev + e) * keep_prev;
    float from_own = load_as_float(x + e) * keep_own;
    if constexpr (!std::is_same_v<T, uint8_t>) {  // torchvision stores each product as T
      T p, q;
      store_from_float(&p, from_prev);
      store_from_float(&q, from_own);
      from_prev = load_as_float(&p);
      from_own = load_as_float(&q);
    }
    store_from_float(x + e, from_prev + from_own);
  }
}

/// mixup_images for element type T.
template <class T>
void mixup_typed(T* batch, int64_t n, int64_t sample_elems, double lam) {
  constexpr int64_t kPiece = static_cast<int64_t>(kPieceBytes / sizeof(T));
  T saved[kPiece];
  const auto keep_own = static_cast<float>(lam);
  const auto keep_prev = static_cast<float>(1.0 - lam);
  for (int64_t begin = 0; begin < sample_elems; begin += kPiece) {
    const int64_t len = std::min(kPiece, sample_elems - begin);
    std::memcpy(saved, batch + (n - 1) * sample_elems + begin,
                static_cast<size_t>(len) * sizeof(T));
    for (int64_t i = n - 1; i >= 1; --i) {
      T* own = batch + i * sample_elems + begin;
      mix_piece(own, own - sample_elems, len, keep_own, keep_prev);
    }
    mix_piece(batch + begin, saved, len, keep_own, keep_prev);
  }
}

/// Moves the `bytes` bytes at `offset` of every sample (sample i at base + i * stride) to the
/// next sample, the last one's to sample 0.
void rotate_span(std::byte* base, int64_t stride, int64_t n, int64_t offset, size_t bytes) {
  std::byte saved[kPieceBytes];
  for (size_t done = 0; done < bytes; done += kPieceBytes) {
    const size_t len = std::min(kPieceBytes, bytes - done);
    std::byte* first = base + offset + static_cast<int64_t>(done);
    std::memcpy(saved, first + (n - 1) * stride, len);
    for (int64_t i = n - 1; i >= 1; --i) {
      std::memcpy(first + i * stride, first + (i - 1) * stride, len);
    }
    std::memcpy(first, saved, len);
  }
}

}  // namespace

bool is_mixup_dtype(DType t) {
  return MixDTypes::contains(t);
}

void mixup_images(void* batch, DType dtype, int64_t n, int64_t sample_elems, double lam) {
  check_lam(lam, "mixup_images");
  if (n < 0 || sample_elems < 0) {
    throw std::invalid_argument("mixup_images: negative batch size or sample size");
  }
  checked_mul(n, sample_elems, "mixup_images batch elements");
  visit_dtype<MixDTypes>(dtype, "mixup_images", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (n > 0 && sample_elems > 0) mixup_typed(static_cast<T*>(batch), n, sample_elems, lam);
  });
}

CutMixBox cutmix_box(int64_t height, int64_t width, double lam, int64_t center_x,
                     int64_t center_y) {
  check_lam(lam, "cutmix_box");
  if (height < 1 || width < 1) throw std::invalid_argument("cutmix_box: empty image");
  checked_mul(height, width, "cutmix_box image area");
  if (center_x < 0 || center_x >= width || center_y < 0 || center_y >= height) {
    throw std::invalid_argument("cutmix_box: centre (" + std::to_string(center_x) + ", " +
                                std::to_string(center_y) + ") outside the " +
                                std::to_string(width) + "x" + std::to_string(height) + " image");
  }
  const double r = 0.5 * std::sqrt(1.0 - lam);
  const auto half_w = static_cast<int64_t>(r * static_cast<double>(width));  // truncation
  const auto half_h = static_cast<int64_t>(r * static_cast<double>(height));
  CutMixBox box;
  box.x1 = std::max<int64_t>(center_x - half_w, 0);
  box.y1 = std::max<int64_t>(center_y - half_h, 0);
  box.x2 = std::min(center_x + half_w, width);
  box.y2 = std::min(center_y + half_h, height);
  // Both integers are below 2^53: converted exactly, then divided with one rounding (like
  // Python's int / int).
  const auto area = static_cast<double>((box.x2 - box.x1) * (box.y2 - box.y1));
  box.lam = 1.0 - area / static_cast<double>(width * height);
  return box;
}

void cutmix_images(void* batch, size_t itemsize, int64_t n, int64_t channels, int64_t height,
                   int64_t width, Layout layout, const CutMixBox& box) {
  if (n < 0 || channels < 1 || height < 1 || width < 1 || itemsize == 0) {
    throw std::invalid_argument("cutmix_images: empty or negative batch geometry");
  }
  if (box.y1 < 0 || box.y1 > box.y2 || box.y2 > height || box.x1 < 0 || box.x1 > box.x2 ||
      box.x2 > width) {
    throw std::invalid_argument("cutmix_images: box rows [" + std::to_string(box.y1) + ", " +
                                std::to_string(box.y2) + ") columns [" + std::to_string(box.x1) +
                                ", " + std::to_string(box.x2) + ") outside the " +
                                std::to_string(height) + "x" + std::to_string(width) + " image");
  }
  const auto item = static_cast<int64_t>(itemsize);
  const int64_t plane = checked_mul(height, width, "cutmix_images plane");
  const int64_t stride = checked_mul(checked_mul(plane, channels, "cutmix_images sample"), item,
                                     "cutmix_images sample bytes");
  checked_mul(stride, n, "cutmix_images batch bytes");
  if (n < 2 || box.y1 == box.y2 || box.x1 == box.x2) return;  // nothing moves
  auto* base = static_cast<std::byte*>(batch);
  const int64_t cols = box.x2 - box.x1;
  if (layout == Layout::HWC) {
    for (int64_t y = box.y1; y < box.y2; ++y) {
      rotate_span(base, stride, n, (y * width + box.x1) * channels * item,
                  static_cast<size_t>(cols * channels * item));
    }
    return;
  }
  for (int64_t c = 0; c < channels; ++c) {
    for (int64_t y = box.y1; y < box.y2; ++y) {
      rotate_span(base, stride, n, (c * plane + y * width + box.x1) * item,
                  static_cast<size_t>(cols * item));
    }
  }
}

void mix_labels(const int64_t* labels, int64_t n, int64_t num_classes, double lam,
                float* soft_out) {
  check_lam(lam, "mix_labels");
  if (num_classes < 1) {
    throw std::invalid_argument("mix_labels: num_classes must be >= 1, got " +
                                std::to_string(num_classes));
  }
  if (n < 0) throw std::invalid_argument("mix_labels: negative batch size");
  checked_mul(n, num_classes, "mix_labels output");
  for (int64_t i = 0; i < n; ++i) {
    if (labels[i] < 0 || labels[i] >= num_classes) {
      throw std::invalid_argument("mix_labels: label " + std::to_string(labels[i]) +
                                  " at position " + std::to_string(i) + " is outside [0, " +
                                  std::to_string(num_classes) + ")");
    }
  }
  const auto keep_own = static_cast<float>(lam);
  const auto keep_prev = static_cast<float>(1.0 - lam);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t own = labels[i];
    const int64_t prev = labels[i == 0 ? n - 1 : i - 1];
    float* row = soft_out + i * num_classes;
    std::fill(row, row + num_classes, 0.0f);
    // torchvision: onehot(prev) * (1 - lam) + onehot(own) * lam, in float32.
    row[prev] = keep_prev;
    row[own] = (own == prev ? keep_prev : 0.0f) + keep_own;
  }
}

}  // namespace nocopy
