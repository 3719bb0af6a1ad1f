// Checkpoint values as messages show them.
#include "nocopy/pipeline/engine/engine_state.hpp"

namespace nocopy {

std::string checkpoint_value_text(const CheckpointValue& value) {
  struct Text {
    std::string operator()(std::monostate) const { return "None"; }
    std::string operator()(bool b) const { return b ? "True" : "False"; }
    std::string operator()(int64_t v) const { return std::to_string(v); }
    std::string operator()(uint64_t v) const { return std::to_string(v); }
    std::string operator()(const std::string& s) const { return "'" + s + "'"; }
  };
  return std::visit(Text{}, value);
}

}  // namespace nocopy
