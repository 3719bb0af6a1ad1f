// ImageSource: the images an image producer reads, behind one interface whatever their storage:
// a uniform (N, H, W, C) array (any strides), a raw ImageSet of different-size images, or a JPEG
// ImageSet (each window decoded, only the rows and iMCU columns it covers). A source says each
// image's size and writes a planned window of image i through the fused resampling pass; a
// uniform array also offers its view for the plain crop kernel.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "nocopy/core/dtype.hpp"
#include "nocopy/core/view.hpp"
#include "nocopy/pipeline/codecs/jpeg_sample.hpp"
#include "nocopy/pipeline/kernels/resize.hpp"
#include "nocopy/pipeline/sources/sample_source.hpp"
#include "nocopy/storage/image_set.hpp"

namespace nocopy {

/// A producer's images.
class ImageSource : public SampleSource {
 public:
  /// Channels C of every image.
  virtual int64_t channels() const = 0;
  /// Element type of the pixels the kernels read (uint8 for a JPEG source).
  virtual DType dtype() const = 0;
  /// Height and width of image i (unchecked index).
  virtual int64_t height(int64_t i) const = 0;
  virtual int64_t width(int64_t i) const = 0;
  /// Flat (H, W, C) triples of every image, or null when every image has the same size.
  virtual const std::vector<int64_t>* sample_shapes() const = 0;
  /// True when reading an image decodes it (for statistics).
  virtual bool decodes() const { return false; }
  /// The (N, H, W, C) array of a uniform source (the plain crop kernel reads it), or null.
  virtual const View* uniform_view() const { return nullptr; }
  /// A (1, H, W, C) view with image 0's size, channels and dtype: what the output checks
  /// (SampleTransform) look at.
  virtual View check_view() const = 0;
  /// True when the source reads its images from shards fetched on demand: the loader then
  /// tells it (will_read) which samples the batches ahead read.
  virtual bool reads_ahead() const { return false; }
  /// A hint: `samples` will be read soon (fetch what they need in the background). Must not
  /// throw.
  virtual void will_read(std::span<const int64_t> /*samples*/) const noexcept {}
  /// Writes `g`'s window of image i (unchecked index) into `out` through the resampling kernel,
  /// decoding it first when the source is encoded (`decode`: the JPEG decoding options).
  /// Throws for an image that cannot be read (a corrupt JPEG: std::invalid_argument).
  virtual void resample_into(int64_t i, const ResizeGeometry& g, const ResizeOutput& out,
                             const JpegDecodeOptions& decode) const = 0;
};

/// A shared, immutable image source.
using ImageSourcePtr = std::shared_ptr<const ImageSource>;

/// A uniform source over `images`, a 4-d CPU view (N, H, W, C) of a supported dtype
/// (check_sample_source: std::invalid_argument / BufferError otherwise).
ImageSourcePtr image_source(View images);
/// The source of an ImageSet, raw or JPEG by its format.
ImageSourcePtr image_source(ImageSet set);

}  // namespace nocopy
