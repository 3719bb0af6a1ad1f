// The image loader's binding: nc.Loader's keyword arguments parsed by the option table
// (loader_option_specs + the engine's), the image source chosen by type, and the typed plan.
// Everything else is _BatchEngine's (engine_bindings.cpp). No logic beyond conversion.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <limits>
#include <optional>
#include <tuple>
#include <vector>

#include "bindings.hpp"
#include "nocopy/pipeline/producers/loader.hpp"
#include "nocopy/pipeline/sampling/block_order.hpp"
#include "nocopy/pipeline/sampling/mixture_order.hpp"
#include "nocopy/pipeline/sources/concat_image_source.hpp"
#include "nocopy/storage/image_set.hpp"

namespace nocopy::bindings {
namespace {

/// The plan as (indices, top, left, mirror, height, width) lists.
std::tuple<std::vector<int64_t>, std::vector<int64_t>, std::vector<int64_t>, std::vector<bool>,
           std::vector<int64_t>, std::vector<int64_t>>
plan_lists(BatchPlan p) {
  std::vector<bool> mirror(p.mirror.begin(), p.mirror.end());
  return {std::move(p.indices), std::move(p.top),    std::move(p.left),
          std::move(mirror),    std::move(p.height), std::move(p.width)};
}

/// The image source of a Python object: an _ImageSet index (raw or JPEG), a _ShardedImages, or
/// an array.
ImageSourcePtr image_source_of(nb::handle images) {
  if (nb::isinstance<ImageSet>(images)) return image_source(nb::cast<ImageSet>(images));
  if (nb::isinstance<ShardedImages>(images)) return nb::cast<const ShardedImages&>(images).source;
  return image_source(view_from_object(images));
}

/// The parts of a list (shards, a Mixture's datasets) as one source.
ImageSourcePtr image_sources_of(nb::handle images) {
  if (!nb::isinstance<nb::list>(images)) return image_source_of(images);
  std::vector<ImageSourcePtr> parts;
  for (nb::handle h : images) parts.push_back(image_source_of(h));
  return concat_image_sources(std::move(parts));
}

}  // namespace

SampleOrderPtr mixture_order_from(nb::handle mixture, int64_t total, int64_t per_sample,
                                  bool shuffle, uint64_t seed) {
  // (sizes, weights, num_samples or None): dataset d the next sizes[d] samples of the sources.
  const nb::tuple m = nb::cast<nb::tuple>(mixture);
  std::vector<int64_t> sizes = int64_args(m[0], "sizes");
  std::vector<double> weights;
  for (nb::handle w : m[1]) weights.push_back(double_arg(w, "weights"));
  int64_t sum = 0;
  for (int64_t n : sizes) sum += n;
  if (sum != total) {
    throw std::invalid_argument("the mixture's datasets hold " + std::to_string(sum) +
                                " samples, its sources " + std::to_string(total));
  }
  const int64_t n =
      m[2].is_none() ? mixture_default_size(sizes, weights) : int64_arg(m[2], "num_samples");
  if (per_sample > 1) {
    if (n > std::numeric_limits<int64_t>::max() / per_sample) {
      throw std::invalid_argument("the mixture's num_samples " + std::to_string(n) +
                                  " is too large");
    }
    for (int64_t& size : sizes) size *= per_sample;
  }
  return std::make_shared<const MixtureOrder>(std::move(sizes), std::move(weights), n * per_sample,
                                              shuffle, seed);
}

void bind_loader(nb::module_& m) {
  m.def(
      "_mixture_counts",
      [](nb::handle weights, nb::handle num_samples) {
        std::vector<double> w;
        for (nb::handle v : weights) w.push_back(double_arg(v, "weights"));
        return mixture_counts(w, int64_arg(num_samples, "num_samples"));
      },
      nb::arg("weights"), nb::arg("num_samples"),
      "Slots of an epoch each dataset of a mixture gets (largest remainder).");
  m.def(
      "_mixture_default_size",
      [](nb::handle sizes, nb::handle weights) {
        std::vector<double> w;
        for (nb::handle v : weights) w.push_back(double_arg(v, "weights"));
        return mixture_default_size(int64_args(sizes, "sizes"), w);
      },
      nb::arg("sizes"), nb::arg("weights"),
      "The epoch size of a mixture without num_samples: the first dataset drawn about once.");
  nb::class_<Loader, BatchEngine>(m, "_Loader", "C++ core of nocopy.Loader (use nocopy.Loader)")
      .def(
          "__init__",
          [](Loader* self, nb::handle images, nb::handle labels, nb::kwargs options) {
            nb::object steps = nb::none(), mix = nb::none();
            if (options.contains("transforms")) {
              steps = options["transforms"];
              nb::del(options["transforms"]);
            }
            if (options.contains("batch_transforms")) {
              mix = options["batch_transforms"];
              nb::del(options["batch_transforms"]);
            }
            nb::object mixture = nb::none();
            if (options.contains("mixture")) {
              mixture = options["mixture"];
              nb::del(options["mixture"]);
            }
            const LoaderOptions o = options_from(options, loader_option_specs(), "Loader");
            std::optional<View> label_view;
            if (!labels.is_none()) label_view = view_from_object(labels);
            ImageSourcePtr source = image_sources_of(images);
            // The shards of a sharded dataset (a list of its shards, or a _ShardedImages), for
            // the block shuffle.
            std::vector<int64_t> shard_sizes;
            auto add_shards = [&](nb::handle h) {
              if (nb::isinstance<ShardedImages>(h)) {
                const auto& sizes = nb::cast<const ShardedImages&>(h).shard_sizes;
                shard_sizes.insert(shard_sizes.end(), sizes.begin(), sizes.end());
              } else {
                shard_sizes.push_back(image_source_of(h)->size());
              }
            };
            if (nb::isinstance<nb::list>(images)) {
              for (nb::handle h : images) add_shards(h);
            } else {
              add_shards(images);
            }
            SampleOrderPtr order;
            if (!mixture.is_none()) {
              order = mixture_order_from(mixture, source->size(), 1, o.shuffle, o.seed);
            }
            if (o.block_shards > 0 && !order && shard_sizes.size() > 1 && o.shuffle) {
              order = std::make_shared<const BlockOrder>(std::move(shard_sizes), o.block_shards,
                                                         o.seed);
            }
            TransformProgramPtr program;
            if (!steps.is_none()) {
              program = std::make_shared<const TransformProgram>(
                  transform_steps_from(steps), source->channels(), source->dtype());
            }
            BatchMixPtr batch_mix;
            if (!mix.is_none())
              batch_mix = std::make_shared<const BatchMixSpec>(batch_mix_from(mix));
            new (self) Loader(std::move(source), std::move(label_view), o, std::move(program),
                              std::move(batch_mix), std::move(order));
          },
          nb::arg("images"), nb::arg("labels").none(), nb::arg("options"),
          "images (an array, an _ImageSet, or a list of them read as one), labels, then "
          "nc.Loader's options as keyword arguments (mixture=(sizes, weights, num_samples or "
          "None): the list's parts mixed as datasets of those sizes).")
      .def_prop_ro(
          "sample_shape", [](const Loader& l) { return int_tuple(l.config().sample_shape); },
          "Shape of one output sample: (C, h, w) or (h, w, C).")
      .def(
          "plan_parameters",
          [](const Loader& l, nb::handle b, nb::handle epoch) {
            const int64_t index = int64_arg(b, "batch");
            const int64_t e = epoch.is_none() ? -1 : int64_arg(epoch, "epoch");
            BatchPlan p = without_gil([&] { return e < 0 ? l.plan(index) : l.plan(index, e); });
            nb::list steps;
            nb::list batch;
            if (!p.batch_parameters.empty()) {
              for (size_t f = 0; f < p.batch_parameters.size(); ++f) {
                batch.append(
                    nb::make_tuple(nb::str(kBatchMixParameterNames[f]), p.batch_parameters[f]));
              }
            }
            const TransformProgramPtr& program = l.typed_producer().program();
            if (!program) return nb::make_tuple(std::move(p.indices), steps, batch);
            steps = transform_parameter_columns(*program, p.parameters, p.parameter_count,
                                                static_cast<int64_t>(p.indices.size()));
            return nb::make_tuple(std::move(p.indices), steps, batch);
          },
          nb::arg("batch").none(), nb::arg("epoch").none() = nb::none(),
          "(indices, [(transform name, [(parameter, values per sample)])], [(batch transform "
          "parameter, value)]) of batch `batch` of `epoch` (default: current).")
      .def(
          "plan",
          [](const Loader& l, nb::handle b, nb::handle epoch) {
            const int64_t index = int64_arg(b, "batch");
            if (epoch.is_none()) return plan_lists(without_gil([&] { return l.plan(index); }));
            const int64_t e = int64_arg(epoch, "epoch");
            return plan_lists(without_gil([&] { return l.plan(index, e); }));
          },
          nb::arg("batch").none(), nb::arg("epoch").none() = nb::none(),
          "(indices, top, left, mirror, height, width) lists of batch `batch` of `epoch` "
          "(default: current).");
}

}  // namespace nocopy::bindings
