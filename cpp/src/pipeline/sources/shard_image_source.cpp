// ShardImages: per-shard slots (closed, opening, open) under one mutex and condition
// variable; the opening itself runs outside the lock, by the first worker that asks.
#include "nocopy/pipeline/sources/shard_image_source.hpp"

#include <algorithm>
#include <condition_variable>
#include <list>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>

#include "internal/part_of.hpp"

namespace nocopy {
namespace {

class ShardImages final : public ImageSource {
 public:
  ShardImages(std::shared_ptr<const ImageShardProvider> provider, ShardedImagesLayout layout)
      : provider_(std::move(provider)), layout_(std::move(layout)) {
    if (!provider_) throw std::invalid_argument("a sharded source needs a shard provider");
    if (layout_.shard_sizes.empty()) throw std::invalid_argument("a sharded dataset has no shard");
    if (layout_.max_open < 1) throw std::invalid_argument("max_open must be >= 1");
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
    slots_.resize(layout_.shard_sizes.size());
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
    size_t last = slots_.size();
    for (int64_t i : samples) {
      if (i < 0 || i >= size_) continue;
      const size_t k = shard_of(i);
      if (k == last) continue;
      last = k;
      bool wanted = false;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        wanted = slots_[k].state == State::Closed;
      }
      if (wanted) provider_->prefetch(k);
    }
  }

  void resample_into(int64_t i, const ResizeGeometry& g, const ResizeOutput& out,
                     const JpegDecodeOptions& decode) const override {
    const size_t k = shard_of(i);
    const ImageSourcePtr shard = acquire(k);
    shard->resample_into(i - offsets_[k], g, out, decode);
  }

 private:
  enum class State : uint8_t { Closed, Opening, Open };
  struct Slot {
    State state = State::Closed;
    ImageSourcePtr source;
  };

  size_t shard_of(int64_t i) const { return internal::part_of(offsets_, i); }

  /// Shard k open: opened here by the first worker that asks, waited for by the others.
  ImageSourcePtr acquire(size_t k) const {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      Slot& s = slots_[k];
      if (s.state == State::Open) {
        touch(k);
        return s.source;
      }
      if (s.state == State::Opening) {
        opened_.wait(lock);
        continue;
      }
      // Closed (never opened, closed, or its last opening failed): open it.
      s.state = State::Opening;
      lock.unlock();
      ImageSourcePtr opened;
      try {
        opened = open_checked(k);
      } catch (...) {
        lock.lock();
        slots_[k].state = State::Closed;
        opened_.notify_all();
        throw;
      }
      lock.lock();
      slots_[k].state = State::Open;
      slots_[k].source = opened;
      touch(k);
      close_beyond_limit(k);
      opened_.notify_all();
      return opened;
    }
  }

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

  /// Marks shard k used last (the mutex is held).
  void touch(size_t k) const {
    used_.remove(k);
    used_.push_front(k);
  }

  /// Closes the least recently used open shards beyond max_open, never `keep` (mutex held).
  /// A worker reading one keeps its own reference until it is done.
  void close_beyond_limit(size_t keep) const {
    while (static_cast<int64_t>(used_.size()) > layout_.max_open) {
      const size_t k = used_.back();
      used_.pop_back();
      if (k == keep) {
        used_.push_front(k);
        continue;
      }
      slots_[k].state = State::Closed;
      slots_[k].source.reset();
    }
  }

  std::shared_ptr<const ImageShardProvider> provider_;
  ShardedImagesLayout layout_;
  std::vector<int64_t> offsets_;
  int64_t size_ = 0;
  mutable std::mutex mutex_;
  mutable std::condition_variable opened_;
  mutable std::vector<Slot> slots_;
  mutable std::list<size_t> used_;  // open shards, most recently used first
};

}  // namespace

ImageSourcePtr sharded_image_source(std::shared_ptr<const ImageShardProvider> provider,
                                    ShardedImagesLayout layout) {
  return std::make_shared<ShardImages>(std::move(provider), std::move(layout));
}

}  // namespace nocopy
