// ImageSet index checks (see image_set_index.hpp): in-place reads of the index arrays and the
// raw and JPEG validation, every size overflow-checked.
#include "image_set_index.hpp"

#include <sys/stat.h>

#include <stdexcept>
#include <string>

#include "nocopy/storage/image_set.hpp"

namespace nocopy::image_set_index {
namespace {

std::string sample_shape(int64_t h, int64_t w, int64_t c) {
  const int64_t shape[] = {h, w, c};
  return format_tuple(shape);
}

/// r = a * b; false when the product overflows int64.
bool mul_ok(int64_t a, int64_t b, int64_t& r) {
  return !__builtin_mul_overflow(a, b, &r);
}

std::string sample(int64_t i) {
  return "sample " + std::to_string(i) + " ";
}

}  // namespace

void fail(const std::string& where, const std::string& msg) {
  throw std::invalid_argument(where + ": " + msg);
}

IndexArray index_array(const View& v, std::span<const int64_t> want, const std::string& where) {
  if (v.dtype() != DType::Int64) {
    fail(where, "dtype is " + std::string(dtype_name(v.dtype())) + "; an ImageSet index is int64");
  }
  if (!std::equal(v.shape().begin(), v.shape().end(), want.begin(), want.end())) {
    fail(where, "shape is " + format_tuple(v.shape()) + "; expected " + format_tuple(want));
  }
  v.require_host("an ImageSet index");
  IndexArray a;
  a.data = v.data_as<const int64_t>();
  a.rows = v.shape()[0];
  a.row_stride = v.strides()[0];
  a.col_stride = v.ndim() > 1 ? v.strides()[1] : 0;
  return a;
}

IndexArray span_array(std::span<const int64_t> values, int64_t cols) {
  return {values.data(), static_cast<int64_t>(values.size()) / cols, cols, 1};
}

std::vector<int64_t> copy_values(const IndexArray& a, int64_t cols) {
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(a.rows * cols));
  for (int64_t i = 0; i < a.rows; ++i) {
    for (int64_t j = 0; j < cols; ++j) out.push_back(a.at(i, j));
  }
  return out;
}

void check_raw_count(int64_t n, int64_t pixel_count, int64_t item_size, const Names& names) {
  int64_t bytes = 0;
  if (pixel_count < 0 || item_size < 1 || !mul_ok(pixel_count, item_size, bytes)) {
    fail(names.offsets, "pixel array of " + std::to_string(pixel_count) + " elements of " +
                            std::to_string(item_size) + " bytes");
  }
  // The last image starts at byte >= 64 * (N - 1) and holds at least one element.
  if (n >= 1 && (bytes < item_size || (n - 1) > (bytes - item_size) / kImageSetAlignment)) {
    fail(names.offsets,
         std::to_string(n) + " images need at least 64 * (N - 1) + " + std::to_string(item_size) +
             " bytes of pixels (each image starts 64-byte aligned, after the one before), but " +
             names.data + " holds " + std::to_string(bytes) + " bytes");
  }
}

void check_jpeg_count(int64_t n, int64_t byte_count, const Names& names) {
  if (byte_count < 0) fail(names.offsets, "byte array of " + std::to_string(byte_count) + " bytes");
  if (n > byte_count) {
    fail(names.offsets, std::to_string(n) +
                            " images need at least one byte each (they are stored one after "
                            "another), but " +
                            names.data + " holds " + std::to_string(byte_count) + " bytes");
  }
}

void validate_raw(const IndexArray& shapes, const IndexArray& offsets, int64_t pixel_count,
                  int64_t item_size, const Names& names) {
  if (pixel_count < 0 || item_size < 1) {
    fail(names.offsets, "pixel array of " + std::to_string(pixel_count) + " elements of " +
                            std::to_string(item_size) + " bytes");
  }
  const std::string& where = names.offsets;
  int64_t prev_end = 0;  // elements: where the image before ends
  for (int64_t i = 0; i < offsets.rows; ++i) {
    const int64_t h = shapes.at(i, 0), w = shapes.at(i, 1), c = shapes.at(i, 2);
    const int64_t off = offsets.at(i);
    if (h < 1 || w < 1 || c < 1) {
      fail(names.shapes,
           sample(i) + "has shape " + sample_shape(h, w, c) + "; every side must be >= 1");
    }
    const int64_t c0 = shapes.at(0, 2);
    if (c != c0) {
      fail(names.shapes, sample(i) + "has " + std::to_string(c) + " channels but sample 0 has " +
                             std::to_string(c0) + "; every image needs the same channels");
    }
    int64_t off_bytes = 0;
    if (off < 0 || !mul_ok(off, item_size, off_bytes)) {
      fail(where, sample(i) + "has offset " + std::to_string(off) + " outside the pixel array of " +
                      std::to_string(pixel_count) + " elements");
    }
    if (off_bytes % kImageSetAlignment != 0) {
      fail(where, sample(i) + "starts at byte " + std::to_string(off_bytes) +
                      ", which is not 64-byte aligned");
    }
    int64_t hw = 0, count = 0, end = 0;
    if (!mul_ok(h, w, hw) || !mul_ok(hw, c, count) || __builtin_add_overflow(off, count, &end) ||
        end > pixel_count) {
      fail(where, sample(i) + "of shape " + sample_shape(h, w, c) + " at offset " +
                      std::to_string(off) + " runs past the end of the pixel array (" +
                      std::to_string(pixel_count) + " elements)");
    }
    if (off < prev_end) {
      fail(where, sample(i) + "starts at element " + std::to_string(off) + ", before sample " +
                      std::to_string(i - 1) + " ends (element " + std::to_string(prev_end) +
                      "); images are stored in order, without overlap");
    }
    prev_end = end;
  }
}

void validate_jpeg(const IndexArray& shapes, const IndexArray& offsets, const IndexArray& lengths,
                   int64_t byte_count, const Names& names) {
  if (byte_count < 0) fail(names.offsets, "byte array of " + std::to_string(byte_count) + " bytes");
  int64_t prev_end = 0;  // bytes: where the file before ends
  for (int64_t i = 0; i < offsets.rows; ++i) {
    const int64_t h = shapes.at(i, 0), w = shapes.at(i, 1), c = shapes.at(i, 2);
    if (h < 1 || w < 1 || c != 3) {
      fail(names.shapes, sample(i) + "has shape " + sample_shape(h, w, c) +
                             "; decoded JPEG images are (H >= 1, W >= 1, 3)");
    }
    const int64_t off = offsets.at(i), len = lengths.at(i);
    if (len < 1)
      fail(names.lengths, sample(i) + "has length " + std::to_string(len) + "; must be >= 1");
    int64_t end = 0;
    if (off < 0 || __builtin_add_overflow(off, len, &end) || end > byte_count) {
      fail(names.offsets, sample(i) + "bytes [" + std::to_string(off) + ", " + std::to_string(off) +
                              " + " + std::to_string(len) + ") run outside the byte array of " +
                              std::to_string(byte_count) + " bytes");
    }
    if (off < prev_end) {
      fail(names.offsets, sample(i) + "starts at byte " + std::to_string(off) + ", before sample " +
                              std::to_string(i - 1) + " ends (byte " + std::to_string(prev_end) +
                              "); images are stored in order, without overlap");
    }
    prev_end = end;
  }
}

void validate_labels(const IndexArray& labels, int64_t num_classes, const Names& names) {
  for (int64_t i = 0; i < labels.rows; ++i) {
    const int64_t l = labels.at(i);
    if (l < 0 || l >= num_classes) {
      fail(names.labels, sample(i) + "has label " + std::to_string(l) + ", outside the " +
                             std::to_string(num_classes) + " classes");
    }
  }
}

bool name_exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

}  // namespace nocopy::image_set_index
