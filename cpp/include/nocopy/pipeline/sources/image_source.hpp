// ImageSource: the images a loader reads, either one uniform (N, H, W, C) array or an ImageSet
// of different-size images, raw or JPEG (decoded by the workers), seen the same way: sample i's
// size and a strided description of its pixels for the resampling kernel.
#pragma once

#include <cstdint>
#include <optional>

#include "nocopy/core/dtype.hpp"
#include "nocopy/core/view.hpp"
#include "nocopy/pipeline/kernels/resize.hpp"
#include "nocopy/storage/image_set.hpp"

namespace nocopy {

/// A loader's images: a uniform (N, H, W, C) view (any strides) or an ImageSet.
class ImageSource {
 public:
  /// A uniform source; `images` must be a 4-d CPU view (checked by the loader's options).
  explicit ImageSource(View images);
  /// A source of different-size images (validated when the set was built); a JPEG set's images
  /// are decoded (RGB uint8) by decode_resample_window in the workers.
  explicit ImageSource(ImageSet set);

  /// Number of samples N.
  int64_t size() const;
  /// Channels C of every sample.
  int64_t channels() const;
  /// Pixel dtype.
  DType dtype() const;
  /// Height and width of sample i (unchecked index).
  int64_t height(int64_t i) const;
  int64_t width(int64_t i) const;
  /// True for a uniform array (every sample the same size).
  bool uniform() const { return !set_ && !jpeg_; }
  /// The uniform array (the first image, as a (1, H, W, C) view, for an ImageSet: what the
  /// transform's dtype and channel checks look at).
  const View& view() const { return view_; }
  /// The raw ImageSet, when the source is one.
  const std::optional<ImageSet>& image_set() const { return set_; }
  /// The JPEG ImageSet, when the source is one.
  const std::optional<ImageSet>& jpeg_set() const { return jpeg_; }
  /// Flat (H, W, C) triples of every sample, or null for a uniform array.
  const std::vector<int64_t>* sample_shapes() const;
  /// Sample i's pixels for resample_window (unchecked index; not for a JPEG source).
  ResizeSource image(int64_t i) const;

 private:
  View view_;
  std::optional<ImageSet> set_;
  std::optional<ImageSet> jpeg_;
};

}  // namespace nocopy
