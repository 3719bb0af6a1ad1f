// ImageProducer: image batch slots planned from the epoch order and the operators' draws, filled
// by the crop or resampling
// kernel (decoding the window first for JPEG sets), with the label gathered beside them.
#include "nocopy/pipeline/producers/image_producer.hpp"

#include <cstring>
#include <utility>

#include "nocopy/pipeline/producers/typed_loader.hpp"

namespace nocopy {

ImageProducer::ImageProducer(ImageSourcePtr images, std::optional<View> labels,
                             const LoaderOptions& options)
    : options_(options),
      config_(resolve_loader_options(options, *images, labels)),
      images_(std::move(images)),
      labels_(std::move(labels)),
      order_(config_.num_samples, options.shuffle, options.seed),
      transform_(images_->check_view(), config_.transform) {
  outputs_.push_back({"images", options_.dtype, config_.sample_shape});
  if (labels_) {
    label_shape_.assign(labels_->shape().begin() + 1, labels_->shape().end());
    outputs_.push_back({"labels", labels_->dtype(), label_shape_});
  }
}

Batch ImageProducer::batch_of(EngineBatch&& batch) {
  return batch_of_outputs<Batch>(std::move(batch));
}

std::unique_ptr<ProducerPlan> ImageProducer::plan(int64_t epoch, const ShardGeometry& geometry,
                                                  int64_t b) const {
  const int64_t n = geometry.batch_len(b);
  const std::shared_ptr<const std::vector<int64_t>> held = order_.order(epoch);
  const std::vector<int64_t>& order = *held;
  const auto e = static_cast<uint64_t>(epoch);
  const uint64_t seed = options_.seed;
  const ImageSizes sizes{config_.num_samples, images_->height(0), images_->width(0),
                         images_->sample_shapes()};
  auto out = std::make_unique<TypedPlan<BatchPlan>>();
  BatchPlan& p = out->plan;
  p.indices.resize(static_cast<size_t>(n));
  p.top.resize(static_cast<size_t>(n));
  p.left.resize(static_cast<size_t>(n));
  p.height.resize(static_cast<size_t>(n));
  p.width.resize(static_cast<size_t>(n));
  p.mirror.resize(static_cast<size_t>(n));
  for (int64_t k = 0; k < n; ++k) {
    const auto slot = static_cast<size_t>(k);
    // Global position in the padded order: rank r takes start + r, start + r + world, ...;
    // positions past the end wrap around to the order's first samples.
    const uint64_t g = geometry.global(b, k);
    const int64_t i = order[g % order.size()];
    const CropWindow w =
        draw_crop_window(config_.crop, seed, e, g, sizes.height_of(i), sizes.width_of(i));
    p.indices[slot] = i;
    p.top[slot] = w.top;
    p.left[slot] = w.left;
    p.height[slot] = w.height;
    p.width[slot] = w.width;
    p.mirror[slot] = draw_mirror(config_.mirror, seed, e, g) ? 1 : 0;
  }
  out->size = n;
  return out;
}

int64_t ImageProducer::sample_of(const ProducerPlan& plan, int64_t slot) const {
  return static_cast<const TypedPlan<BatchPlan>&>(plan).plan.indices[static_cast<size_t>(slot)];
}

Stage ImageProducer::fill_stage() const {
  return images_->decodes() ? Stage::Decode : Stage::Kernel;
}

std::vector<ByteRange> ImageProducer::source_extents() const {
  std::vector<ByteRange> out = images_->extents();
  if (labels_) out.push_back(labels_->byte_extent());
  return out;
}

std::vector<CheckpointEntry> ImageProducer::resume_key() const {
  return {
      {"seed", options_.seed}, {"num_samples", config_.num_samples}, {"shuffle", options_.shuffle}};
}

void ImageProducer::gather_label(int64_t sample, char* dst) const {
  const View& l = *labels_;
  const auto item = static_cast<int64_t>(l.itemsize());
  const char* base = static_cast<const char*>(l.data()) + sample * l.strides()[0] * item;
  const size_t nd = label_shape_.size();
  int64_t total = 1;
  for (int64_t d : label_shape_) total *= d;
  std::vector<int64_t> idx(nd, 0);
  for (int64_t e = 0; e < total; ++e) {
    int64_t off = 0;
    for (size_t i = 0; i < nd; ++i) off += idx[i] * l.strides()[i + 1];
    std::memcpy(dst + e * item, base + off * item, static_cast<size_t>(item));
    for (size_t i = nd; i-- > 0;) {  // odometer over the label's own axes
      if (++idx[i] < label_shape_[i]) break;
      idx[i] = 0;
    }
  }
}

void ImageProducer::fill(const ProducerPlan& plan, int64_t slot, std::span<char* const> out) const {
  const BatchPlan& p = static_cast<const TypedPlan<BatchPlan>&>(plan).plan;
  const auto k = static_cast<size_t>(slot);
  if (config_.crop.resample) {
    // Resizing modes and ImageSets: the window through the resampling kernel (decoded first
    // for a JPEG source), with mirror, normalize, layout and dtype, in one pass.
    const ResizeGeometry g = window_geometry(
        config_.crop, CropWindow{p.top[k], p.left[k], p.height[k], p.width[k]}, p.mirror[k] != 0);
    const ResizeOutput o{out[0], options_.dtype, options_.layout == Layout::CHW,
                         transform_.multipliers().data(), transform_.offsets().data()};
    images_->resample_into(p.indices[k], g, o, options_);
  } else {
    transform_.apply(p.indices[k], p.top[k], p.left[k], p.mirror[k] != 0, out[0]);
  }
  if (labels_) gather_label(p.indices[k], out[1]);
}

}  // namespace nocopy
