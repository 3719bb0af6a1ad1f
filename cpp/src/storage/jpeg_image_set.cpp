// JpegImageSet: index validation against the byte array (overflow-checked) and the folder
// reader over open_npy.
#include "nocopy/storage/jpeg_image_set.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <utility>

#include "image_set_index.hpp"
#include "nocopy/storage/npy_file.hpp"

namespace nocopy {

namespace {

using image_set_index::fail;
using image_set_index::file_exists;
using image_set_index::index_values;

}  // namespace

void validate_jpeg_index(std::span<const int64_t> shapes, std::span<const int64_t> offsets,
                         std::span<const int64_t> lengths, int64_t byte_count,
                         const std::string& shapes_name, const std::string& offsets_name,
                         const std::string& lengths_name) {
  if (shapes.size() != 3 * offsets.size() || lengths.size() != offsets.size()) {
    fail(offsets_name, std::to_string(shapes.size() / 3) + " shapes, " +
                           std::to_string(offsets.size()) + " offsets and " +
                           std::to_string(lengths.size()) + " lengths; expected one each");
  }
  if (byte_count < 0) fail(offsets_name, "byte array of " + std::to_string(byte_count) + " bytes");
  for (size_t i = 0; i < offsets.size(); ++i) {
    const std::string sample = "sample " + std::to_string(i) + " ";
    const int64_t h = shapes[3 * i], w = shapes[3 * i + 1], c = shapes[3 * i + 2];
    if (h < 1 || w < 1 || c != 3) {
      const int64_t shape[] = {h, w, c};
      fail(shapes_name, sample + "has shape " + format_tuple(shape) +
                            "; decoded JPEG images are (H >= 1, W >= 1, 3)");
    }
    const int64_t off = offsets[i], len = lengths[i];
    if (len < 1)
      fail(lengths_name, sample + "has length " + std::to_string(len) + "; must be >= 1");
    int64_t end = 0;
    if (off < 0 || __builtin_add_overflow(off, len, &end) || end > byte_count) {
      fail(offsets_name, sample + "bytes [" + std::to_string(off) + ", " + std::to_string(off) +
                             " + " + std::to_string(len) + ") run outside the byte array of " +
                             std::to_string(byte_count) + " bytes");
    }
  }
}

JpegImageSet JpegImageSet::from_index(View bytes, const View& shapes, const View& offsets,
                                      const View& lengths, const std::optional<View>& labels,
                                      const std::string& where) {
  const std::string bytes_name = where + "/jpeg.npy", shapes_name = where + "/shapes.npy",
                    offsets_name = where + "/offsets.npy", lengths_name = where + "/lengths.npy";
  if (bytes.ndim() != 1 || !bytes.is_c_contiguous() || bytes.dtype() != DType::UInt8) {
    fail(bytes_name, "must be a contiguous 1-d uint8 array, got " + bytes.describe());
  }
  bytes.require_host("JPEG ImageSet bytes");
  if (offsets.ndim() != 1) {
    fail(offsets_name, "shape is " + format_tuple(offsets.shape()) + "; expected (N,)");
  }
  const int64_t n = offsets.shape()[0];
  if (n < 1) fail(offsets_name, "the set has no images");
  JpegImageSet s;
  const int64_t shape3[] = {n, 3};
  const int64_t shape1[] = {n};
  s.shapes_ = index_values(shapes, shape3, shapes_name);
  s.offsets_ = index_values(offsets, shape1, offsets_name);
  s.lengths_ = index_values(lengths, shape1, lengths_name);
  if (labels) {
    s.labels_ = index_values(*labels, shape1, where + "/labels.npy");
    s.has_labels_ = true;
  }
  validate_jpeg_index(s.shapes_, s.offsets_, s.lengths_, bytes.size(), shapes_name, offsets_name,
                      lengths_name);
  s.bytes_ = bytes.as_readonly();
  s.where_ = where;
  return s;
}

JpegImageSet JpegImageSet::open(const std::string& folder) {
  View bytes = open_npy(folder + "/jpeg.npy");
  View shapes = open_npy(folder + "/shapes.npy");
  View offsets = open_npy(folder + "/offsets.npy");
  View lengths = open_npy(folder + "/lengths.npy");
  std::optional<View> labels;
  if (file_exists(folder + "/labels.npy")) labels = open_npy(folder + "/labels.npy");
  return from_index(std::move(bytes), shapes, offsets, lengths, labels, folder);
}

View JpegImageSet::encoded(int64_t i) const {
  const int64_t n = size();
  if (i < -n || i >= n) {
    throw std::out_of_range("image index " + std::to_string(i) + " is out of range for a " +
                            "JPEG ImageSet of " + std::to_string(n) + " images");
  }
  if (i < 0) i += n;
  auto* p = static_cast<uint8_t*>(bytes_.data()) + offsets_[static_cast<size_t>(i)];
  return View(p, DType::UInt8, {lengths_[static_cast<size_t>(i)]}, {1}, bytes_.owner(),
              bytes_.readonly(), bytes_.device());
}

}  // namespace nocopy
