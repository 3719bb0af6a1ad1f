// How far ahead a loader tells its source which samples it will read (ImageSource::will_read):
// a sharded remote dataset fetches the shards of those batches in the background. Declared
// once, here; sources that read local data ignore it.
#pragma once

#include <cstdint>
#include <span>

#include "nocopy/core/option_spec.hpp"

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

}  // namespace nocopy
