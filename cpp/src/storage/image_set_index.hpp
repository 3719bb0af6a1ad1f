// ImageSet index checks, private to storage: the int64 index arrays (shapes, offsets, lengths,
// labels) read in place through their strides, so a hostile folder is rejected before any of
// it is copied, and the per-format validation with messages that name the file and the sample.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "nocopy/core/view.hpp"

namespace nocopy::image_set_index {

/// Throws std::invalid_argument "<where>: <msg>" (where: the file or the set).
[[noreturn]] void fail(const std::string& where, const std::string& msg);

/// An int64 index array read in place: element (i, j) at data[i * row_stride + j * col_stride]
/// (strides in elements), `rows` rows.
struct IndexArray {
  /// Element (0, 0); valid for as long as the view it came from.
  const int64_t* data = nullptr;
  /// Number of rows N.
  int64_t rows = 0;
  /// Elements from one row to the next.
  int64_t row_stride = 0;
  /// Elements from one column to the next (2-d arrays).
  int64_t col_stride = 0;
  /// Element (i, j) (unchecked).
  int64_t at(int64_t i, int64_t j = 0) const { return data[i * row_stride + j * col_stride]; }
};

/// `v` checked to be a host int64 array of shape `want` ((N,) or (N, 3)) and read in place;
/// std::invalid_argument naming `where` for another dtype or shape.
IndexArray index_array(const View& v, std::span<const int64_t> want, const std::string& where);

/// A contiguous span of rows of `cols` values as an IndexArray.
IndexArray span_array(std::span<const int64_t> values, int64_t cols);

/// The array's values copied row by row into private memory (rows * cols values).
std::vector<int64_t> copy_values(const IndexArray& a, int64_t cols);

/// What messages call each array of a set.
struct Names {
  std::string data, shapes, offsets, lengths, labels;
};

/// The cheap first check of a raw set, before any index value is read: N images, each at least
/// one element, starting 64-byte aligned after the one before, need 64 * (N - 1) + item_size
/// bytes of pixels.
void check_raw_count(int64_t n, int64_t pixel_count, int64_t item_size, const Names& names);
/// The same for a JPEG set: N files of at least one byte each need N bytes.
void check_jpeg_count(int64_t n, int64_t byte_count, const Names& names);

/// Validates a raw index (see validate_image_index in image_set.hpp); shapes has offsets.rows
/// rows.
void validate_raw(const IndexArray& shapes, const IndexArray& offsets, int64_t pixel_count,
                  int64_t item_size, const Names& names);
/// Validates a JPEG index (see validate_jpeg_index in image_set.hpp); every array has the same
/// number of rows.
void validate_jpeg(const IndexArray& shapes, const IndexArray& offsets, const IndexArray& lengths,
                   int64_t byte_count, const Names& names);
/// Every label in [0, num_classes); std::invalid_argument naming the labels and the sample.
void validate_labels(const IndexArray& labels, int64_t num_classes, const Names& names);

/// True when `path` names a directory entry of any kind (a dangling link included, so that
/// opening it reports the real error instead of the file counting as absent).
bool name_exists(const std::string& path);

}  // namespace nocopy::image_set_index
