// EngineOptions: the knobs every loader shares, because the batch engine implements them (batch
// size, sharding, worker threads, prefetch, where batch buffers come from, what a failing sample
// does), declared once here and validated once, by validate(). Each loader's own options
// (LoaderOptions, SequenceOptions) derive from this struct.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "nocopy/core/allocator.hpp"
#include "nocopy/core/option_spec.hpp"

namespace nocopy {

/// Most worker threads a loader starts.
inline constexpr int64_t kMaxLoaderThreads = 1024;
/// Most batches a loader prepares ahead of the consumer.
inline constexpr int64_t kMaxPrefetch = 1024;

/// What a loader does with a sample that fails (a corrupt JPEG, a token that does not fit):
/// raise a LoaderError naming it, or put a copy of the next sample of the same batch that did
/// not fail in its slot.
enum class OnError : uint8_t { Raise, Skip };
/// The policy named `name` ("raise" or "skip"); std::invalid_argument for any other.
OnError on_error_from_name(std::string_view name);
/// The name of a policy, as on_error_from_name accepts it.
std::string_view on_error_name(OnError policy);

/// The options the batch engine implements for every loader (same names as the Python keyword
/// arguments).
struct EngineOptions {
  /// Samples per batch (>= 1); the last batch of an epoch may be smaller unless drop_last.
  int64_t batch_size = 32;
  /// Trim to equal shards and drop the last partial batch.
  bool drop_last = false;
  /// Worker threads in [1, kMaxLoaderThreads]; absent means the cores this process may use.
  std::optional<int64_t> num_threads;
  /// Batches produced ahead of the consumer, in [1, kMaxPrefetch].
  int64_t prefetch = 2;
  /// Where batch buffers come from (pinned host memory, a caller's arena); null means
  /// default_allocator(). The pool keeps and reuses its blocks and writes batches into them.
  AllocatorPtr allocator;
  /// Shard of this process in [0, world_size) (DistributedSampler semantics).
  int64_t rank = 0;
  /// Number of shards (>= 1).
  int64_t world_size = 1;
  /// A failing sample: Raise (LoaderError) or Skip (its slot gets a copy of the next sample of
  /// the same batch, cyclically, that did not fail; see BatchEngine::next).
  OnError on_error = OnError::Raise;

  /// Throws std::invalid_argument naming the option, its value and the limit.
  void validate() const;
};

/// The declarations of the engine's options (every loader takes them).
std::span<const OptionSpec<EngineOptions>> engine_option_specs();

/// `options` after options.validate(): for checking a loader's options before its producer is
/// built from them.
template <class Options>
const Options& validated(const Options& options) {
  options.validate();
  return options;
}

}  // namespace nocopy
