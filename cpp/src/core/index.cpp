// Index items and Python/NumPy slice resolution.
#include "nocopy/core/index.hpp"

#include <stdexcept>

namespace nocopy {

IndexItem IndexItem::integer(int64_t i) {
  IndexItem it;
  it.kind = Kind::Integer;
  it.start = i;
  return it;
}

IndexItem IndexItem::slice(std::optional<int64_t> start, std::optional<int64_t> stop,
                           int64_t step) {
  if (step == 0) throw std::invalid_argument("slice step cannot be zero");
  IndexItem it;
  it.kind = Kind::Slice;
  it.has_start = start.has_value();
  it.start = start.value_or(0);
  it.has_stop = stop.has_value();
  it.stop = stop.value_or(0);
  it.step = step;
  return it;
}

IndexItem IndexItem::ellipsis() {
  IndexItem it;
  it.kind = Kind::Ellipsis;
  return it;
}

IndexItem IndexItem::new_axis() {
  IndexItem it;
  it.kind = Kind::NewAxis;
  return it;
}

SliceRange resolve_slice(const IndexItem& item, int64_t length) {
  const int64_t step = item.step;
  if (step == 0) throw std::invalid_argument("slice step cannot be zero");
  // Steps of INT64_MIN cannot be negated; Python clamps them the same way.
  const int64_t safe_step = step < -INT64_MAX ? -INT64_MAX : step;
  int64_t start, stop;
  if (safe_step > 0) {
    start = item.has_start ? item.start : 0;
    stop = item.has_stop ? item.stop : length;
    if (start < 0) start = start < -length ? 0 : start + length;
    if (start > length) start = length;
    if (stop < 0) stop = stop < -length ? 0 : stop + length;
    if (stop > length) stop = length;
    const int64_t count = stop > start ? (stop - start - 1) / safe_step + 1 : 0;
    return {count > 0 ? start : 0, safe_step, count};
  }
  start = item.has_start ? item.start : length - 1;
  stop = item.has_stop ? item.stop : -1;
  const bool default_stop = !item.has_stop;
  if (start < 0) start = start < -length ? -1 : start + length;
  if (start >= length) start = length - 1;
  if (!default_stop) {
    if (stop < 0) stop = stop < -length ? -1 : stop + length;
    if (stop >= length) stop = length - 1;
  }
  // stop - start cannot overflow: both lie in [-1, length - 1].
  const int64_t count = start > stop ? (start - stop - 1) / (-safe_step) + 1 : 0;
  return {count > 0 ? start : 0, safe_step, count};
}

}  // namespace nocopy
