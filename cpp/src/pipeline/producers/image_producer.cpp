// ImageProducer: image batch slots planned from the epoch order and the operators' draws, filled
// by the crop or resampling
// kernel (decoding the window first for JPEG sets), with the label gathered beside them.
#include "nocopy/pipeline/producers/image_producer.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "nocopy/core/dtype_visit.hpp"
#include "nocopy/pipeline/kernels/label_gather.hpp"
#include "nocopy/pipeline/ops/transform_apply.hpp"
#include "nocopy/pipeline/producers/typed_loader.hpp"
#include "nocopy/pipeline/sampling/block_order.hpp"
#include "pipeline/producers/batches_ahead.hpp"

namespace nocopy {

namespace {

/// The options the transforms replace: with a program they must keep their defaults.
constexpr std::string_view kShorthandOptions[] = {"crop",   "crop_mode",     "area",   "ratio",
                                                  "resize", "interpolation", "mirror", "mean",
                                                  "std",    "scale",         "dtype"};

/// The loader configuration of a transforms pipeline over `images`: the shorthand options
/// refused when given, one output size for every image.
LoaderConfig transform_config(const LoaderOptions& o, const ImageSource& images,
                              const std::optional<View>& labels, const TransformProgram& program) {
  const LoaderOptions defaults;
  for (const auto& spec : loader_option_specs()) {
    const bool shorthand = std::find(std::begin(kShorthandOptions), std::end(kShorthandOptions),
                                     spec.name) != std::end(kShorthandOptions);
    if (shorthand && !(spec.get(o) == spec.get(defaults))) {
      throw std::invalid_argument(std::string(spec.name) +
                                  " is a shorthand for transforms; with transforms= leave it "
                                  "out and give the transform instead (nocopy.transforms)");
    }
  }
  LoaderConfig c;
  c.num_samples = images.size();
  if (c.num_samples < 1) {
    throw std::invalid_argument("images has " + std::to_string(c.num_samples) +
                                " samples; need at least 1");
  }
  check_loader_labels(labels, c.num_samples);
  std::array<int64_t, 2> size{-1, -1};
  const int64_t checked = images.sample_shapes() ? c.num_samples : 1;
  for (int64_t i = 0; i < checked; ++i) {
    std::string why;
    const auto s = program.output_size(images.height(i), images.width(i), &why);
    const std::string image = "image " + std::to_string(i) + " (" +
                              std::to_string(images.height(i)) + ", " +
                              std::to_string(images.width(i)) + ")";
    if (s[0] < 0) throw std::invalid_argument("transforms cannot run on " + image + ": " + why);
    for (const TransformStep& step : program.steps()) {
      // The blur reflects its borders: half its kernel must fit the sample.
      if (step.kind == StepKind::GaussianBlur &&
          (step.kernel[0] / 2 >= s[1] || step.kernel[1] / 2 >= s[0])) {
        throw std::invalid_argument("GaussianBlur: kernel_size (" + std::to_string(step.kernel[0]) +
                                    ", " + std::to_string(step.kernel[1]) +
                                    ") is too large for samples of " + std::to_string(s[0]) +
                                    " x " + std::to_string(s[1]));
      }
    }
    if (i > 0 && s != size) {
      throw std::invalid_argument(
          "transforms make image 0 (" + std::to_string(size[0]) + ", " + std::to_string(size[1]) +
          ") but " + image + " (" + std::to_string(s[0]) + ", " + std::to_string(s[1]) +
          "): a batch needs one size; end the geometry with a fixed-size transform "
          "(CenterCrop, RandomResizedCrop, Resize((h, w)))");
    }
    size = s;
  }
  c.crop.crop_h = size[0];
  c.crop.crop_w = size[1];
  c.crop.resample = true;
  c.mirror = 0.0;
  c.transform.crop_h = size[0];
  c.transform.crop_w = size[1];
  c.transform.layout = o.layout;
  c.transform.dtype = program.output_dtype();
  const int64_t C = program.output_channels();
  c.sample_shape = o.layout == Layout::CHW ? std::vector<int64_t>{C, size[0], size[1]}
                                           : std::vector<int64_t>{size[0], size[1], C};
  return c;
}

}  // namespace

ImageProducer::ImageProducer(ImageSourcePtr images, std::optional<View> labels,
                             const LoaderOptions& options, TransformProgramPtr program,
                             BatchMixPtr mix, SampleOrderPtr order)
    : options_(options),
      config_(program ? transform_config(options, *images, labels, *program)
                      : resolve_loader_options(options, *images, labels)),
      images_(std::move(images)),
      labels_(std::move(labels)),
      order_(order ? std::move(order)
                   : std::make_shared<const EpochOrder>(config_.num_samples, options.shuffle,
                                                        options.seed)),
      program_(std::move(program)),
      mix_(std::move(mix)) {
  check_read_ahead(options_);
  check_block_shuffle(options_, options_.shuffle, *order_, "a ShardedImageSet or a remote one");
  if (!program_) transform_.emplace(images_->check_view(), config_.transform);
  const DType dtype = program_ ? program_->output_dtype() : options_.dtype;
  outputs_.push_back({"images", dtype, config_.sample_shape});
  if (mix_) {
    validate_batch_mix(*mix_);
    if (!labels_ || labels_->ndim() != 1 || !IntegerDTypes::contains(labels_->dtype())) {
      throw std::invalid_argument(
          "MixUp / CutMix need labels: one integer class per image (an (N,) integer array)");
    }
    if (!is_mixup_dtype(dtype)) {
      throw std::invalid_argument(
          "MixUp / CutMix need float32, float16, bfloat16 or uint8 "
          "images, not " +
          std::string(dtype_name(dtype)));
    }
    label_shape_ = {mix_->num_classes};
    outputs_.push_back({"labels", DType::Float32, label_shape_});
  } else if (labels_) {
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
  const std::shared_ptr<const std::vector<int64_t>> held = order_->order(epoch);
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
  if (program_) {
    p.parameter_count = program_->parameter_count();
    p.parameters.reserve(static_cast<size_t>(n * p.parameter_count));
  }
  for (int64_t k = 0; k < n; ++k) {
    const auto slot = static_cast<size_t>(k);
    // Global position in the padded order: rank r takes start + r, start + r + world, ...;
    // positions past the end wrap around to the order's first samples.
    const uint64_t g = geometry.global(b, k);
    const int64_t i = order[g % order.size()];
    p.indices[slot] = i;
    if (program_) {
      const int64_t h = sizes.height_of(i), w = sizes.width_of(i);
      const SampleParameters v = program_->draw(seed, e, g, h, w);
      p.parameters.insert(p.parameters.end(), v.begin(), v.end());
      p.height[slot] = h;
      p.width[slot] = w;
      for (size_t s = 0; s < program_->steps().size(); ++s) {
        if (program_->steps()[s].kind != StepKind::RandomResizedCrop) continue;
        const double* r = v.data() + program_->parameter_offset(s);
        p.top[slot] = static_cast<int64_t>(r[0]);
        p.left[slot] = static_cast<int64_t>(r[1]);
        p.height[slot] = static_cast<int64_t>(r[2]);
        p.width[slot] = static_cast<int64_t>(r[3]);
      }
      continue;
    }
    const CropWindow w =
        draw_crop_window(config_.crop, seed, e, g, sizes.height_of(i), sizes.width_of(i));
    p.indices[slot] = i;
    p.top[slot] = w.top;
    p.left[slot] = w.left;
    p.height[slot] = w.height;
    p.width[slot] = w.width;
    p.mirror[slot] = draw_mirror(config_.mirror, seed, e, g) ? 1 : 0;
  }
  if (mix_) {
    const int64_t h = config_.crop.crop_h, w = config_.crop.crop_w;
    const BatchMixParams m = draw_batch_mix(*mix_, seed, e, geometry.global(b, 0), h, w);
    p.batch_parameters = {static_cast<double>(m.choice),
                          m.lam,
                          static_cast<double>(m.box.y1),
                          static_cast<double>(m.box.y2),
                          static_cast<double>(m.box.x1),
                          static_cast<double>(m.box.x2),
                          m.box.lam};
  }
  if (images_->reads_ahead()) hint_reads(order, geometry, b, p.indices);
  out->size = n;
  return out;
}

void ImageProducer::hint_reads(const std::vector<int64_t>& order, const ShardGeometry& geometry,
                               int64_t b, const std::vector<int64_t>& planned) const {
  // This batch's samples, then those of the fetch_ahead batches after it in the epoch.
  images_->will_read(planned);
  hint_batches_ahead(order, geometry, b, options_.fetch_ahead, 1,
                     [this](std::span<const int64_t> ahead) { images_->will_read(ahead); });
}

void ImageProducer::finish_batch(const ProducerPlan& plan, std::span<char* const> outputs) const {
  if (!mix_) return;
  const BatchPlan& p = static_cast<const TypedPlan<BatchPlan>&>(plan).plan;
  const std::vector<double>& v = p.batch_parameters;
  BatchMixParams m;
  m.choice = static_cast<int64_t>(v[0]);
  m.lam = v[1];
  m.box = {static_cast<int64_t>(v[2]), static_cast<int64_t>(v[3]), static_cast<int64_t>(v[4]),
           static_cast<int64_t>(v[5]), v[6]};
  const bool chw = options_.layout == Layout::CHW;
  const std::vector<int64_t>& shape = config_.sample_shape;
  const int64_t channels = chw ? shape[0] : shape[2];
  apply_batch_mix(*mix_, m, outputs[0], outputs_[0].dtype, options_.layout, plan.size, channels,
                  config_.crop.crop_h, config_.crop.crop_w, reinterpret_cast<float*>(outputs[1]));
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
  return {{"seed", options_.seed}, {"num_samples", order_->size()}, {"shuffle", options_.shuffle}};
}

void ImageProducer::fill(const ProducerPlan& plan, int64_t slot, std::span<char* const> out) const {
  const BatchPlan& p = static_cast<const TypedPlan<BatchPlan>&>(plan).plan;
  const auto k = static_cast<size_t>(slot);
  if (program_) {
    fill_transformed(p, k, out[0]);
  } else if (config_.crop.resample) {
    // Resizing modes and ImageSets: the window through the resampling kernel (decoded first
    // for a JPEG source), with mirror, normalize, layout and dtype, in one pass.
    const ResizeGeometry g = window_geometry(
        config_.crop, CropWindow{p.top[k], p.left[k], p.height[k], p.width[k]}, p.mirror[k] != 0);
    const ResizeOutput o{out[0], options_.dtype, options_.layout == Layout::CHW,
                         transform_->multipliers().data(), transform_->offsets().data()};
    images_->resample_into(p.indices[k], g, o, options_);
  } else {
    transform_->apply(p.indices[k], p.top[k], p.left[k], p.mirror[k] != 0, out[0]);
  }
  if (mix_) {
    one_hot_label(p.indices[k], out[1]);
  } else if (labels_) {
    gather_label(*labels_, label_shape_, p.indices[k], out[1]);
  }
}

void ImageProducer::one_hot_label(int64_t sample, char* dst) const {
  const View& l = *labels_;
  const char* at = static_cast<const char*>(l.data()) +
                   sample * l.strides()[0] * static_cast<int64_t>(l.itemsize());
  const int64_t label = visit_dtype<IntegerDTypes>(l.dtype(), "labels", [&]<class T>(dtype_tag<T>) {
    T value;
    std::memcpy(&value, at, sizeof value);
    bool negative = false;
    if constexpr (std::is_signed_v<T>) negative = value < 0;
    if (negative || static_cast<uint64_t>(value) >= static_cast<uint64_t>(mix_->num_classes)) {
      throw std::invalid_argument(
          "label " + std::to_string(value) + " of sample " + std::to_string(sample) +
          " is outside [0, num_classes=" + std::to_string(mix_->num_classes) + ")");
    }
    return static_cast<int64_t>(value);
  });
  auto* row = reinterpret_cast<float*>(dst);
  std::fill(row, row + mix_->num_classes, 0.0f);
  row[label] = 1.0f;
}

void ImageProducer::fill_transformed(const BatchPlan& p, size_t k, char* out) const {
  struct Scratch {
    SampleGeometry geometry;
    TransformScratch transform;
  };
  static thread_local Scratch scratch;  // per worker: no allocation once warm
  const TransformProgram& program = *program_;
  const auto count = static_cast<size_t>(p.parameter_count);
  const std::span<const double> params(p.parameters.data() + k * count, count);
  const int64_t i = p.indices[k];
  sample_geometry(program, params, images_->height(i), images_->width(i), scratch.geometry);
  const SourceResampler resample = [&](const ResizeGeometry& g, const ResizeOutput& o) {
    images_->resample_into(i, g, o, options_);
  };
  apply_transforms(program, params, scratch.geometry, images_->channels(), resample, out,
                   options_.layout == Layout::CHW, scratch.transform);
}

}  // namespace nocopy
