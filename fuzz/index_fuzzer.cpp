// libFuzzer target: random shapes and index tuples through View::index, permute, flip and
// reshape. Invariants: no crash or UB, only the documented exceptions, and every resulting
// non-empty view stays inside the bytes of the view it came from.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "nocopy/core/errors.hpp"
#include "nocopy/core/view.hpp"

namespace {

// Reads bytes from the fuzzer input, returning 0 once it is exhausted.
struct Reader {
  const uint8_t* data;
  size_t size;
  uint8_t byte() { return size ? (--size, *data++) : 0; }
  int64_t wide() {
    int64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | byte();
    return v;
  }
  // Mostly small values, sometimes extreme ones.
  int64_t bound() {
    const uint8_t kind = byte();
    if (kind < 200) return static_cast<int64_t>(byte() % 24) - 12;
    return wide();
  }
};

void check_inside(const nocopy::View& child, const nocopy::View& parent) {
  if (child.size() == 0) return;
  const nocopy::ByteRange c = child.byte_extent(), p = parent.byte_extent();
  if (c.begin < p.begin || c.end > p.end) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Reader in{data, size};
  const int ndim = in.byte() % 7;
  std::vector<int64_t> shape;
  for (int i = 0; i < ndim; ++i) shape.push_back(in.byte() % 8);
  const nocopy::View base = nocopy::View::empty(nocopy::DType::Int16, shape);
  nocopy::View v = base;
  try {
    const int n_items = in.byte() % 10;
    std::vector<nocopy::IndexItem> items;
    for (int i = 0; i < n_items; ++i) {
      switch (in.byte() % 4) {
        case 0:
          items.push_back(nocopy::IndexItem::integer(in.bound()));
          break;
        case 1:
          items.push_back(nocopy::IndexItem::ellipsis());
          break;
        case 2:
          items.push_back(nocopy::IndexItem::new_axis());
          break;
        default: {
          const uint8_t flags = in.byte();
          std::optional<int64_t> start, stop;
          if (flags & 1) start = in.bound();
          if (flags & 2) stop = in.bound();
          int64_t step = (flags & 4) ? in.bound() : 1;
          items.push_back(nocopy::IndexItem::slice(start, stop, step));
        }
      }
    }
    v = v.index(items);
    check_inside(v, base);
    if (v.ndim() > 0) {
      nocopy::View f = v.flip(static_cast<int64_t>(in.byte()) % v.ndim());
      check_inside(f, base);
      std::vector<int64_t> axes;
      for (int64_t i = v.ndim(); i-- > 0;) axes.push_back(i);
      check_inside(v.permute(axes), base);
      std::vector<int64_t> new_shape = {-1};
      if (in.byte() & 1) new_shape = {in.bound(), -1};
      check_inside(v.reshape(new_shape), base);
    }
  } catch (const std::invalid_argument&) {
  } catch (const std::out_of_range&) {
  } catch (const std::overflow_error&) {
  } catch (const nocopy::BufferError&) {
  }
  return 0;
}
