// ImageSet: N images of different sizes (H_i, W_i, C) sharing one flat array, stored raw (the
// pixels; image i is a zero-copy view) or JPEG-encoded (each image's JPEG file; image i is its
// bytes, decoded by pipeline/codecs/image_decode.hpp). On disk: a folder of ordinary .npy files
// that NumPy can read, plus manifest.json.
//
// Folder format (version 1; the manifest's "storage" picks the format, see image_set_format.hpp):
//   raw:  pixels.npy (1-d uint8 / uint16 / float32, every image starting 64-byte aligned),
//         offsets.npy ((N,) int64: the element offset of each image in pixels.npy);
//   jpeg: jpeg.npy (1-d uint8, the JPEG files one after another), offsets.npy ((N,) int64: byte
//         offset of each file), lengths.npy ((N,) int64: its length in bytes);
//   both: shapes.npy ((N, 3) int64: H, W, C; C = 3 for JPEG, the decoded RGB), labels.npy
//         (optional, (N,) int64) and manifest.json (image_set_manifest.hpp).
// Images lie in the flat array in order, without overlap. The index is validated in place, on
// the mapped arrays, before anything is copied: N against the manifest's num_images and against
// the flat array's size (N raw images need 64 * (N - 1) + itemsize bytes, N JPEG files N bytes),
// then every shape, offset and length with overflow-checked arithmetic. Only then is it copied
// into private memory, so later writes to the files cannot invalidate it.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "nocopy/core/dtype.hpp"
#include "nocopy/core/view.hpp"
#include "nocopy/storage/image_set_format.hpp"
#include "nocopy/storage/image_set_manifest.hpp"

namespace nocopy {

/// Byte alignment of the start of every image in a raw set's pixel array.
inline constexpr int64_t kImageSetAlignment = 64;

/// The pixel dtypes a raw ImageSet may hold.
bool is_image_set_dtype(DType t);

/// Checks a raw ImageSet index: `shapes` holds N (H, W, C) triples (3 * N values), `offsets` N
/// element offsets into a pixel array of `pixel_count` elements of `item_size` bytes. Every
/// image must have H, W, C >= 1, the same C as image 0, start 64-byte aligned, at or after the
/// end of the image before it, and end inside the array (overflow-checked). Otherwise
/// std::invalid_argument naming the file (`shapes_name` or `offsets_name`), the sample and the
/// limit; an overflowing size is reported as too big.
void validate_image_index(std::span<const int64_t> shapes, std::span<const int64_t> offsets,
                          int64_t pixel_count, int64_t item_size, const std::string& shapes_name,
                          const std::string& offsets_name);

/// Checks a JPEG ImageSet index: N (H, W, C) triples with H, W >= 1 and C == 3, and N byte
/// ranges [offset, offset + length), length >= 1, in order without overlap, inside a byte array
/// of `byte_count` bytes. Otherwise std::invalid_argument naming the file and the sample.
void validate_jpeg_index(std::span<const int64_t> shapes, std::span<const int64_t> offsets,
                         std::span<const int64_t> lengths, int64_t byte_count,
                         const std::string& shapes_name, const std::string& offsets_name,
                         const std::string& lengths_name);

/// Element offsets of images of the given (H, W, C) shapes packed one after another, each start
/// rounded up to 64 bytes; `total` receives the pixel array's length in elements.
std::vector<int64_t> pack_image_offsets(std::span<const int64_t> shapes, int64_t item_size,
                                        int64_t& total);

/// A validated set of variable-size images sharing one flat array, raw or JPEG.
class ImageSet {
 public:
  /// An empty set (no images); only useful as a moved-to value.
  ImageSet() = default;

  /// Opens the ImageSet folder `folder`: reads manifest.json, maps the .npy files its format
  /// lists (read-only, zero copy; a FIFO or device under a name is refused, never waited on) and
  /// validates the index against them and the manifest. A missing folder or file is FileError
  /// with the path; a corrupt, truncated or inconsistent one std::invalid_argument naming the
  /// file (and the sample). A missing labels.npy means no labels.
  static ImageSet open(const std::string& folder);

  /// A raw set over `pixels` (1-d, C-contiguous, CPU, uint8 / uint16 / float32, 64-byte
  /// aligned) with `shapes` ((N, 3) int64), `offsets` ((N,) int64) and optional `labels` ((N,)
  /// int64), any strides. The index is validated (see validate_image_index) and copied; the
  /// pixels are shared, never copied. `where` names the data in messages.
  static ImageSet from_index(View pixels, const View& shapes, const View& offsets,
                             const std::optional<View>& labels, const std::string& where);

  /// A JPEG set over `bytes` (1-d, contiguous uint8, CPU) with `shapes`, `offsets`, `lengths`
  /// and optional `labels`; validated as validate_jpeg_index says and copied, the bytes shared.
  static ImageSet from_jpeg_index(View bytes, const View& shapes, const View& offsets,
                                  const View& lengths, const std::optional<View>& labels,
                                  const std::string& where);

  /// Copies `images` (each (H, W, C), any strides, one dtype and C for all) into one new
  /// 64-byte aligned pixel array: the one explicit copy, used to build a raw set in memory.
  static ImageSet copy_of(std::span<const View> images, const std::optional<View>& labels);

  /// How the images are stored.
  ImageFormat format() const { return format_; }
  /// Number of images.
  int64_t size() const { return static_cast<int64_t>(offsets_.size()); }
  /// Dtype of an image: the pixel dtype (raw) or uint8 (JPEG decodes to RGB uint8).
  DType dtype() const { return format_ == ImageFormat::Raw ? data_.dtype() : DType::UInt8; }
  /// Channels C (the same for every image; 3 for JPEG).
  int64_t channels() const { return channels_; }
  /// Height, width of image i (unchecked index).
  int64_t height(int64_t i) const { return shapes_[3 * static_cast<size_t>(i)]; }
  int64_t width(int64_t i) const { return shapes_[3 * static_cast<size_t>(i) + 1]; }

  /// The flat array every image lies in: the pixels (raw, 1-d of dtype()) or the encoded bytes
  /// (JPEG, 1-d uint8). Read-only.
  const View& data() const { return data_; }
  /// The pixel array of a raw set; nocopy::TypeError for a JPEG set (see data()).
  const View& pixels() const;
  /// Image i of a raw set as a zero-copy (H_i, W_i, C) view; negative i counts from the end;
  /// std::out_of_range outside [-N, N); nocopy::TypeError for a JPEG set (decode_image decodes).
  View image(int64_t i) const;
  /// The encoded bytes of image i of a JPEG set as a zero-copy 1-d uint8 view; negative i
  /// counts from the end; std::out_of_range outside [-N, N); nocopy::TypeError for a raw set.
  View encoded(int64_t i) const;
  /// Pointer to and length of image i's encoded bytes (JPEG set, unchecked index; the
  /// decoder's hot path).
  const uint8_t* encoded_data(int64_t i) const {
    return static_cast<const uint8_t*>(data_.data()) + offsets_[static_cast<size_t>(i)];
  }
  size_t encoded_size(int64_t i) const {
    return static_cast<size_t>(lengths_[static_cast<size_t>(i)]);
  }

  /// Flat (H, W, C) triples, 3 * N values.
  const std::vector<int64_t>& shapes() const { return shapes_; }
  /// Offset of each image in data(): in elements (raw) or bytes (JPEG).
  const std::vector<int64_t>& offsets() const { return offsets_; }
  /// Byte length of each image's encoding (JPEG; empty for a raw set).
  const std::vector<int64_t>& lengths() const { return lengths_; }
  /// True when the set has a label per image.
  bool has_labels() const { return has_labels_; }
  /// Label of each image (empty when has_labels() is false).
  const std::vector<int64_t>& labels() const { return labels_; }
  /// Names of the label values (from the manifest), when known.
  const std::optional<std::vector<std::string>>& classes() const { return classes_; }
  /// Inputs the packer skipped (from the manifest; empty otherwise).
  const std::vector<SkippedInput>& skipped() const { return skipped_; }
  /// What the set was built from, for messages (a folder path, a shm name, ...).
  const std::string& where() const { return where_; }

 private:
  /// The arrays of a set before validation, and the names messages give them.
  struct Parts;
  /// The parts of a set built from arrays in memory (no manifest), named after `where`.
  static Parts in_memory(ImageFormat format, View data, const View& shapes, const View& offsets,
                         const View* lengths, const std::optional<View>& labels,
                         const std::string& where);
  static ImageSet build(const Parts& parts);
  /// Index i in [0, N) for a possibly negative i; std::out_of_range otherwise.
  size_t checked_index(int64_t i) const;

  ImageFormat format_ = ImageFormat::Raw;
  View data_;
  std::vector<int64_t> shapes_, offsets_, lengths_, labels_;
  bool has_labels_ = false;
  int64_t channels_ = 0;
  std::optional<std::vector<std::string>> classes_;
  std::vector<SkippedInput> skipped_;
  std::string where_;
};

}  // namespace nocopy
