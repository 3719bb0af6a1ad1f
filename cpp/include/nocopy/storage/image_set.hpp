// ImageSet: N images of different sizes (H_i, W_i, C) in one flat pixel array, each a zero-copy
// view, stored on disk as a folder of ordinary .npy files that NumPy can read.
//
// Folder format (version 1): pixels.npy (1-d, uint8 / uint16 / float32, every image starting
// 64-byte aligned), shapes.npy ((N, 3) int64: H, W, C), offsets.npy ((N,) int64: the element
// offset of each image in pixels.npy), labels.npy (optional, (N,) int64) and manifest.json
// (format version, counts, class names, skipped inputs; read by the Python layer). The index
// (shapes, offsets, labels) is validated once against the pixel array, with overflow-checked
// arithmetic, and copied into private memory so later writes to the files cannot invalidate it.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "nocopy/core/dtype.hpp"
#include "nocopy/core/view.hpp"

namespace nocopy {

/// Version of the ImageSet folder format this build writes and reads.
inline constexpr int kImageSetFormatVersion = 1;
/// Byte alignment of the start of every image in the pixel array.
inline constexpr int64_t kImageSetAlignment = 64;

/// The pixel dtypes an ImageSet may hold.
bool is_image_set_dtype(DType t);

/// Checks an ImageSet index: `shapes` holds N (H, W, C) triples (3 * N values), `offsets` N
/// element offsets into a pixel array of `pixel_count` elements of `item_size` bytes. Every
/// image must have H, W, C >= 1, the same C as image 0, start 64-byte aligned and end inside
/// the array (overflow-checked). Otherwise std::invalid_argument naming the file (`shapes_name`
/// or `offsets_name`), the sample and the limit; an overflowing size is reported as too big.
void validate_image_index(std::span<const int64_t> shapes, std::span<const int64_t> offsets,
                          int64_t pixel_count, int64_t item_size, const std::string& shapes_name,
                          const std::string& offsets_name);

/// Element offsets of images of the given (H, W, C) shapes packed one after another, each start
/// rounded up to 64 bytes; `total` receives the pixel array's length in elements.
std::vector<int64_t> pack_image_offsets(std::span<const int64_t> shapes, int64_t item_size,
                                        int64_t& total);

/// A validated set of variable-size images sharing one pixel array.
class ImageSet {
 public:
  /// An empty set (no images); only useful as a moved-to value.
  ImageSet() = default;

  /// Builds a set over `pixels` (1-d, C-contiguous, CPU, uint8 / uint16 / float32) with
  /// `shapes` ((N, 3) int64), `offsets` ((N,) int64) and optional `labels` ((N,) int64). The
  /// index is validated (see validate_image_index) and copied; the pixels are shared, never
  /// copied. `where` names the data in messages (a folder path, "from_arrays", a shm name).
  static ImageSet from_index(View pixels, const View& shapes, const View& offsets,
                             const std::optional<View>& labels, const std::string& where);

  /// Maps the .npy files of an ImageSet folder (read-only, zero copy) and validates the index.
  /// A missing labels.npy means no labels; a corrupt or truncated file is std::invalid_argument
  /// naming the file and the sample.
  static ImageSet open(const std::string& folder);

  /// Copies `images` (each (H, W, C), any strides, one dtype and C for all) into one new
  /// 64-byte aligned pixel array: the one explicit copy, used to build a set in memory.
  static ImageSet copy_of(std::span<const View> images, const std::optional<View>& labels);

  /// Number of images.
  int64_t size() const { return static_cast<int64_t>(offsets_.size()); }
  /// Pixel dtype.
  DType dtype() const { return pixels_.dtype(); }
  /// Channels C (the same for every image).
  int64_t channels() const { return channels_; }
  /// Height, width of image i (unchecked index).
  int64_t height(int64_t i) const { return shapes_[3 * static_cast<size_t>(i)]; }
  int64_t width(int64_t i) const { return shapes_[3 * static_cast<size_t>(i) + 1]; }
  /// Image i as a zero-copy (H_i, W_i, C) view; negative i counts from the end; std::out_of_range
  /// when i is outside [-N, N).
  View image(int64_t i) const;
  /// The whole pixel array (1-d).
  const View& pixels() const { return pixels_; }
  /// Flat (H, W, C) triples, 3 * N values.
  const std::vector<int64_t>& shapes() const { return shapes_; }
  /// Element offset of each image in pixels().
  const std::vector<int64_t>& offsets() const { return offsets_; }
  /// True when the set has a label per image.
  bool has_labels() const { return has_labels_; }
  /// Label of each image (empty when has_labels() is false).
  const std::vector<int64_t>& labels() const { return labels_; }
  /// What the set was built from, for messages.
  const std::string& where() const { return where_; }

 private:
  /// What messages call the set and each of its arrays.
  struct Names {
    std::string where, pixels, shapes, offsets, labels;
  };
  static ImageSet build(View pixels, const View& shapes, const View& offsets,
                        const std::optional<View>& labels, const Names& names);

  View pixels_;
  std::vector<int64_t> shapes_, offsets_, labels_;
  bool has_labels_ = false;
  int64_t channels_ = 0;
  std::string where_;
};

}  // namespace nocopy
