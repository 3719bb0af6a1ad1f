// ShardImages: the dataset's shards in a LazyShards (one opening per shard, max_open kept), each
// checked against the layout when it opens.
#include "nocopy/pipeline/sources/shard_image_source.hpp"

#include <stdexcept>
#include <string>
#include <utility>

#include "internal/lazy_shards.hpp"
#include "internal/part_of.hpp"

namespace nocopy {
namespace {

class ShardImages final : public ImageSource {
 public:
  ShardImages(std::shared_ptr<const ImageShardProvider> provider, ShardedImagesLayout layout)
      : provider_(std::move(provider)),
        layout_(std::move(layout)),
        shards_(layout_.shard_sizes.size(), layout_.max_open) {
    if (!provider_) throw std::invalid_argument("a sharded source needs a shard provider");
    for (size_t k = 0; k < layout_.shard_sizes.size(); ++k) {
      if (layout_.shard_sizes[k] < 1) {
        throw std::invalid_argument("shard " + std::to_string(k) + " has no sample");
      }
      offsets_.push_back(size_);
      size_ += layout_.shard_sizes[k];
    }
    if (static_cast<int64_t>(layout_.shapes.size()) != 3 * size_) {
      throw std::invalid_argument("the shards hold " + std::to_string(size_) + " samples but " +
                                  std::to_string(layout_.shapes.size() / 3) + " shapes are given");
    }
    for (int64_t i = 0; i < size_; ++i) {
      const auto at = static_cast<size_t>(3 * i);
      if (layout_.shapes[at] < 1 || layout_.shapes[at + 1] < 1 ||
          layout_.shapes[at + 2] != layout_.shapes[2]) {
        throw std::invalid_argument("sample " + std::to_string(i) + " has a bad shape");
      }
    }
  }

  int64_t size() const override { return size_; }
  std::vector<ByteRange> extents() const override { return {}; }  // mapped files, opened later
  int64_t channels() const override { return layout_.shapes[2]; }
  DType dtype() const override { return layout_.dtype; }
  int64_t height(int64_t i) const override { return layout_.shapes[static_cast<size_t>(3 * i)]; }
  int64_t width(int64_t i) const override { return layout_.shapes[static_cast<size_t>(3 * i + 1)]; }
  const std::vector<int64_t>* sample_shapes() const override { return &layout_.shapes; }
  bool decodes() const override { return layout_.jpeg; }
  bool reads_ahead() const override { return true; }
  View check_view() const override {
    return View::empty(layout_.dtype, {1, height(0), width(0), channels()});
  }

  void will_read(std::span<const int64_t> samples) const noexcept override {
    size_t last = shards_.size();
    for (int64_t i : samples) {
      if (i < 0 || i >= size_) continue;
      const size_t k = shard_of(i);
      if (k == last) continue;
      last = k;
      if (shards_.closed(k)) provider_->prefetch(k);
    }
  }

  void resample_into(int64_t i, const ResizeGeometry& g, const ResizeOutput& out,
                     const JpegDecodeOptions& decode) const override {
    const size_t k = shard_of(i);
    const ImageSourcePtr shard = shards_.acquire(k, [this](size_t s) { return open_checked(s); });
    shard->resample_into(i - offsets_[k], g, out, decode);
  }

 private:
  size_t shard_of(int64_t i) const { return internal::part_of(offsets_, i); }

  /// Shard k from the provider, checked against the layout.
  ImageSourcePtr open_checked(size_t k) const {
    ImageSet set = provider_->open(k);
    const int64_t n = layout_.shard_sizes[k];
    if (set.size() != n) {
      throw std::runtime_error("shard " + std::to_string(k) + " holds " +
                               std::to_string(set.size()) + " images, the index says " +
                               std::to_string(n));
    }
    for (int64_t j = 0; j < n; ++j) {
      const auto at = static_cast<size_t>(3 * (offsets_[k] + j));
      if (set.height(j) != layout_.shapes[at] || set.width(j) != layout_.shapes[at + 1] ||
          set.channels() != layout_.shapes[at + 2]) {
        throw std::runtime_error("shard " + std::to_string(k) + " image " + std::to_string(j) +
                                 " is not the size the index says");
      }
    }
    if (set.dtype() != layout_.dtype || (set.format() == ImageFormat::Jpeg) != layout_.jpeg) {
      throw std::runtime_error("shard " + std::to_string(k) +
                               " is not in the dataset's format or dtype");
    }
    return image_source(std::move(set));
  }

  std::shared_ptr<const ImageShardProvider> provider_;
  ShardedImagesLayout layout_;
  std::vector<int64_t> offsets_;
  int64_t size_ = 0;
  internal::LazyShards<ImageSourcePtr> shards_;
};

}  // namespace

ImageSourcePtr sharded_image_source(std::shared_ptr<const ImageShardProvider> provider,
                                    ShardedImagesLayout layout) {
  return std::make_shared<ShardImages>(std::move(provider), std::move(layout));
}

}  // namespace nocopy
