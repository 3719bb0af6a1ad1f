// The video loader's binding: nc.VideoLoader's keyword arguments parsed by the option table
// (video_option_specs), the transforms compiled for RGB frames, and the typed plan. Everything
// else is _BatchEngine's (engine_bindings.cpp). No logic beyond conversion.
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <optional>
#include <string>
#include <vector>

#include "bindings.hpp"
#include "nocopy/pipeline/producers/video_loader.hpp"
#include "nocopy/pipeline/sampling/block_order.hpp"

namespace nocopy::bindings {
namespace {

/// The source of a _VideoSet, a _ShardedVideos (shards opened on demand), or a list of them
/// read as one (a sharded set's shards, a mixture's datasets).
VideoSourcePtr video_source_of(nb::handle videos) {
  if (nb::isinstance<ShardedVideos>(videos)) return nb::cast<const ShardedVideos&>(videos).source;
  if (!nb::isinstance<nb::list>(videos)) {
    return std::make_shared<const VideoSource>(nb::cast<VideoSet>(videos));
  }
  bool lazy = false;
  for (nb::handle h : videos) lazy = lazy || nb::isinstance<ShardedVideos>(h);
  if (!lazy) {  // every set open: one source over them
    std::vector<VideoSet> sets;
    for (nb::handle h : videos) sets.push_back(nb::cast<VideoSet>(h));
    return std::make_shared<const VideoSource>(std::move(sets));
  }
  std::vector<VideoSourcePtr> parts;
  for (nb::handle h : videos) parts.push_back(video_source_of(h));
  if (parts.size() == 1) return parts[0];
  return std::make_shared<const VideoSource>(std::move(parts));
}

}  // namespace

void bind_video_loader(nb::module_& m) {
  nb::class_<VideoLoader, BatchEngine>(m, "_VideoLoader",
                                       "C++ core of nocopy.VideoLoader (use nocopy.VideoLoader)")
      .def(
          "__init__",
          [](VideoLoader* self, nb::handle videos, nb::handle labels, nb::kwargs options) {
            nb::object steps = nb::none();
            if (options.contains("transforms")) {
              steps = options["transforms"];
              nb::del(options["transforms"]);
            }
            nb::object mixture = nb::none();
            if (options.contains("mixture")) {
              mixture = options["mixture"];
              nb::del(options["mixture"]);
            }
            const VideoLoaderOptions o = options_from(options, video_option_specs(), "VideoLoader");
            std::optional<View> label_view;
            if (!labels.is_none()) label_view = view_from_object(labels);
            VideoSourcePtr source = video_source_of(videos);
            VideoTransformPtr program;
            if (!steps.is_none()) {
              program = std::make_shared<const TransformProgram>(transform_steps_from(steps), 3,
                                                                 DType::UInt8);
            }
            SampleOrderPtr order;
            if (!mixture.is_none()) {
              o.validate();  // clips_per_video scales the mixture
              order =
                  mixture_order_from(mixture, source->size(), o.clips_per_video, o.shuffle, o.seed);
            } else if (o.block_shards > 0 && o.shuffle && source->shard_sizes().size() > 1) {
              // Shards shuffled, then the clips of each block: a shard's clip ids are the
              // consecutive video * clips_per_video + clip of its videos.
              o.validate();
              std::vector<int64_t> clips = source->shard_sizes();
              for (int64_t& c : clips) c *= o.clips_per_video;
              order = std::make_shared<const BlockOrder>(std::move(clips), o.block_shards, o.seed);
            }
            new (self) VideoLoader(std::move(source), std::move(label_view), o, std::move(program),
                                   std::move(order));
          },
          nb::arg("videos"), nb::arg("labels").none(), nb::arg("options"),
          "videos (a _VideoSet, a _ShardedVideos, or a list of them read as one), labels, then "
          "nc.VideoLoader's "
          "options as keyword arguments.")
      .def_prop_ro(
          "clip_shape",
          [](const VideoLoader& l) { return int_tuple(l.typed_producer().clip_shape()); },
          "Shape of one output clip, in the layout's order.")
      .def_prop_ro("clips_per_epoch", &VideoLoader::clips_per_epoch,
                   "Clips per epoch over all ranks.")
      .def(
          "plan",
          [](const VideoLoader& l, nb::handle b, nb::handle epoch) {
            const int64_t index = int64_arg(b, "batch");
            const int64_t e = epoch.is_none() ? -1 : int64_arg(epoch, "epoch");
            VideoPlan p = without_gil([&] { return e < 0 ? l.plan(index) : l.plan(index, e); });
            nb::list steps;
            const VideoTransformPtr& program = l.typed_producer().program();
            if (program) {
              steps = transform_parameter_columns(*program, p.parameters, p.parameter_count,
                                                  static_cast<int64_t>(p.indices.size()));
            }
            return nb::make_tuple(std::move(p.indices), std::move(p.clips), std::move(p.frames),
                                  steps);
          },
          nb::arg("batch").none(), nb::arg("epoch").none() = nb::none(),
          "(indices, clips, frames (flat, clip_len per slot), [(transform name, [(parameter, "
          "values per clip)])]) of batch `batch` of `epoch` (default: current).");
}

}  // namespace nocopy::bindings
