// ImageSet: the folder reader (manifest, then the format's .npy files mapped), the builders over
// existing arrays, the in-memory copy, and the accessors of both formats. The index checks live
// in image_set_index.cpp.
#include "nocopy/storage/image_set.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <stdexcept>
#include <string>
#include <utility>

#include "image_set_index.hpp"
#include "internal/checked_math.hpp"
#include "nocopy/core/copy.hpp"
#include "nocopy/core/errors.hpp"
#include "nocopy/storage/npy_file.hpp"
#include "storage/posix_file.hpp"

namespace nocopy {

namespace idx = image_set_index;

/// The arrays of a set before validation, what messages call them, and (for a folder) its
/// manifest.
struct ImageSet::Parts {
  ImageFormat format = ImageFormat::Raw;
  View data;
  const View* shapes = nullptr;
  const View* offsets = nullptr;
  const View* lengths = nullptr;  // JPEG only
  const std::optional<View>* labels = nullptr;
  idx::Names names;
  std::string where;
  const ImageSetManifest* manifest = nullptr;  // a folder's: N and the classes are checked
  std::string manifest_name;
};

namespace {

idx::Names names_in_memory(const std::string& where, ImageFormat format) {
  return {where + (format == ImageFormat::Raw ? " pixels" : " bytes"), where + " shapes",
          where + " offsets", where + " lengths", where + " labels"};
}

}  // namespace

ImageSet::Parts ImageSet::in_memory(ImageFormat format, View data, const View& shapes,
                                    const View& offsets, const View* lengths,
                                    const std::optional<View>& labels, const std::string& where) {
  Parts p;
  p.format = format;
  p.data = std::move(data);
  p.shapes = &shapes;
  p.offsets = &offsets;
  p.lengths = lengths;
  p.labels = &labels;
  p.names = names_in_memory(where, format);
  p.where = where;
  return p;
}

namespace {}  // namespace

bool is_image_set_dtype(DType t) {
  return t == DType::UInt8 || t == DType::UInt16 || t == DType::Float32;
}

void validate_image_index(std::span<const int64_t> shapes, std::span<const int64_t> offsets,
                          int64_t pixel_count, int64_t item_size, const std::string& shapes_name,
                          const std::string& offsets_name) {
  if (shapes.size() != 3 * offsets.size()) {
    idx::fail(offsets_name, std::to_string(shapes.size() / 3) + " shapes but " +
                                std::to_string(offsets.size()) + " offsets");
  }
  idx::Names names{"pixels", shapes_name, offsets_name, "", ""};
  idx::validate_raw(idx::span_array(shapes, 3), idx::span_array(offsets, 1), pixel_count, item_size,
                    names);
}

void validate_jpeg_index(std::span<const int64_t> shapes, std::span<const int64_t> offsets,
                         std::span<const int64_t> lengths, int64_t byte_count,
                         const std::string& shapes_name, const std::string& offsets_name,
                         const std::string& lengths_name) {
  if (shapes.size() != 3 * offsets.size() || lengths.size() != offsets.size()) {
    idx::fail(offsets_name, std::to_string(shapes.size() / 3) + " shapes, " +
                                std::to_string(offsets.size()) + " offsets and " +
                                std::to_string(lengths.size()) + " lengths; expected one each");
  }
  idx::Names names{"bytes", shapes_name, offsets_name, lengths_name, ""};
  idx::validate_jpeg(idx::span_array(shapes, 3), idx::span_array(offsets, 1),
                     idx::span_array(lengths, 1), byte_count, names);
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

ImageSet ImageSet::build(const Parts& p) {
  const idx::Names& n = p.names;
  const View& data = p.data;
  if (p.format == ImageFormat::Raw) {
    if (data.ndim() != 1 || !data.is_c_contiguous()) {
      idx::fail(n.data, "must be a contiguous 1-d array, got " + data.describe());
    }
    data.require_host("ImageSet pixels");
    if (!is_image_set_dtype(data.dtype())) {
      idx::fail(n.data, "dtype " + std::string(dtype_name(data.dtype())) +
                            " is not supported (uint8, uint16 or float32)");
    }
    if (reinterpret_cast<uintptr_t>(data.data()) % kImageSetAlignment != 0) {
      idx::fail(n.data, "the pixel data does not start 64-byte aligned");
    }
  } else {
    if (data.ndim() != 1 || !data.is_c_contiguous() || data.dtype() != DType::UInt8) {
      idx::fail(n.data, "must be a contiguous 1-d uint8 array, got " + data.describe());
    }
    data.require_host("JPEG ImageSet bytes");
  }
  if (p.offsets->ndim() != 1) {
    idx::fail(n.offsets, "shape is " + format_tuple(p.offsets->shape()) + "; expected (N,)");
  }
  // N first, from the arrays' headers alone: against the manifest, then the flat array's size.
  const int64_t count = p.offsets->shape()[0];
  if (count < 1) idx::fail(n.offsets, "the set has no images");
  if (p.manifest != nullptr && p.manifest->num_images != count) {
    idx::fail(p.manifest_name, "num_images is " + std::to_string(p.manifest->num_images) +
                                   " but offsets.npy holds " + std::to_string(count));
  }
  const int64_t shape3[] = {count, 3};
  const int64_t shape1[] = {count};
  const idx::IndexArray shapes = idx::index_array(*p.shapes, shape3, n.shapes);
  const idx::IndexArray offsets = idx::index_array(*p.offsets, shape1, n.offsets);
  idx::IndexArray lengths, labels;
  if (p.format == ImageFormat::Jpeg) lengths = idx::index_array(*p.lengths, shape1, n.lengths);
  const bool has_labels = p.labels != nullptr && p.labels->has_value();
  if (has_labels) labels = idx::index_array(**p.labels, shape1, n.labels);
  // Then every value, read in place: a hostile index fails at its first bad sample, having
  // touched only the pages before it.
  if (p.format == ImageFormat::Raw) {
    const auto item = static_cast<int64_t>(data.itemsize());
    idx::check_raw_count(count, data.size(), item, n);
    idx::validate_raw(shapes, offsets, data.size(), item, n);
  } else {
    idx::check_jpeg_count(count, data.size(), n);
    idx::validate_jpeg(shapes, offsets, lengths, data.size(), n);
  }
  if (has_labels && p.manifest != nullptr && p.manifest->classes) {
    idx::validate_labels(labels, static_cast<int64_t>(p.manifest->classes->size()), n);
  }
  // Valid: copied into private memory, so later writes to the files cannot invalidate it.
  ImageSet s;
  s.format_ = p.format;
  s.shapes_ = idx::copy_values(shapes, 3);
  s.offsets_ = idx::copy_values(offsets, 1);
  if (p.format == ImageFormat::Jpeg) s.lengths_ = idx::copy_values(lengths, 1);
  if (has_labels) {
    s.labels_ = idx::copy_values(labels, 1);
    s.has_labels_ = true;
  }
  s.channels_ = s.shapes_[2];
  s.data_ = data.as_readonly();
  s.where_ = p.where;
  return s;
}

ImageSet ImageSet::from_index(View pixels, const View& shapes, const View& offsets,
                              const std::optional<View>& labels, const std::string& where) {
  return build(
      in_memory(ImageFormat::Raw, std::move(pixels), shapes, offsets, nullptr, labels, where));
}

ImageSet ImageSet::from_jpeg_index(View bytes, const View& shapes, const View& offsets,
                                   const View& lengths, const std::optional<View>& labels,
                                   const std::string& where) {
  return build(
      in_memory(ImageFormat::Jpeg, std::move(bytes), shapes, offsets, &lengths, labels, where));
}

ImageSet ImageSet::open(const std::string& folder) {
  const std::string what = "cannot open ImageSet folder";
  check_path(folder, what);
  struct stat st {};
  if (::stat(folder.c_str(), &st) != 0) throw FileError(errno, folder, what);
  if (!S_ISDIR(st.st_mode)) throw FileError(ENOTDIR, folder, what);
  const ImageSetManifest manifest = read_image_set_manifest(folder);
  const ImageFormatInfo& format = image_format_info(manifest.format);
  auto in_folder = [&folder](std::string_view name) { return folder + "/" + std::string(name); };
  Parts p;
  p.format = manifest.format;
  p.names = {in_folder(format.data_file), in_folder(kImageSetShapesFile),
             in_folder(kImageSetOffsetsFile), in_folder(format.lengths_file),
             in_folder(kImageSetLabelsFile)};
  // Each open refuses a FIFO or device under the name (never blocks) and reads only the
  // bounded .npy header; the data stays mapped, unread, until used.
  p.data = open_npy(p.names.data);
  const View shapes = open_npy(p.names.shapes);
  const View offsets = open_npy(p.names.offsets);
  View lengths;
  if (!format.lengths_file.empty()) lengths = open_npy(p.names.lengths);
  std::optional<View> labels;
  if (idx::name_exists(p.names.labels)) labels = open_npy(p.names.labels);
  p.shapes = &shapes;
  p.offsets = &offsets;
  p.lengths = &lengths;
  p.labels = &labels;
  p.where = folder;
  p.manifest = &manifest;
  p.manifest_name = in_folder(kImageSetManifestFile);
  ImageSet s = build(p);
  s.classes_ = manifest.classes;
  s.skipped_ = manifest.skipped;
  return s;
}

ImageSet ImageSet::copy_of(std::span<const View> images, const std::optional<View>& labels) {
  const std::string where = "ImageSet.from_arrays";
  if (images.empty()) idx::fail(where, "the set has no images");
  std::vector<int64_t> shapes;
  shapes.reserve(3 * images.size());
  const DType dtype = images[0].dtype();
  for (size_t i = 0; i < images.size(); ++i) {
    const View& v = images[i];
    if (v.ndim() != 3) {
      idx::fail(where, "image " + std::to_string(i) + " has shape " + format_tuple(v.shape()) +
                           "; images are (H, W, C)");
    }
    if (v.dtype() != dtype) {
      idx::fail(where, "image " + std::to_string(i) + " is " + std::string(dtype_name(v.dtype())) +
                           " but image 0 is " + std::string(dtype_name(dtype)));
    }
    shapes.insert(shapes.end(), v.shape().begin(), v.shape().end());
  }
  if (!is_image_set_dtype(dtype)) {
    idx::fail(where, "pixel dtype " + std::string(dtype_name(dtype)) +
                         " is not supported (uint8, uint16 or float32)");
  }
  const auto item = static_cast<int64_t>(itemsize(dtype));
  int64_t total = 0;
  std::vector<int64_t> offsets = pack_image_offsets(shapes, item, total);
  // The shapes (sides, channels) checked before the pixel array is allocated.
  validate_image_index(shapes, offsets, total, item, where, where);
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

size_t ImageSet::checked_index(int64_t i) const {
  const int64_t n = size();
  if (i < -n || i >= n) {
    throw std::out_of_range("image index " + std::to_string(i) + " is out of range for an " +
                            "ImageSet of " + std::to_string(n) + " images");
  }
  return static_cast<size_t>(i < 0 ? i + n : i);
}

const View& ImageSet::pixels() const {
  if (format_ != ImageFormat::Raw) {
    throw TypeError(where_ +
                    ": a JPEG ImageSet stores encoded bytes, not pixels: data() is the "
                    "byte array, encoded(i) one image's bytes, decode_image(set, i) its "
                    "pixels");
  }
  return data_;
}

View ImageSet::image(int64_t i) const {
  if (format_ != ImageFormat::Raw) {
    throw TypeError(where_ +
                    ": image(i) is a view of a raw ImageSet's pixels; this set stores "
                    "JPEG files: decode_image(set, i) decodes image i");
  }
  const size_t k = checked_index(i);
  const int64_t h = shapes_[3 * k], w = shapes_[3 * k + 1], c = shapes_[3 * k + 2];
  auto* p =
      static_cast<uint8_t*>(data_.data()) + offsets_[k] * static_cast<int64_t>(data_.itemsize());
  return View(p, data_.dtype(), {h, w, c}, {w * c, c, 1}, data_.owner(), data_.readonly(),
              data_.device());
}

View ImageSet::encoded(int64_t i) const {
  if (format_ != ImageFormat::Jpeg) {
    throw TypeError(where_ +
                    ": encoded(i) is a JPEG ImageSet's bytes; this set stores raw "
                    "pixels: image(i) is image i, without a copy");
  }
  const size_t k = checked_index(i);
  auto* p = static_cast<uint8_t*>(data_.data()) + offsets_[k];
  return View(p, DType::UInt8, {lengths_[k]}, {1}, data_.owner(), data_.readonly(), data_.device());
}

}  // namespace nocopy
