// ImageSource: one view of uniform arrays and ImageSets for the loader.
#include "nocopy/pipeline/sources/image_source.hpp"

#include <utility>

namespace nocopy {

ImageSource::ImageSource(View images) : view_(std::move(images)) {}

ImageSource::ImageSource(ImageSet set) {
  if (set.format() == ImageFormat::Jpeg) {
    // What the transform's dtype and channel checks look at: a blank uint8 RGB image of sample
    // 0's size (JPEG samples decode to RGB uint8).
    view_ = View::empty(DType::UInt8, {1, set.height(0), set.width(0), 3});
    jpeg_ = std::move(set);
    return;
  }
  View first = set.image(0);
  const auto& s = first.shape();
  const auto& st = first.strides();
  view_ =
      View(first.data(), first.dtype(), {1, s[0], s[1], s[2]}, {s[0] * st[0], st[0], st[1], st[2]},
           first.owner(), first.readonly(), first.device());
  set_ = std::move(set);
}

int64_t ImageSource::size() const {
  if (jpeg_) return jpeg_->size();
  return set_ ? set_->size() : view_.shape()[0];
}

const std::vector<int64_t>* ImageSource::sample_shapes() const {
  if (jpeg_) return &jpeg_->shapes();
  return set_ ? &set_->shapes() : nullptr;
}

int64_t ImageSource::channels() const {
  return view_.shape()[3];
}

DType ImageSource::dtype() const {
  return view_.dtype();
}

int64_t ImageSource::height(int64_t i) const {
  if (jpeg_) return jpeg_->height(i);
  return set_ ? set_->height(i) : view_.shape()[1];
}

int64_t ImageSource::width(int64_t i) const {
  if (jpeg_) return jpeg_->width(i);
  return set_ ? set_->width(i) : view_.shape()[2];
}

ResizeSource ImageSource::image(int64_t i) const {
  const int64_t c = channels();
  if (set_) {
    const auto k = static_cast<size_t>(i);
    const int64_t w = set_->shapes()[3 * k + 1];
    const auto* base = static_cast<const uint8_t*>(set_->pixels().data());
    return {base + set_->offsets()[k] * static_cast<int64_t>(set_->pixels().itemsize()),
            dtype(),
            set_->shapes()[3 * k],
            w,
            c,
            w * c,
            c,
            1};
  }
  const auto& st = view_.strides();
  const auto* base = static_cast<const uint8_t*>(view_.data());
  return {base + i * st[0] * static_cast<int64_t>(view_.itemsize()),
          dtype(),
          view_.shape()[1],
          view_.shape()[2],
          c,
          st[1],
          st[2],
          st[3]};
}

}  // namespace nocopy
