// OptionSpec: how an option is declared once. Each options struct of a part (the engine's
// EngineOptions, an operator's CropWindowOptions, MirrorOptions, ...) has a table of specs, one
// row per field: the keyword name, the kind of value it takes (how the Python bindings parse it),
// its documentation, and a setter and getter of the field. A loader's options derive from its
// parts' structs and its table is theirs appended (append_specs). The bindings' keyword table,
// the Python signatures' defaults (read from a default-constructed struct through the getters)
// and the Python docstrings' option lists all come from these rows; a test fails when the Python
// signatures drift from them. To add an option: a field in its part's struct, its row in that
// part's table, its rule where the part checks its options.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "nocopy/core/allocator.hpp"

namespace nocopy {

/// A parsed option value: what a keyword argument becomes before it lands in its struct.
using OptionValue =
    std::variant<std::monostate, bool, int64_t, uint64_t, double, std::vector<double>,
                 std::array<int64_t, 2>, std::array<double, 2>, std::string, AllocatorPtr>;

/// The kind of value an option takes, which says how a keyword argument is parsed into an
/// OptionValue (and which alternative it holds).
enum class OptionKind : uint8_t {
  Int,            ///< an integer (int64_t)
  OptionalInt,    ///< None (monostate) or an integer
  Bool,           ///< True / False (bool; 1 and "yes" are refused)
  Real,           ///< a real number (double; bools and strings are refused)
  OptionalReal,   ///< None or a real number
  Reals,          ///< None, one real or a sequence of reals (std::vector<double>)
  OptionalRange,  ///< None or a (low, high) pair of reals (std::array<double, 2>)
  Crop,           ///< None, one int (a square) or an (h, w) pair (std::array<int64_t, 2>)
  Name,           ///< a name from a fixed set (std::string; the setter checks it)
  OptionalName,   ///< None or a name
  Seed,           ///< an integer in [0, 2**64) (uint64_t)
  Allocator,      ///< None or an allocator (AllocatorPtr; the bindings wrap a callable)
};

/// The declaration of one option of `Options`.
template <class Options>
struct OptionSpec {
  /// The keyword name (the Python argument and the C++ field).
  const char* name;
  /// How its value is parsed.
  OptionKind kind;
  /// What it means, its default and its limits, as users read them (one paragraph).
  const char* doc;
  /// Stores a parsed value in the struct (std::invalid_argument for a name outside its set).
  std::function<void(Options& options, const OptionValue& value)> set;
  /// Reads the field as an OptionValue (for defaults and messages).
  std::function<OptionValue(const Options& options)> get;
};

/// Appends the specs of `Part` (a base of `Options`) to a table of `Options`.
template <class Options, class Part>
void append_specs(std::vector<OptionSpec<Options>>& out, std::span<const OptionSpec<Part>> part) {
  for (const OptionSpec<Part>& s : part) {
    out.push_back({s.name, s.kind, s.doc,
                   [set = s.set](Options& o, const OptionValue& v) { set(o, v); },
                   [get = s.get](const Options& o) { return get(o); }});
  }
}

/// A value as Python writes it: None, True, 32, 0.5, (256, 256), 'random'.
std::string option_value_text(const OptionValue& value);

}  // namespace nocopy
