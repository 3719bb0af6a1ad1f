// SequenceOptions: the one validation of every part's options and the loader's option table.
#include "nocopy/pipeline/producers/sequence_options.hpp"

#include <vector>

namespace nocopy {

void SequenceOptions::validate() const {
  EngineOptions::validate();
  check_sequence_window(*this, shuffle);
  check_read_ahead(*this);
}

std::span<const OptionSpec<SequenceOptions>> sequence_option_specs() {
  static const std::vector<OptionSpec<SequenceOptions>> specs = [] {
    std::vector<OptionSpec<SequenceOptions>> out;
    append_specs(out, sequence_window_option_specs());
    append_specs(out, order_option_specs());
    append_specs(out, engine_option_specs());
    append_specs(out, read_ahead_option_specs());
    return out;
  }();
  return specs;
}

}  // namespace nocopy
