// ConcatImages: the parts' ranges found by binary search over their offsets; every call is
// forwarded to the part with the local index.
#include "nocopy/pipeline/sources/concat_image_source.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <utility>

#include "internal/part_of.hpp"

namespace nocopy {
namespace {

class ConcatImages final : public ImageSource {
 public:
  explicit ConcatImages(std::vector<ImageSourcePtr> parts) : parts_(std::move(parts)) {
    for (size_t d = 0; d < parts_.size(); ++d) {
      const ImageSource& p = *parts_[d];
      if (p.size() < 1) throw std::invalid_argument("part " + std::to_string(d) + " is empty");
      if (p.channels() != parts_[0]->channels() || p.dtype() != parts_[0]->dtype()) {
        throw std::invalid_argument(
            "part " + std::to_string(d) + " has " + std::to_string(p.channels()) + " channels of " +
            std::string(dtype_name(p.dtype())) + ", part 0 " +
            std::to_string(parts_[0]->channels()) + " of " +
            std::string(dtype_name(parts_[0]->dtype())) + ": the parts must agree");
      }
      offsets_.push_back(size_);
      size_ += p.size();
      decodes_ = decodes_ || p.decodes();
      reads_ahead_ = reads_ahead_ || p.reads_ahead();
      for (int64_t i = 0; i < p.size(); ++i) {
        shapes_.insert(shapes_.end(), {p.height(i), p.width(i), p.channels()});
      }
    }
  }
  int64_t size() const override { return size_; }
  std::vector<ByteRange> extents() const override {
    std::vector<ByteRange> out;
    for (const auto& p : parts_) {
      const std::vector<ByteRange> e = p->extents();
      out.insert(out.end(), e.begin(), e.end());
    }
    return out;
  }
  int64_t channels() const override { return parts_[0]->channels(); }
  DType dtype() const override { return parts_[0]->dtype(); }
  int64_t height(int64_t i) const override { return shapes_[static_cast<size_t>(3 * i)]; }
  int64_t width(int64_t i) const override { return shapes_[static_cast<size_t>(3 * i + 1)]; }
  const std::vector<int64_t>* sample_shapes() const override { return &shapes_; }
  bool decodes() const override { return decodes_; }
  bool reads_ahead() const override { return reads_ahead_; }
  void will_read(std::span<const int64_t> samples) const noexcept override {
    // Each part hears of its own samples, in its own indices.
    thread_local std::vector<int64_t> local;
    for (size_t d = 0; d < parts_.size(); ++d) {
      if (!parts_[d]->reads_ahead()) continue;
      local.clear();
      const int64_t end = d + 1 < parts_.size() ? offsets_[d + 1] : size_;
      for (int64_t i : samples) {
        if (i >= offsets_[d] && i < end) local.push_back(i - offsets_[d]);
      }
      if (!local.empty()) parts_[d]->will_read(local);
    }
  }
  View check_view() const override { return parts_[0]->check_view(); }
  void resample_into(int64_t i, const ResizeGeometry& g, const ResizeOutput& out,
                     const JpegDecodeOptions& decode) const override {
    const size_t d = part_of(i);
    parts_[d]->resample_into(i - offsets_[d], g, out, decode);
  }

 private:
  size_t part_of(int64_t i) const { return internal::part_of(offsets_, i); }

  std::vector<ImageSourcePtr> parts_;
  std::vector<int64_t> offsets_, shapes_;
  int64_t size_ = 0;
  bool decodes_ = false, reads_ahead_ = false;
};

}  // namespace

ImageSourcePtr concat_image_sources(std::vector<ImageSourcePtr> parts) {
  if (parts.empty()) throw std::invalid_argument("no image sources to read as one");
  if (parts.size() == 1) return std::move(parts[0]);
  return std::make_shared<ConcatImages>(std::move(parts));
}

}  // namespace nocopy
