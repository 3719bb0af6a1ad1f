// SequenceOptions: every knob of the sequence loader, the sum of its parts' options, each
// declared once where the part lives: the engine's (EngineOptions; drop_last is true by default
// here), the order's (OrderOptions: shuffle, seed) and the window operator's
// (SequenceWindowOptions) and the source's read-ahead (ReadAheadOptions: fetch_ahead, for
// sources opened on demand). validate() checks them all (the data-dependent checks happen when the
// loader sees its sources); the Python nc.SequenceLoader's keyword arguments are parsed by
// sequence_option_specs(), the parts' tables appended.
#pragma once

#include <span>

#include "nocopy/core/option_spec.hpp"
#include "nocopy/pipeline/engine/engine_options.hpp"
#include "nocopy/pipeline/ops/sequence_window.hpp"
#include "nocopy/pipeline/sampling/epoch_order.hpp"
#include "nocopy/pipeline/sources/read_ahead.hpp"

namespace nocopy {

/// Options of a SequenceLoader, inherited from its parts.
struct SequenceOptions : EngineOptions, OrderOptions, SequenceWindowOptions, ReadAheadOptions {
  SequenceOptions() { drop_last = true; }
  /// Throws std::invalid_argument naming the option, its value and the limit (every part's).
  void validate() const;
};

/// The declarations of every option of the sequence loader (its parts' tables).
std::span<const OptionSpec<SequenceOptions>> sequence_option_specs();

}  // namespace nocopy
