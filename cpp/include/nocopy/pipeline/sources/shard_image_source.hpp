// A sharded image dataset read shard by shard: every sample's size is known up front (the
// dataset's global shapes), so batches are planned without any shard; a shard is opened through
// its provider when a worker first reads one of its samples (one opening per shard even when
// several workers ask at once; the others wait for it) and kept open while it is among the
// `max_open` shards used last. The loader's read-ahead hints (will_read) ask the provider to
// fetch the shards of the batches ahead.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "nocopy/core/dtype.hpp"
#include "nocopy/pipeline/sources/image_source.hpp"
#include "nocopy/storage/image_set.hpp"
#include "nocopy/storage/shard_provider.hpp"

namespace nocopy {

/// The shards of a sharded image dataset, opened on demand.
using ImageShardProvider = ShardProvider<ImageSet>;

/// What a sharded source knows before any shard is open.
struct ShardedImagesLayout {
  /// Samples in each shard (each >= 1), in order.
  std::vector<int64_t> shard_sizes;
  /// Flat (H, W, C) of every sample, shards end to end.
  std::vector<int64_t> shapes;
  /// Element type and whether the shards hold JPEG (decoded when read).
  DType dtype = DType::UInt8;
  bool jpeg = false;
  /// Shards kept open at most (>= 1); the least recently used beyond it are closed.
  int64_t max_open = 16;
};

/// The source over `provider`'s shards; std::invalid_argument when the layout is inconsistent
/// (sizes vs shapes, no shard, channels that differ).
ImageSourcePtr sharded_image_source(std::shared_ptr<const ImageShardProvider> provider,
                                    ShardedImagesLayout layout);

}  // namespace nocopy
