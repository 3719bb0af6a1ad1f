// EngineOptions: the on_error names and the one validation of the engine's options.
#include "nocopy/pipeline/engine/engine_options.hpp"

#include <stdexcept>
#include <string>
#include <variant>

namespace nocopy {
namespace {

/// `value` in [lo, hi], or std::invalid_argument naming the option.
void require_in(int64_t value, int64_t lo, int64_t hi, const char* name) {
  if (value < lo || value > hi) {
    throw std::invalid_argument(std::string(name) + " " + std::to_string(value) + " is not in [" +
                                std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
}

}  // namespace

OnError on_error_from_name(std::string_view name) {
  if (name == "raise") return OnError::Raise;
  if (name == "skip") return OnError::Skip;
  throw std::invalid_argument("on_error '" + std::string(name) + "' is not one of 'raise', 'skip'");
}

std::string_view on_error_name(OnError policy) {
  return policy == OnError::Skip ? "skip" : "raise";
}

void EngineOptions::validate() const {
  if (batch_size < 1) {
    throw std::invalid_argument("batch_size " + std::to_string(batch_size) + " must be >= 1");
  }
  if (world_size < 1) {
    throw std::invalid_argument("world_size " + std::to_string(world_size) + " must be >= 1");
  }
  if (rank < 0 || rank >= world_size) {
    throw std::invalid_argument("rank " + std::to_string(rank) +
                                " is not in [0, world_size=" + std::to_string(world_size) + ")");
  }
  if (num_threads) require_in(*num_threads, 1, kMaxLoaderThreads, "num_threads");
  require_in(prefetch, 1, kMaxPrefetch, "prefetch");
}

namespace {

using Spec = OptionSpec<EngineOptions>;
using O = EngineOptions;
using V = OptionValue;

int64_t int_of(const V& v) {
  return std::get<int64_t>(v);
}

const Spec kEngineSpecs[] = {
    {"batch_size", OptionKind::Int,
     "Samples per batch (>= 1); the last batch of an epoch may be smaller unless drop_last.",
     [](O& o, const V& v) { o.batch_size = int_of(v); },
     [](const O& o) -> V { return o.batch_size; }},
    {"drop_last", OptionKind::Bool,
     "Trim the epoch so ranks divide it evenly and drop each rank's last partial batch (else "
     "pad by wrapping around, like DistributedSampler).",
     [](O& o, const V& v) { o.drop_last = std::get<bool>(v); },
     [](const O& o) -> V { return o.drop_last; }},
    {"num_threads", OptionKind::OptionalInt,
     "Worker threads in [1, 1024]; None uses the cores this process may run on.",
     [](O& o, const V& v) {
       o.num_threads =
           std::holds_alternative<std::monostate>(v) ? std::nullopt : std::optional(int_of(v));
     },
     [](const O& o) -> V { return o.num_threads ? V(*o.num_threads) : V(); }},
    {"prefetch", OptionKind::Int, "Batches prepared ahead of the consumer, in [1, 1024].",
     [](O& o, const V& v) { o.prefetch = int_of(v); }, [](const O& o) -> V { return o.prefetch; }},
    {"allocator", OptionKind::Allocator,
     "Where batch buffers come from: fn(nbytes) returning a writable, 64-byte aligned buffer of "
     "at least nbytes (kept and reused; batches are written straight into it), or None for "
     "aligned heap memory.",
     [](O& o, const V& v) { o.allocator = std::get<AllocatorPtr>(v); },
     [](const O& o) -> V { return o.allocator; }},
    {"rank", OptionKind::Int, "This process's shard in [0, world_size).",
     [](O& o, const V& v) { o.rank = int_of(v); }, [](const O& o) -> V { return o.rank; }},
    {"world_size", OptionKind::Int,
     "Number of shards (>= 1); every rank gets the same number of batches.",
     [](O& o, const V& v) { o.world_size = int_of(v); },
     [](const O& o) -> V { return o.world_size; }},
    {"on_error", OptionKind::Name,
     "A sample that fails: 'raise' (nc.LoaderError naming it) or 'skip' (its slot gets a copy "
     "of the next sample of the batch that did not fail).",
     [](O& o, const V& v) { o.on_error = on_error_from_name(std::get<std::string>(v)); },
     [](const O& o) -> V { return std::string(on_error_name(o.on_error)); }},
};

}  // namespace

std::span<const OptionSpec<EngineOptions>> engine_option_specs() {
  return kEngineSpecs;
}

}  // namespace nocopy
