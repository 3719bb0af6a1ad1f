// Bindings of sharded datasets read shard by shard: _ShardedImages and _ShardedVideos, sources
// whose shards a Python object opens on demand (python_shard_provider.hpp). No logic beyond
// that; see nocopy/pipeline/sources/shard_image_source.hpp and video_source.hpp.
#include <nanobind/stl/string.h>

#include <memory>
#include <string>
#include <vector>

#include "bindings.hpp"
#include "nocopy/pipeline/sources/shard_image_source.hpp"
#include "python_shard_provider.hpp"

namespace nocopy::bindings {

void bind_shards(nb::module_& m) {
  nb::class_<ShardedImages>(m, "_ShardedImages",
                            "A sharded image dataset opened shard by shard (nocopy's remote "
                            "datasets; use them through nc.ImageSet.open(url)).")
      .def(
          "__init__",
          [](ShardedImages* self, nb::handle open, nb::handle prefetch, nb::handle shard_sizes,
             nb::handle shapes, const std::string& dtype, bool jpeg, nb::handle max_open) {
            ShardedImagesLayout layout;
            layout.shard_sizes = int64_args(shard_sizes, "shard_sizes");
            layout.shapes = int64_args(shapes, "shapes");
            layout.dtype = dtype_from_name(dtype);
            layout.jpeg = jpeg;
            layout.max_open = int64_arg(max_open, "max_open");
            auto provider = std::make_shared<const PythonShardProvider<ImageSet>>(open, prefetch,
                                                                                  "an _ImageSet");
            std::vector<int64_t> sizes = layout.shard_sizes;
            new (self) ShardedImages{sharded_image_source(std::move(provider), std::move(layout)),
                                     std::move(sizes)};
          },
          nb::arg("open"), nb::arg("prefetch"), nb::arg("shard_sizes"), nb::arg("shapes"),
          nb::arg("dtype"), nb::arg("jpeg"), nb::arg("max_open"),
          "open(k) -> _ImageSet and prefetch(k) (Python callables), the samples of each shard, "
          "every sample's (H, W, C) flat, the dtype name, whether the shards are JPEG, and how "
          "many shards stay open.")
      .def("__len__", [](const ShardedImages& s) { return s.source->size(); });

  nb::class_<ShardedVideos>(m, "_ShardedVideos",
                            "A sharded video dataset opened shard by shard (nocopy's remote "
                            "datasets; use them through nc.VideoSet.open(url)).")
      .def(
          "__init__",
          [](ShardedVideos* self, nb::handle open, nb::handle prefetch, nb::handle shard_sizes,
             nb::handle num_frames, nb::handle shapes, nb::handle max_open) {
            ShardedVideosLayout layout;
            layout.shard_sizes = int64_args(shard_sizes, "shard_sizes");
            layout.num_frames = int64_args(num_frames, "num_frames");
            layout.shapes = int64_args(shapes, "shapes");
            layout.max_open = int64_arg(max_open, "max_open");
            auto provider = std::make_shared<const PythonShardProvider<VideoSet>>(open, prefetch,
                                                                                  "a _VideoSet");
            new (self) ShardedVideos{
                std::make_shared<const VideoSource>(std::move(provider), std::move(layout))};
          },
          nb::arg("open"), nb::arg("prefetch"), nb::arg("shard_sizes"), nb::arg("num_frames"),
          nb::arg("shapes"), nb::arg("max_open"),
          "open(k) -> _VideoSet and prefetch(k) (Python callables), the videos of each shard, "
          "every video's frame count, every video's (H, W, 3) flat, and how many shards stay "
          "open.")
      .def("__len__", [](const ShardedVideos& s) { return s.source->size(); });
}

}  // namespace nocopy::bindings
