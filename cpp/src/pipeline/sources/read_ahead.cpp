// The read-ahead option's declaration and check.
#include "nocopy/pipeline/sources/read_ahead.hpp"

#include <stdexcept>
#include <string>

namespace nocopy {
namespace {

using O = ReadAheadOptions;
using V = OptionValue;

constexpr int64_t kMaxFetchAhead = 1024;

const OptionSpec<ReadAheadOptions> kReadAheadSpecs[] = {
    {"fetch_ahead", OptionKind::Int,
     "Batches after each planned one whose shards a sharded remote dataset fetches in the "
     "background, from the plan (0: none; local data ignores it), in [0, 1024].",
     [](O& o, const V& v) { o.fetch_ahead = std::get<int64_t>(v); },
     [](const O& o) -> V { return o.fetch_ahead; }},
};

}  // namespace

std::span<const OptionSpec<ReadAheadOptions>> read_ahead_option_specs() {
  return kReadAheadSpecs;
}

void check_read_ahead(const ReadAheadOptions& o) {
  if (o.fetch_ahead < 0 || o.fetch_ahead > kMaxFetchAhead) {
    throw std::invalid_argument("fetch_ahead " + std::to_string(o.fetch_ahead) +
                                " must be in [0, " + std::to_string(kMaxFetchAhead) + "]");
  }
}

}  // namespace nocopy
