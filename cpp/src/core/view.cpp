// View construction, geometry queries and the copy-free operations.
#include "nocopy/core/view.hpp"

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <stdexcept>

#include "internal/checked_math.hpp"
#include "nocopy/core/errors.hpp"

namespace nocopy {

std::string format_tuple(std::span<const int64_t> values) {
  std::string s = "(";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(values[i]);
  }
  if (values.size() == 1) s += ",";
  return s + ")";
}

View::View()
    : data_(nullptr), dtype_(DType::UInt8), shape_{0}, strides_{1}, size_(0), readonly_(false) {}

View::View(void* data, DType dtype, std::vector<int64_t> shape, std::vector<int64_t> strides,
           OwnerPtr owner, bool readonly, Device device)
    : data_(data),
      dtype_(dtype),
      shape_(std::move(shape)),
      strides_(std::move(strides)),
      size_(1),
      readonly_(readonly),
      device_(device),
      owner_(std::move(owner)) {
  if (static_cast<int64_t>(shape_.size()) > kMaxDims) {
    throw std::invalid_argument("view has " + std::to_string(shape_.size()) +
                                " dimensions; the limit is " + std::to_string(kMaxDims));
  }
  if (shape_.size() != strides_.size()) {
    throw std::invalid_argument("shape " + format_tuple(shape_) + " and strides " +
                                format_tuple(strides_) + " have different lengths");
  }
  bool empty = false;
  for (int64_t n : shape_) {
    if (n < 0) throw std::invalid_argument("negative dimension in shape " + format_tuple(shape_));
    if (n == 0) empty = true;
  }
  // The one geometry check every view passes (import, DLPack, unpickling, every operation):
  // the size, every stride in bytes and the byte span the strides reach must fit in int64, so
  // negating a stride or scaling it to bytes can never wrap.
  const auto item = static_cast<int64_t>(itemsize());
  for (size_t i = 0; i < shape_.size(); ++i) size_ = checked_mul(size_, shape_[i], "view size");
  checked_mul(size_, item, "view size in bytes");
  for (size_t i = 0; i < strides_.size(); ++i) {
    const int64_t s = strides_[i];
    int64_t bytes = 0;
    if (s == std::numeric_limits<int64_t>::min() ||
        __builtin_mul_overflow(s < 0 ? -s : s, item, &bytes)) {
      throw std::overflow_error("stride " + std::to_string(s) + " (elements of " +
                                std::to_string(item) + " bytes) on axis " + std::to_string(i) +
                                " overflows int64 in bytes; strides are limited to magnitudes "
                                "below 2**63 bytes");
    }
  }
  if (!empty) {
    int64_t span = item;
    for (size_t i = 0; i < shape_.size(); ++i) {
      int64_t reach =
          checked_mul(shape_[i] - 1, strides_[i] < 0 ? -strides_[i] : strides_[i], "view extent");
      span = checked_add(span, checked_mul(reach, item, "view extent in bytes"), "view extent");
    }
  }
}

std::vector<int64_t> contiguous_strides(std::span<const int64_t> shape, bool fortran) {
  std::vector<int64_t> strides(shape.size());
  int64_t s = 1;
  for (size_t k = 0; k < shape.size(); ++k) {
    const size_t i = fortran ? k : shape.size() - 1 - k;
    strides[i] = s;
    s = checked_mul(s, std::max<int64_t>(shape[i], 1), "contiguous stride");
  }
  return strides;
}

View View::c_contiguous(void* data, DType dtype, std::vector<int64_t> shape, OwnerPtr owner,
                        bool readonly) {
  std::vector<int64_t> strides = contiguous_strides(shape);
  return View(data, dtype, std::move(shape), std::move(strides), std::move(owner), readonly);
}

View View::empty(DType dtype, std::vector<int64_t> shape) {
  int64_t bytes = static_cast<int64_t>(nocopy::itemsize(dtype));
  for (int64_t n : shape) {
    if (n < 0) throw std::invalid_argument("negative dimension in shape " + format_tuple(shape));
    bytes = checked_mul(bytes, n, "array size in bytes");
  }
  auto buffer = AlignedBuffer::allocate(static_cast<size_t>(bytes));
  void* p = buffer->data();
  return c_contiguous(p, dtype, std::move(shape), std::move(buffer));
}

bool View::is_c_contiguous() const {
  if (size_ == 0) return true;
  int64_t expected = 1;
  for (size_t i = shape_.size(); i-- > 0;) {
    if (shape_[i] == 1) continue;
    if (strides_[i] != expected) return false;
    expected *= shape_[i];
  }
  return true;
}

bool View::is_f_contiguous() const {
  if (size_ == 0) return true;
  int64_t expected = 1;
  for (size_t i = 0; i < shape_.size(); ++i) {
    if (shape_[i] == 1) continue;
    if (strides_[i] != expected) return false;
    expected *= shape_[i];
  }
  return true;
}

ByteRange View::byte_extent() const {
  if (size_ == 0) {
    auto p = reinterpret_cast<uintptr_t>(data_);
    return {p, p};
  }
  int64_t lo = 0, hi = 0;  // element offsets; bounded by the constructor's checks
  for (size_t i = 0; i < shape_.size(); ++i) {
    int64_t reach = (shape_[i] - 1) * strides_[i];
    (reach < 0 ? lo : hi) += reach;
  }
  const auto item = static_cast<int64_t>(itemsize());
  auto base = reinterpret_cast<uintptr_t>(data_);
  return {base + static_cast<uintptr_t>(lo * item), base + static_cast<uintptr_t>((hi + 1) * item)};
}

int64_t View::normalize_axis(int64_t axis) const {
  const int64_t n = ndim();
  if (axis < -n || axis >= n) {
    throw std::out_of_range("axis " + std::to_string(axis) + " is out of bounds for a view with " +
                            std::to_string(n) + " dimensions");
  }
  return axis < 0 ? axis + n : axis;
}

void View::require_host(const char* what) const {
  if (!device_.is_cpu()) {
    throw BufferError(std::string(what) + " needs host memory, but this view is on " +
                      device_.str() + "; move it to the CPU with its own framework first");
  }
}

void View::require_writable(const char* what) const {
  if (readonly_)
    throw BufferError(std::string(what) + " needs a writable view, but this view is read-only");
}

View View::index(std::span<const IndexItem> items) const {
  // Count the axes the index consumes, and find the ellipsis.
  int64_t consumed = 0;
  int64_t ellipsis_at = -1;
  int64_t new_axes = 0;
  for (size_t k = 0; k < items.size(); ++k) {
    switch (items[k].kind) {
      case IndexItem::Kind::Ellipsis:
        if (ellipsis_at >= 0) {
          throw std::out_of_range("an index can only have a single ellipsis ('...')");
        }
        ellipsis_at = static_cast<int64_t>(k);
        break;
      case IndexItem::Kind::NewAxis:
        ++new_axes;
        break;
      default:
        ++consumed;
    }
  }
  if (consumed > ndim()) {
    throw std::out_of_range("too many indices for view: view is " + std::to_string(ndim()) +
                            "-dimensional, but " + std::to_string(consumed) + " were indexed");
  }
  const int64_t result_ndim = ndim() - consumed + new_axes;  // upper bound before integers
  if (result_ndim > kMaxDims) {                              // an IndexError in NumPy too
    throw std::out_of_range("number of dimensions must be within [0, " + std::to_string(kMaxDims) +
                            "], indexing result would have " + std::to_string(result_ndim));
  }
  std::vector<int64_t> shape, strides;
  shape.reserve(static_cast<size_t>(result_ndim));
  strides.reserve(static_cast<size_t>(result_ndim));
  int64_t offset = 0;  // element offset; bounded by the view's extent
  int64_t axis = 0;
  auto take_full_axes = [&](int64_t count) {
    for (int64_t i = 0; i < count; ++i, ++axis) {
      shape.push_back(shape_[axis]);
      strides.push_back(strides_[axis]);
    }
  };
  for (const IndexItem& it : items) {
    switch (it.kind) {
      case IndexItem::Kind::Ellipsis:
        take_full_axes(ndim() - consumed);
        break;
      case IndexItem::Kind::NewAxis:
        shape.push_back(1);
        strides.push_back(0);
        break;
      case IndexItem::Kind::Integer: {
        const int64_t n = shape_[axis];
        int64_t i = it.start;
        if (i < -n || i >= n) {
          throw std::out_of_range("index " + std::to_string(i) + " is out of bounds for axis " +
                                  std::to_string(axis) + " with size " + std::to_string(n));
        }
        if (i < 0) i += n;
        offset += i * strides_[axis];
        ++axis;
        break;
      }
      case IndexItem::Kind::Slice: {
        SliceRange r = resolve_slice(it, shape_[axis]);
        offset += r.start * strides_[axis];
        shape.push_back(r.count);
        // A slice of at most one element keeps the axis's stride (any stride is valid there,
        // and step * stride may not fit); otherwise step * stride stays within the extent.
        int64_t stride = strides_[axis];
        if (r.count > 1) stride = checked_mul(r.step, strides_[axis], "slice stride");
        strides.push_back(stride);
        ++axis;
        break;
      }
    }
  }
  take_full_axes(ndim() - axis);
  auto* p = static_cast<char*>(data_) + offset * static_cast<int64_t>(itemsize());
  return View(p, dtype_, std::move(shape), std::move(strides), owner_, readonly_, device_);
}

View View::slice(int64_t axis, std::optional<int64_t> start, std::optional<int64_t> stop,
                 int64_t step) const {
  const int64_t a = normalize_axis(axis);
  std::vector<IndexItem> items(static_cast<size_t>(a),
                               IndexItem::slice(std::nullopt, std::nullopt));
  items.push_back(IndexItem::slice(start, stop, step));
  return index(items);
}

View View::permute(std::span<const int64_t> axes) const {
  if (static_cast<int64_t>(axes.size()) != ndim()) {
    throw std::invalid_argument("permute needs " + std::to_string(ndim()) + " axes, got " +
                                format_tuple(axes));
  }
  std::vector<int64_t> shape(axes.size()), strides(axes.size());
  std::vector<bool> seen(axes.size(), false);
  for (size_t i = 0; i < axes.size(); ++i) {
    const int64_t a = normalize_axis(axes[i]);
    if (seen[static_cast<size_t>(a)]) {
      throw std::invalid_argument("permute axes " + format_tuple(axes) + " repeat axis " +
                                  std::to_string(a));
    }
    seen[static_cast<size_t>(a)] = true;
    shape[i] = shape_[static_cast<size_t>(a)];
    strides[i] = strides_[static_cast<size_t>(a)];
  }
  return View(data_, dtype_, std::move(shape), std::move(strides), owner_, readonly_, device_);
}

View View::transpose() const {
  std::vector<int64_t> axes(shape_.size());
  for (size_t i = 0; i < axes.size(); ++i) axes[i] = static_cast<int64_t>(axes.size() - 1 - i);
  return permute(axes);
}

View View::flip(int64_t axis) const {
  const auto a = static_cast<size_t>(normalize_axis(axis));
  std::vector<int64_t> strides = strides_;
  char* p = static_cast<char*>(data_);
  if (shape_[a] > 0) p += (shape_[a] - 1) * strides_[a] * static_cast<int64_t>(itemsize());
  strides[a] = -strides[a];
  return View(p, dtype_, shape_, std::move(strides), owner_, readonly_, device_);
}

View View::reshape(std::span<const int64_t> requested) const {
  // Resolve a single -1 and check the element count.
  std::vector<int64_t> shape(requested.begin(), requested.end());
  int64_t unknown = -1;
  int64_t known = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      if (unknown >= 0) throw std::invalid_argument("reshape can only infer one dimension (-1)");
      unknown = static_cast<int64_t>(i);
    } else if (shape[i] < 0) {
      throw std::invalid_argument("negative dimension in reshape " + format_tuple(requested));
    } else {
      known = checked_mul(known, shape[i], "reshape size");
    }
  }
  if (unknown >= 0) {
    if (known == 0 || size_ % known != 0) {
      throw std::invalid_argument("cannot reshape view of size " + std::to_string(size_) +
                                  " into shape " + format_tuple(requested));
    }
    shape[static_cast<size_t>(unknown)] = size_ / known;
    known = size_;
  }
  if (known != size_) {
    throw std::invalid_argument("cannot reshape view of size " + std::to_string(size_) +
                                " into shape " + format_tuple(requested));
  }
  const size_t nd = shape.size();
  if (size_ == 0 || is_c_contiguous()) {
    std::vector<int64_t> strides = contiguous_strides(shape);
    return View(data_, dtype_, std::move(shape), std::move(strides), owner_, readonly_, device_);
  }
  std::vector<int64_t> strides(nd, 0);
  // General case: group old and new axes into blocks of equal element count; each block of old
  // axes must be contiguous among itself (ignoring length-1 axes).
  std::vector<int64_t> old_dims, old_strides;
  for (size_t i = 0; i < shape_.size(); ++i) {
    if (shape_[i] != 1) {
      old_dims.push_back(shape_[i]);
      old_strides.push_back(strides_[i]);
    }
  }
  const size_t old_nd = old_dims.size();
  size_t oi = 0, oj = 1, ni = 0, nj = 1;
  while (ni < nd && oi < old_nd) {
    int64_t np = shape[ni];
    int64_t op = old_dims[oi];
    while (np != op) {
      if (np < op) {
        np *= shape[nj++];
      } else {
        op *= old_dims[oj++];
      }
    }
    for (size_t ok = oi; ok + 1 < oj; ++ok) {
      if (old_strides[ok] != old_dims[ok + 1] * old_strides[ok + 1]) {
        throw std::invalid_argument("cannot reshape view of shape " + format_tuple(shape_) +
                                    " and strides " + format_tuple(strides_) + " into " +
                                    format_tuple(shape) +
                                    " without a copy; use ascontiguous() or copy() first");
      }
    }
    strides[nj - 1] = old_strides[oj - 1];
    for (size_t nk = nj - 1; nk > ni; --nk) strides[nk - 1] = strides[nk] * shape[nk];
    ni = nj++;
    oi = oj++;
  }
  // Trailing new axes have length 1; any stride works, NumPy uses the last block's.
  const int64_t last = ni > 0 ? strides[ni - 1] : 1;
  for (size_t k = ni; k < nd; ++k) strides[k] = last;
  return View(data_, dtype_, std::move(shape), std::move(strides), owner_, readonly_, device_);
}

View View::crop(int64_t top, int64_t left, int64_t height, int64_t width,
                std::pair<int64_t, int64_t> axes) const {
  const int64_t ay = normalize_axis(axes.first);
  const int64_t ax = normalize_axis(axes.second);
  if (ay == ax) {
    throw std::invalid_argument("crop axes must differ, got (" + std::to_string(axes.first) + ", " +
                                std::to_string(axes.second) + ")");
  }
  const int64_t h = shape_[static_cast<size_t>(ay)];
  const int64_t w = shape_[static_cast<size_t>(ax)];
  const std::string where = " on axes (" + std::to_string(ay) + ", " + std::to_string(ax) + ")";
  if (height < 0 || width < 0) {
    throw std::invalid_argument("crop size (" + std::to_string(height) + ", " +
                                std::to_string(width) + ") is negative" + where);
  }
  if (height > h || width > w) {
    throw std::invalid_argument("crop (" + std::to_string(height) + ", " + std::to_string(width) +
                                ") is larger than image (" + std::to_string(h) + ", " +
                                std::to_string(w) + ")" + where);
  }
  if (top < 0 || left < 0 || top > h - height || left > w - width) {
    throw std::out_of_range(
        "crop window at (top=" + std::to_string(top) + ", left=" + std::to_string(left) +
        ") of size (" + std::to_string(height) + ", " + std::to_string(width) +
        ") does not fit in image (" + std::to_string(h) + ", " + std::to_string(w) + ")" + where +
        "; top must be in [0, " + std::to_string(h - height) + "] and left in [0, " +
        std::to_string(w - width) + "]");
  }
  std::vector<int64_t> shape = shape_;
  shape[static_cast<size_t>(ay)] = height;
  shape[static_cast<size_t>(ax)] = width;
  const int64_t offset =
      top * strides_[static_cast<size_t>(ay)] + left * strides_[static_cast<size_t>(ax)];
  char* p = static_cast<char*>(data_);
  if (height > 0 && width > 0) p += offset * static_cast<int64_t>(itemsize());
  return View(p, dtype_, std::move(shape), strides_, owner_, readonly_, device_);
}

View View::center_crop(int64_t height, int64_t width, std::pair<int64_t, int64_t> axes) const {
  const int64_t ay = normalize_axis(axes.first);
  const int64_t ax = normalize_axis(axes.second);
  const int64_t h = shape_[static_cast<size_t>(ay)];
  const int64_t w = shape_[static_cast<size_t>(ax)];
  if (height > h || width > w || height < 0 || width < 0) return crop(0, 0, height, width, axes);
  return crop((h - height) / 2, (w - width) / 2, height, width, axes);
}

View View::as_readonly() const {
  View v = *this;
  v.readonly_ = true;
  return v;
}

View View::reinterpret(DType dtype) const {
  if (nocopy::itemsize(dtype) != itemsize()) {
    throw std::invalid_argument("cannot reinterpret " + std::string(dtype_name(dtype_)) + " as " +
                                std::string(dtype_name(dtype)) + ": item sizes differ");
  }
  View v = *this;
  v.dtype_ = dtype;
  return v;
}

std::string View::describe() const {
  return "View(shape=" + format_tuple(shape_) + ", dtype=" + std::string(dtype_name(dtype_)) +
         ", strides=" + format_tuple(strides_) + (readonly_ ? ", readonly" : "") + ")";
}

}  // namespace nocopy
