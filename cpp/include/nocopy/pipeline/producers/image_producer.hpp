// ImageProducer: what one slot of an image batch holds: a sample of an image source (a uniform
// array, a raw or JPEG ImageSet) through the fused crop / resample / mirror / normalize / layout /
// dtype pass, and its label. Its plan of a batch takes each slot's sample from the epoch order
// and draws its window and mirror flag from the operators (ops/crop_window, ops/mirror), all pure
// functions of (seed, epoch, global position). The batch engine runs it (nocopy::Loader is the
// two together).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "nocopy/core/view.hpp"
#include "nocopy/pipeline/engine/batch_engine.hpp"
#include "nocopy/pipeline/engine/batch_producer.hpp"
#include "nocopy/pipeline/kernels/sample_transform.hpp"
#include "nocopy/pipeline/ops/mix_batch.hpp"
#include "nocopy/pipeline/ops/transform_program.hpp"
#include "nocopy/pipeline/producers/loader_options.hpp"
#include "nocopy/pipeline/sampling/epoch_order.hpp"
#include "nocopy/pipeline/sources/image_source.hpp"

namespace nocopy {

/// The plan of one image batch: sample indices and each sample's window and mirror flag.
struct BatchPlan {
  /// Dataset index of each sample.
  std::vector<int64_t> indices;
  /// Window origin (row, column) in the source image of each sample.
  std::vector<int64_t> top, left;
  /// Window size (rows, columns) in the source image of each sample: the crop for the plain
  /// modes, the drawn window for random_resized, the whole image for resize_center.
  std::vector<int64_t> height, width;
  /// 1 when the sample is mirrored horizontally, else 0.
  std::vector<uint8_t> mirror;
  /// With transforms: each sample's drawn parameters (TransformProgram::draw), `parameter_count`
  /// values per sample, samples one after another.
  std::vector<double> parameters;
  int64_t parameter_count = 0;
  /// With batch transforms: the batch's draws (kBatchMixParameterNames order).
  std::vector<double> batch_parameters;
};

/// A compiled transforms pipeline shared by a producer and its caller.
using TransformProgramPtr = std::shared_ptr<const TransformProgram>;
/// Batch transforms shared by a producer and its caller.
using BatchMixPtr = std::shared_ptr<const BatchMixSpec>;

/// One delivered image batch; its views keep the batch buffer alive.
struct Batch {
  /// (n, C, h, w) or (n, h, w, C), C-contiguous, 64-byte aligned.
  View images;
  /// (n, ...) gathered labels, when the loader has labels.
  std::optional<View> labels;
  /// Which batch of which epoch this is.
  int64_t epoch = 0, index = 0;
};

/// The image loader's producer.
class ImageProducer final : public BatchProducer {
 public:
  /// Its plan of a batch (held in a TypedPlan<BatchPlan>).
  using Plan = BatchPlan;
  /// One delivered batch.
  using Batch = nocopy::Batch;
  /// The images and labels of an engine batch of this producer.
  static Batch batch_of(EngineBatch&& batch);

  /// Checks `options` against the images and labels (resolve_loader_options, the Sampler and
  /// SampleTransform checks: std::invalid_argument / BufferError with the value and the limit).
  /// With a transforms `program`, the shorthand options must keep their defaults
  /// (std::invalid_argument naming the first one given) and the program's output size must be
  /// the same for every image (std::invalid_argument naming an image). With batch transforms
  /// `mix`, labels are needed, one integer per image, and the labels output becomes float32
  /// (num_classes) soft labels (a label outside [0, num_classes) fails its sample).
  /// With an `order` (a Mixture's), the epochs follow it instead of the uniform EpochOrder
  /// over the images (its samples index the images).
  ImageProducer(ImageSourcePtr images, std::optional<View> labels, const LoaderOptions& options,
                TransformProgramPtr program = nullptr, BatchMixPtr mix = nullptr,
                SampleOrderPtr order = nullptr);

  std::string_view kind() const override { return "Loader"; }
  int64_t epoch_size() const override { return order_->size(); }
  const std::vector<SlotOutput>& outputs() const override { return outputs_; }
  std::unique_ptr<ProducerPlan> plan(int64_t epoch, const ShardGeometry& geometry,
                                     int64_t b) const override;
  void fill(const ProducerPlan& plan, int64_t slot, std::span<char* const> out) const override;
  int64_t sample_of(const ProducerPlan& plan, int64_t slot) const override;
  Stage fill_stage() const override;
  void finish_batch(const ProducerPlan& plan, std::span<char* const> outputs) const override;
  std::vector<ByteRange> source_extents() const override;
  std::vector<CheckpointEntry> resume_key() const override;

  /// The options resolved against the images (what the sampler and transform were built from).
  const LoaderConfig& config() const { return config_; }
  /// The images.
  const ImageSource& images() const { return *images_; }
  /// The transforms pipeline, or null.
  const TransformProgramPtr& program() const { return program_; }
  /// The batch transforms, or null.
  const BatchMixPtr& mix() const { return mix_; }

 private:
  void one_hot_label(int64_t sample, char* dst) const;
  void fill_transformed(const BatchPlan& plan, size_t k, char* out) const;
  /// Tells a read-ahead source the samples of batch b and of the fetch_ahead batches after it.
  void hint_reads(const std::vector<int64_t>& order, const ShardGeometry& geometry, int64_t b,
                  const std::vector<int64_t>& planned) const;

  LoaderOptions options_;
  LoaderConfig config_;
  ImageSourcePtr images_;
  std::optional<View> labels_;
  SampleOrderPtr order_;
  TransformProgramPtr program_;
  BatchMixPtr mix_;
  std::optional<SampleTransform> transform_;
  std::vector<int64_t> label_shape_;  // one label (labels shape without the first axis)
  std::vector<SlotOutput> outputs_;
};

}  // namespace nocopy
