// gather_label: an odometer over the label's own axes.
#include "nocopy/pipeline/kernels/label_gather.hpp"

#include <cstring>
#include <vector>

namespace nocopy {

void gather_label(const View& l, std::span<const int64_t> label_shape, int64_t sample, char* dst) {
  const auto item = static_cast<int64_t>(l.itemsize());
  const char* base = static_cast<const char*>(l.data()) + sample * l.strides()[0] * item;
  const size_t nd = label_shape.size();
  int64_t total = 1;
  for (int64_t d : label_shape) total *= d;
  if (nd == 0) {
    std::memcpy(dst, base, static_cast<size_t>(item));
    return;
  }
  std::vector<int64_t> idx(nd, 0);
  for (int64_t e = 0; e < total; ++e) {
    int64_t off = 0;
    for (size_t i = 0; i < nd; ++i) off += idx[i] * l.strides()[i + 1];
    std::memcpy(dst + e * item, base + off * item, static_cast<size_t>(item));
    for (size_t i = nd; i-- > 0;) {  // odometer over the label's own axes
      if (++idx[i] < label_shape[i]) break;
      idx[i] = 0;
    }
  }
}

}  // namespace nocopy
