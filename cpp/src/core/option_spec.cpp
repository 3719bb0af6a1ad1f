// Option values as Python writes them.
#include "nocopy/core/option_spec.hpp"

#include "internal/format_number.hpp"

namespace nocopy {

namespace {

/// "(a, b, ...)" of already formatted items ("(a,)" for one), built by appending (GCC 12 warns
/// spuriously about "(" + std::string temporaries).
std::string tuple_text(const std::vector<std::string>& items) {
  std::string out(1, '(');
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out.append(", ");
    out.append(items[i]);
  }
  if (items.size() == 1) out.push_back(',');
  out.push_back(')');
  return out;
}

}  // namespace

std::string option_value_text(const OptionValue& value) {
  struct Text {
    std::string operator()(std::monostate) const { return "None"; }
    std::string operator()(bool b) const { return b ? "True" : "False"; }
    std::string operator()(int64_t v) const { return std::to_string(v); }
    std::string operator()(uint64_t v) const { return std::to_string(v); }
    std::string operator()(double v) const { return format_number(v); }
    std::string operator()(const std::vector<double>& v) const {
      std::vector<std::string> items;
      for (double x : v) items.push_back(format_number(x));
      return tuple_text(items);
    }
    std::string operator()(const std::array<int64_t, 2>& v) const {
      return tuple_text({std::to_string(v[0]), std::to_string(v[1])});
    }
    std::string operator()(const std::array<double, 2>& v) const {
      return tuple_text({format_number(v[0]), format_number(v[1])});
    }
    std::string operator()(const std::string& s) const {
      std::string quoted(1, '\'');
      quoted.append(s).push_back('\'');
      return quoted;
    }
    std::string operator()(const AllocatorPtr& a) const { return a ? "<allocator>" : "None"; }
  };
  return std::visit(Text{}, value);
}

}  // namespace nocopy
