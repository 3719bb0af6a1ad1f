// ImageSet: index validation (every shape and offset checked against the pixel array with
// overflow-checked arithmetic), the folder reader over open_npy, and the in-memory builder.
#include "nocopy/storage/image_set.hpp"

#include <sys/stat.h>

#include <stdexcept>
#include <string>
#include <utility>

#include "image_set_index.hpp"
#include "internal/checked_math.hpp"
#include "nocopy/core/copy.hpp"
#include "nocopy/storage/npy_file.hpp"

namespace nocopy {

namespace image_set_index {

[[noreturn]] void fail(const std::string& where, const std::string& msg) {
  throw std::invalid_argument(where + ": " + msg);
}

std::vector<int64_t> index_values(const View& v, std::span<const int64_t> want,
                                  const std::string& where) {
  if (v.dtype() != DType::Int64) {
    fail(where, "dtype is " + std::string(dtype_name(v.dtype())) + "; an ImageSet index is int64");
  }
  if (!std::equal(v.shape().begin(), v.shape().end(), want.begin(), want.end())) {
    fail(where, "shape is " + format_tuple(v.shape()) + "; expected " + format_tuple(want));
  }
  v.require_host("an ImageSet index");
  View dense = v.is_c_contiguous() ? v : copy_new(v);
  const auto* p = dense.data_as<const int64_t>();
  return std::vector<int64_t>(p, p + dense.size());
}

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace image_set_index

namespace {

using image_set_index::fail;
using image_set_index::file_exists;
using image_set_index::index_values;

std::string sample_shape(int64_t h, int64_t w, int64_t c) {
  const int64_t shape[] = {h, w, c};
  return format_tuple(shape);
}

/// r = a * b; false when the product overflows int64.
bool mul_ok(int64_t a, int64_t b, int64_t& r) {
  return !__builtin_mul_overflow(a, b, &r);
}

}  // namespace

bool is_image_set_dtype(DType t) {
  return t == DType::UInt8 || t == DType::UInt16 || t == DType::Float32;
}

void validate_image_index(std::span<const int64_t> shapes, std::span<const int64_t> offsets,
                          int64_t pixel_count, int64_t item_size, const std::string& shapes_name,
                          const std::string& offsets_name) {
  const std::string& where = offsets_name;
  if (shapes.size() != 3 * offsets.size()) {
    fail(where, std::to_string(shapes.size() / 3) + " shapes but " +
                    std::to_string(offsets.size()) + " offsets");
  }
  if (pixel_count < 0 || item_size < 1) {
    fail(where, "pixel array of " + std::to_string(pixel_count) + " elements of " +
                    std::to_string(item_size) + " bytes");
  }
  const int64_t n = static_cast<int64_t>(offsets.size());
  for (int64_t i = 0; i < n; ++i) {
    const int64_t h = shapes[3 * i], w = shapes[3 * i + 1], c = shapes[3 * i + 2];
    const int64_t off = offsets[i];
    const std::string sample = "sample " + std::to_string(i) + " ";
    if (h < 1 || w < 1 || c < 1) {
      fail(shapes_name,
           sample + "has shape " + sample_shape(h, w, c) + "; every side must be >= 1");
    }
    if (c != shapes[2]) {
      fail(shapes_name, sample + "has " + std::to_string(c) + " channels but sample 0 has " +
                            std::to_string(shapes[2]) + "; every image needs the same channels");
    }
    int64_t off_bytes = 0;
    if (off < 0 || !mul_ok(off, item_size, off_bytes)) {
      fail(where, sample + "has offset " + std::to_string(off) + " outside the pixel array of " +
                      std::to_string(pixel_count) + " elements");
    }
    if (off_bytes % kImageSetAlignment != 0) {
      fail(where, sample + "starts at byte " + std::to_string(off_bytes) +
                      ", which is not 64-byte aligned");
    }
    int64_t hw = 0, count = 0, end = 0;
    if (!mul_ok(h, w, hw) || !mul_ok(hw, c, count) || __builtin_add_overflow(off, count, &end) ||
        end > pixel_count) {
      fail(where, sample + "of shape " + sample_shape(h, w, c) + " at offset " +
                      std::to_string(off) + " runs past the end of the pixel array (" +
                      std::to_string(pixel_count) + " elements)");
    }
  }
}

std::vector<int64_t> pack_image_offsets(std::span<const int64_t> shapes, int64_t item_size,
                                        int64_t& total) {
  const int64_t align = kImageSetAlignment / item_size;  // item sizes 1, 2 and 4 divide 64
  std::vector<int64_t> offsets(shapes.size() / 3);
  int64_t at = 0;
  for (size_t i = 0; i < offsets.size(); ++i) {
    offsets[i] = at;
    int64_t count = checked_mul(checked_mul(shapes[3 * i], shapes[3 * i + 1], "image size"),
                                shapes[3 * i + 2], "image size");
    at = checked_add(at, count, "pixel array size");
    at = checked_add(at, align - 1, "pixel array size") / align * align;
  }
  total = at;
  return offsets;
}

ImageSet ImageSet::from_index(View pixels, const View& shapes, const View& offsets,
                              const std::optional<View>& labels, const std::string& where) {
  return build(
      std::move(pixels), shapes, offsets, labels,
      {where, where + " pixels", where + " shapes", where + " offsets", where + " labels"});
}

ImageSet ImageSet::build(View pixels, const View& shapes, const View& offsets,
                         const std::optional<View>& labels, const Names& names) {
  if (pixels.ndim() != 1 || !pixels.is_c_contiguous()) {
    fail(names.pixels, "must be a contiguous 1-d array, got " + pixels.describe());
  }
  pixels.require_host("ImageSet pixels");
  if (!is_image_set_dtype(pixels.dtype())) {
    fail(names.pixels, "dtype " + std::string(dtype_name(pixels.dtype())) +
                           " is not supported (uint8, uint16 or float32)");
  }
  if (reinterpret_cast<uintptr_t>(pixels.data()) % kImageSetAlignment != 0) {
    fail(names.pixels, "the pixel data does not start 64-byte aligned");
  }
  if (offsets.ndim() != 1) {
    fail(names.offsets, "shape is " + format_tuple(offsets.shape()) + "; expected (N,)");
  }
  const int64_t n = offsets.shape()[0];
  if (n < 1) fail(names.offsets, "the set has no images");
  ImageSet s;
  const int64_t shape3[] = {n, 3};
  const int64_t shape1[] = {n};
  s.shapes_ = index_values(shapes, shape3, names.shapes);
  s.offsets_ = index_values(offsets, shape1, names.offsets);
  if (labels) {
    s.labels_ = index_values(*labels, shape1, names.labels);
    s.has_labels_ = true;
  }
  validate_image_index(s.shapes_, s.offsets_, pixels.size(),
                       static_cast<int64_t>(pixels.itemsize()), names.shapes, names.offsets);
  s.channels_ = s.shapes_[2];
  s.pixels_ = pixels.as_readonly();
  s.where_ = names.where;
  return s;
}

ImageSet ImageSet::open(const std::string& folder) {
  const Names names{folder, folder + "/pixels.npy", folder + "/shapes.npy", folder + "/offsets.npy",
                    folder + "/labels.npy"};
  View pixels = open_npy(names.pixels);
  View shapes = open_npy(names.shapes);
  View offsets = open_npy(names.offsets);
  std::optional<View> labels;
  if (file_exists(names.labels)) labels = open_npy(names.labels);
  return build(std::move(pixels), shapes, offsets, labels, names);
}

ImageSet ImageSet::copy_of(std::span<const View> images, const std::optional<View>& labels) {
  const std::string where = "ImageSet.from_arrays";
  if (images.empty()) fail(where, "the set has no images");
  std::vector<int64_t> shapes;
  shapes.reserve(3 * images.size());
  const DType dtype = images[0].dtype();
  for (size_t i = 0; i < images.size(); ++i) {
    const View& v = images[i];
    if (v.ndim() != 3) {
      fail(where, "image " + std::to_string(i) + " has shape " + format_tuple(v.shape()) +
                      "; images are (H, W, C)");
    }
    if (v.dtype() != dtype) {
      fail(where, "image " + std::to_string(i) + " is " + std::string(dtype_name(v.dtype())) +
                      " but image 0 is " + std::string(dtype_name(dtype)));
    }
    shapes.insert(shapes.end(), v.shape().begin(), v.shape().end());
  }
  if (!is_image_set_dtype(dtype)) {
    fail(where, "pixel dtype " + std::string(dtype_name(dtype)) +
                    " is not supported (uint8, uint16 or float32)");
  }
  const auto item = static_cast<int64_t>(itemsize(dtype));
  // The shapes alone (each image at offset 0 of an unbounded array): sides, channels, size.
  validate_image_index(shapes, std::vector<int64_t>(images.size(), 0), INT64_MAX / item, item,
                       where, where);
  int64_t total = 0;
  std::vector<int64_t> offsets = pack_image_offsets(shapes, item, total);
  View pixels = View::empty(dtype, {total});
  auto* base = static_cast<uint8_t*>(pixels.data());
  for (size_t i = 0; i < images.size(); ++i) {
    std::vector<int64_t> shp(shapes.begin() + 3 * i, shapes.begin() + 3 * i + 3);
    View dst = View::c_contiguous(base + offsets[i] * item, dtype, std::move(shp), nullptr);
    copy(images[i], dst, 1);
  }
  const auto n = static_cast<int64_t>(images.size());
  View shapes_view = View::c_contiguous(shapes.data(), DType::Int64, {n, 3}, nullptr, true);
  View offsets_view = View::c_contiguous(offsets.data(), DType::Int64, {n}, nullptr, true);
  return from_index(std::move(pixels), shapes_view, offsets_view, labels, where);
}

View ImageSet::image(int64_t i) const {
  const int64_t n = size();
  if (i < -n || i >= n) {
    throw std::out_of_range("image index " + std::to_string(i) + " is out of range for an " +
                            "ImageSet of " + std::to_string(n) + " images");
  }
  if (i < 0) i += n;
  const auto k = static_cast<size_t>(i);
  const int64_t h = shapes_[3 * k], w = shapes_[3 * k + 1], c = shapes_[3 * k + 2];
  auto* p = static_cast<uint8_t*>(pixels_.data()) +
            offsets_[k] * static_cast<int64_t>(pixels_.itemsize());
  return View(p, pixels_.dtype(), {h, w, c}, {w * c, c, 1}, pixels_.owner(), pixels_.readonly(),
              pixels_.device());
}

}  // namespace nocopy
