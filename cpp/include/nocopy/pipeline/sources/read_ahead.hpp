// How far ahead a loader tells its source which samples it will read (ImageSource::will_read):
// a sharded remote dataset fetches the shards of those batches in the background. Declared
// once, here; sources that read local data ignore it.
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "nocopy/core/option_spec.hpp"
#include "nocopy/pipeline/sampling/shard.hpp"

namespace nocopy {

/// The read-ahead option (nc.Loader's keyword argument of the same name).
struct ReadAheadOptions {
  /// Batches after each planned one whose samples the source hears of, in [0, 1024].
  int64_t fetch_ahead = 4;
};

/// The declarations of ReadAheadOptions.
std::span<const OptionSpec<ReadAheadOptions>> read_ahead_option_specs();

/// std::invalid_argument naming the option, its value and the limit.
void check_read_ahead(const ReadAheadOptions& options);

/// Hands `hint` the samples of each of the `fetch_ahead` batches after batch b of `geometry`
/// (fewer at the epoch's end), one batch at a time: sample = order[global position %
/// order.size()] / per_sample (per_sample > 1 when the order counts clips of samples).
void hint_batches_ahead(std::span<const int64_t> order, const ShardGeometry& geometry, int64_t b,
                        int64_t fetch_ahead, int64_t per_sample,
                        const std::function<void(std::span<const int64_t>)>& hint);

}  // namespace nocopy
