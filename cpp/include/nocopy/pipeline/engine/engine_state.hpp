// The position of a loader's stream and its checkpoint: what state_dict() saves and
// load_state_dict() restores, one format for every loader.
//
// The epoch rule, the same for every loader: next() returns batch `batch` of epoch `epoch`; once
// an epoch's last batch is delivered the position is (epoch, batches of the epoch): the epoch
// stays current (epoch, the batch count, plan(i) and the state all describe it) until the next
// batch is asked for or an iteration over the epoch ends, which moves the position to batch 0 of
// the next epoch. A checkpoint names the loader's kind and the configuration its order depends
// on, so a state from another kind of loader, or from a differently configured one, is refused.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace nocopy {

/// Position of the stream: the next batch next() returns.
struct LoaderState {
  /// Epoch of the next batch.
  int64_t epoch = 0;
  /// Index of the next batch within its epoch, counted from `start`.
  int64_t batch = 0;
  /// Global position of the epoch's order where its batch 0 starts: 0, or where a state saved
  /// with another world size or batch size left off (elastic resume; see ShardGeometry).
  int64_t start = 0;

  bool operator==(const LoaderState&) const = default;
};

/// What next() did.
enum class NextStatus {
  Ready,     ///< a batch was delivered
  Timeout,   ///< the timeout passed first; nothing changed
  EpochEnd,  ///< next_in_epoch: the epoch asked for has no batch left (nothing delivered)
};

/// One configuration value a checkpoint records (none, a flag, a count, a seed, a name).
using CheckpointValue = std::variant<std::monostate, bool, int64_t, uint64_t, std::string>;

/// One named entry of a checkpoint's configuration.
struct CheckpointEntry {
  /// The option's name, as the Python keyword argument spells it.
  std::string name;
  /// Its value.
  CheckpointValue value;
};

/// A loader's resumable position with everything it depends on.
struct Checkpoint {
  /// The loader's kind ("Loader", "SequenceLoader", ...): a state resumes only the same kind.
  std::string kind;
  /// The position (see LoaderState).
  int64_t epoch = 0, batch = 0, start = 0;
  /// Global position of the next batch: all ranks together have consumed the positions
  /// [0, position) of the epoch's order.
  int64_t position = 0;
  /// Every option the order depends on (the producer's and the engine's), in a fixed order.
  std::vector<CheckpointEntry> config;
};

/// The value as text, the way messages show it (true / 3 / 'next').
std::string checkpoint_value_text(const CheckpointValue& value);

}  // namespace nocopy
