// JpegImageSet: N JPEG-compressed images in one flat byte array, each sample's encoded bytes a
// zero-copy view; the storage side of JPEG datasets (decoding lives in pipeline/jpeg_decoder).
//
// Folder format (ImageSet format version 1 with manifest "storage": "jpeg"): jpeg.npy (1-d
// uint8, the encoded files one after another), offsets.npy ((N,) int64: byte offset of each
// file in jpeg.npy), lengths.npy ((N,) int64: its length in bytes), shapes.npy ((N, 3) int64:
// the decoded H, W, C with C = 3, RGB) and labels.npy (optional). The index is validated once
// against the byte array with overflow-checked arithmetic and copied into private memory.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "nocopy/core/view.hpp"

namespace nocopy {

/// Checks a JPEG ImageSet index: N (H, W, C) triples with H, W >= 1 and C == 3, and N byte
/// ranges [offset, offset + length) with length >= 1 inside a byte array of `byte_count`
/// bytes. Otherwise std::invalid_argument naming the file and the sample.
void validate_jpeg_index(std::span<const int64_t> shapes, std::span<const int64_t> offsets,
                         std::span<const int64_t> lengths, int64_t byte_count,
                         const std::string& shapes_name, const std::string& offsets_name,
                         const std::string& lengths_name);

/// A validated set of JPEG-encoded images sharing one byte array.
class JpegImageSet {
 public:
  /// An empty set; only useful as a moved-to value.
  JpegImageSet() = default;

  /// Builds a set over `bytes` (1-d, contiguous uint8, CPU) with `shapes` ((N, 3) int64),
  /// `offsets` and `lengths` ((N,) int64) and optional `labels`; the index is validated and
  /// copied, the bytes shared. `where` names the data in messages.
  static JpegImageSet from_index(View bytes, const View& shapes, const View& offsets,
                                 const View& lengths, const std::optional<View>& labels,
                                 const std::string& where);

  /// Maps jpeg.npy, shapes.npy, offsets.npy, lengths.npy (and labels.npy when present) of a
  /// folder read-only and validates the index.
  static JpegImageSet open(const std::string& folder);

  /// Number of images.
  int64_t size() const { return static_cast<int64_t>(offsets_.size()); }
  /// Decoded height, width of image i (unchecked index).
  int64_t height(int64_t i) const { return shapes_[3 * static_cast<size_t>(i)]; }
  int64_t width(int64_t i) const { return shapes_[3 * static_cast<size_t>(i) + 1]; }
  /// The encoded bytes of image i as a zero-copy 1-d uint8 view; negative i counts from the
  /// end; std::out_of_range outside [-N, N).
  View encoded(int64_t i) const;
  /// Pointer to and length of image i's bytes (unchecked index; for the decoder's hot path).
  const uint8_t* encoded_data(int64_t i) const {
    return static_cast<const uint8_t*>(bytes_.data()) + offsets_[static_cast<size_t>(i)];
  }
  size_t encoded_size(int64_t i) const {
    return static_cast<size_t>(lengths_[static_cast<size_t>(i)]);
  }
  /// The whole byte array.
  const View& bytes() const { return bytes_; }
  /// Flat (H, W, C) triples, 3 * N values.
  const std::vector<int64_t>& shapes() const { return shapes_; }
  /// Byte offset and length of each image.
  const std::vector<int64_t>& offsets() const { return offsets_; }
  const std::vector<int64_t>& lengths() const { return lengths_; }
  /// True when the set has a label per image.
  bool has_labels() const { return has_labels_; }
  /// Label of each image (empty when has_labels() is false).
  const std::vector<int64_t>& labels() const { return labels_; }
  /// What the set was built from, for messages.
  const std::string& where() const { return where_; }

 private:
  View bytes_;
  std::vector<int64_t> shapes_, offsets_, lengths_, labels_;
  bool has_labels_ = false;
  std::string where_;
};

}  // namespace nocopy
