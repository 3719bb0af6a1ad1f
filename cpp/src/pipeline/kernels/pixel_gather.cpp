// Index-table gather and rectangle fill of the transforms.
#include "nocopy/pipeline/kernels/pixel_gather.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "internal/element.hpp"
#include "nocopy/core/dtype_visit.hpp"

namespace nocopy {

namespace {

using SampleOutputs = DTypeSet<DType::Float32, DType::Float16, DType::BFloat16, DType::UInt8>;

}  // namespace

void gather_pixels(const uint8_t* src, int64_t src_w, int64_t channels, int64_t row0, int64_t col0,
                   std::span<const int64_t> rows, std::span<const int64_t> cols,
                   std::span<const double> fill, uint8_t* out) {
  const auto c = static_cast<size_t>(channels);
  std::vector<uint8_t> fills(fill.size());
  for (size_t k = 0; k < fill.size(); ++k) {
    fills[k] = static_cast<uint8_t>(std::clamp(std::nearbyint(fill[k]), 0.0, 255.0));
  }
  auto fill_of = [&](int64_t r, int64_t col) {
    const int64_t k = std::max(r < 0 ? -1 - r : -1, col < 0 ? -1 - col : -1);
    return fills.data() + static_cast<size_t>(k) * c;
  };
  // Runs of consecutive columns copy as one block.
  for (size_t y = 0; y < rows.size(); ++y) {
    uint8_t* dst = out + y * cols.size() * c;
    if (rows[y] < 0) {
      for (size_t x = 0; x < cols.size(); ++x)
        std::memcpy(dst + x * c, fill_of(rows[y], cols[x]), c);
      continue;
    }
    const uint8_t* row = src + (rows[y] - row0) * src_w * channels;
    size_t x = 0;
    while (x < cols.size()) {
      if (cols[x] < 0) {
        std::memcpy(dst + x * c, fill_of(rows[y], cols[x]), c);
        ++x;
        continue;
      }
      size_t run = 1;
      while (x + run < cols.size() && cols[x + run] == cols[x] + static_cast<int64_t>(run)) ++run;
      std::memcpy(dst + x * c, row + (cols[x] - col0) * channels, run * c);
      x += run;
    }
  }
}

void fill_rectangle(void* sample, DType dtype, bool channels_first, int64_t height, int64_t width,
                    int64_t channels, int64_t top, int64_t left, int64_t h, int64_t w,
                    std::span<const double> value) {
  visit_dtype<SampleOutputs>(dtype, "fill_rectangle", [&]<class T>(dtype_tag<T>) {
    T* base = static_cast<T*>(sample);
    for (int64_t c = 0; c < channels; ++c) {
      T v;
      store_from_float(&v,
                       static_cast<float>(value[value.size() == 1 ? 0 : static_cast<size_t>(c)]));
      for (int64_t y = top; y < top + h; ++y) {
        for (int64_t x = left; x < left + w; ++x) {
          const int64_t at =
              channels_first ? (c * height + y) * width + x : (y * width + x) * channels + c;
          base[at] = v;
        }
      }
    }
  });
}

void fill_rectangle_values(void* sample, DType dtype, bool channels_first, int64_t height,
                           int64_t width, int64_t channels, int64_t top, int64_t left, int64_t h,
                           int64_t w, const float* values) {
  visit_dtype<SampleOutputs>(dtype, "fill_rectangle_values", [&]<class T>(dtype_tag<T>) {
    T* base = static_cast<T*>(sample);
    for (int64_t c = 0; c < channels; ++c) {
      for (int64_t y = 0; y < h; ++y) {
        for (int64_t x = 0; x < w; ++x) {
          const int64_t at = channels_first ? (c * height + top + y) * width + left + x
                                            : ((top + y) * width + left + x) * channels + c;
          store_from_float(base + at, values[(c * h + y) * w + x]);
        }
      }
    }
  });
}

}  // namespace nocopy
