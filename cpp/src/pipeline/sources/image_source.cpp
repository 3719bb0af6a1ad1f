// ImageSource implementations: a uniform array, a raw ImageSet, a JPEG ImageSet.
#include "nocopy/pipeline/sources/image_source.hpp"

#include <utility>

#include "nocopy/pipeline/kernels/sample_transform.hpp"

namespace nocopy {
namespace {

/// One (N, H, W, C) array, any strides.
class UniformImages final : public ImageSource {
 public:
  explicit UniformImages(View images) : view_(std::move(images)) { check_sample_source(view_); }
  int64_t size() const override { return view_.shape()[0]; }
  std::vector<ByteRange> extents() const override { return {view_.byte_extent()}; }
  int64_t channels() const override { return view_.shape()[3]; }
  DType dtype() const override { return view_.dtype(); }
  int64_t height(int64_t) const override { return view_.shape()[1]; }
  int64_t width(int64_t) const override { return view_.shape()[2]; }
  const std::vector<int64_t>* sample_shapes() const override { return nullptr; }
  const View* uniform_view() const override { return &view_; }
  View check_view() const override { return view_; }
  void resample_into(int64_t i, const ResizeGeometry& g, const ResizeOutput& out,
                     const JpegDecodeOptions&) const override {
    static thread_local ResizeScratch scratch;  // per worker: no allocation once warm
    const auto& st = view_.strides();
    const auto* base = static_cast<const uint8_t*>(view_.data());
    const ResizeSource image{base + i * st[0] * static_cast<int64_t>(view_.itemsize()),
                             view_.dtype(),
                             view_.shape()[1],
                             view_.shape()[2],
                             view_.shape()[3],
                             st[1],
                             st[2],
                             st[3]};
    resample_window(image, g, out, scratch);
  }

 private:
  View view_;
};

/// What the ImageSet sources share: the set, its sizes and the memory it reads.
class ImageSetImages : public ImageSource {
 public:
  explicit ImageSetImages(ImageSet set) : set_(std::move(set)) {}
  int64_t size() const override { return set_.size(); }
  std::vector<ByteRange> extents() const override { return {set_.data().byte_extent()}; }
  int64_t channels() const override { return set_.channels(); }
  DType dtype() const override { return set_.dtype(); }
  int64_t height(int64_t i) const override { return set_.height(i); }
  int64_t width(int64_t i) const override { return set_.width(i); }
  const std::vector<int64_t>* sample_shapes() const override { return &set_.shapes(); }
  View check_view() const override {
    return View::empty(dtype(), {1, set_.height(0), set_.width(0), set_.channels()});
  }

 protected:
  ImageSet set_;
};

/// A raw ImageSet: every image a zero-copy window of one pixel array.
class RawImageSetImages final : public ImageSetImages {
 public:
  using ImageSetImages::ImageSetImages;
  View check_view() const override {
    View first = set_.image(0);
    const auto& s = first.shape();
    const auto& st = first.strides();
    return View(first.data(), first.dtype(), {1, s[0], s[1], s[2]},
                {s[0] * st[0], st[0], st[1], st[2]}, first.owner(), first.readonly(),
                first.device());
  }
  void resample_into(int64_t i, const ResizeGeometry& g, const ResizeOutput& out,
                     const JpegDecodeOptions&) const override {
    static thread_local ResizeScratch scratch;
    const auto k = static_cast<size_t>(i);
    const int64_t c = set_.channels(), w = set_.shapes()[3 * k + 1];
    const auto* base = static_cast<const uint8_t*>(set_.data().data());
    const ResizeSource image{
        base + set_.offsets()[k] * static_cast<int64_t>(set_.data().itemsize()),
        set_.dtype(),
        set_.shapes()[3 * k],
        w,
        c,
        w * c,
        c,
        1};
    resample_window(image, g, out, scratch);
  }
};

/// A JPEG ImageSet: each window decoded (its rows and iMCU columns only), then resampled.
class JpegImageSetImages final : public ImageSetImages {
 public:
  using ImageSetImages::ImageSetImages;
  bool decodes() const override { return true; }
  void resample_into(int64_t i, const ResizeGeometry& g, const ResizeOutput& out,
                     const JpegDecodeOptions& decode) const override {
    static thread_local JpegSampleScratch scratch;  // per worker: the decoder and its tables
    decode_resample_window(set_.encoded_data(i), set_.encoded_size(i), set_.height(i),
                           set_.width(i), g, out, decode.decode_scale, scratch);
  }
};

}  // namespace

ImageSourcePtr image_source(View images) {
  return std::make_shared<UniformImages>(std::move(images));
}

ImageSourcePtr image_source(ImageSet set) {
  if (set.format() == ImageFormat::Jpeg)
    return std::make_shared<JpegImageSetImages>(std::move(set));
  return std::make_shared<RawImageSetImages>(std::move(set));
}

}  // namespace nocopy
