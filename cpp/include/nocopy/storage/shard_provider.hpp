// ShardProvider: where the shards of a sharded dataset come from when they are not all open at
// once: a remote store with a local cache (the Python side downloads, verifies and maps a shard),
// or any other place. A loader asks for shard k when a sample of it is read, and hints the shards
// of the batches ahead, so the provider can fetch them in the background. One template for every
// kind of shard: an ImageSet, a VideoSet, a token sequence (a View).
#pragma once

#include <cstddef>

namespace nocopy {

/// The shards of one dataset, each a `Shard`, opened on demand.
template <class Shard>
class ShardProvider {
 public:
  virtual ~ShardProvider() = default;
  /// Shard k opened (fetched first when it is not local): blocks until it is; throws
  /// (std::system_error / std::runtime_error naming the shard) when it cannot be had.
  virtual Shard open(size_t k) const = 0;
  /// Starts fetching shard k in the background (a hint: must not throw or block for long).
  virtual void prefetch(size_t /*k*/) const noexcept {}
};

}  // namespace nocopy
