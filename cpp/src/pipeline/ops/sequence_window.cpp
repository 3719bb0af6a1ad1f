// The sequence window operator: the targets names, its option table and its checks.
#include "nocopy/pipeline/ops/sequence_window.hpp"

#include <stdexcept>
#include <string>
#include <variant>

namespace nocopy {
namespace {

using O = SequenceWindowOptions;
using V = OptionValue;

void require(bool ok, const std::string& message) {
  if (!ok) throw std::invalid_argument(message);
}

bool none(const V& v) {
  return std::holds_alternative<std::monostate>(v);
}

const OptionSpec<SequenceWindowOptions> kWindowSpecs[] = {
    {"seq_len", OptionKind::Int, "Steps in each input window (>= 1).",
     [](O& o, const V& v) { o.seq_len = std::get<int64_t>(v); },
     [](const O& o) -> V { return o.seq_len; }},
    {"targets", OptionKind::OptionalName,
     "What y holds: 'next' (the window shifted by one step), 'horizon' (the `horizon` steps "
     "after the window) or None (no y).",
     [](O& o, const V& v) {
       o.targets =
           none(v) ? SequenceTargets::None : sequence_targets_from_string(std::get<std::string>(v));
       if (!none(v) && o.targets == SequenceTargets::None) {
         throw std::invalid_argument("targets 'none' is spelled None");
       }
     },
     [](const O& o) -> V {
       return o.targets == SequenceTargets::None ? V()
                                                 : V(std::string(sequence_targets_name(o.targets)));
     }},
    {"horizon", OptionKind::Int, "Steps y holds with targets='horizon' (>= 1).",
     [](O& o, const V& v) { o.horizon = std::get<int64_t>(v); },
     [](const O& o) -> V { return o.horizon; }},
    {"step", OptionKind::OptionalInt,
     "None: each window starts at a uniformly random valid position, about (usable steps / "
     "seq_len) windows per epoch; k >= 1: windows start at 0, k, 2k, ... of each sequence, "
     "shuffled, so an epoch covers the data once.",
     [](O& o, const V& v) {
       if (none(v)) {
         o.step = 0;
         return;
       }
       const int64_t k = std::get<int64_t>(v);
       if (k < 1) {
         throw std::invalid_argument("step " + std::to_string(k) +
                                     " must be >= 1 (or None: random starts)");
       }
       o.step = k;
     },
     [](const O& o) -> V { return o.step == 0 ? V() : V(o.step); }},
    {"dtype", OptionKind::Name,
     "Output dtype (int64 by default); integer tokens must fit it, and integer output needs "
     "integer data.",
     [](O& o, const V& v) { o.dtype = dtype_from_name(std::get<std::string>(v)); },
     [](const O& o) -> V { return std::string(dtype_name(o.dtype)); }},
};

}  // namespace

std::span<const OptionSpec<SequenceWindowOptions>> sequence_window_option_specs() {
  return kWindowSpecs;
}

SequenceTargets sequence_targets_from_string(std::string_view text) {
  if (text == "next") return SequenceTargets::Next;
  if (text == "horizon") return SequenceTargets::Horizon;
  if (text == "none") return SequenceTargets::None;
  throw std::invalid_argument("targets '" + std::string(text) +
                              "' is not one of 'next', 'horizon', None");
}

std::string_view sequence_targets_name(SequenceTargets targets) {
  switch (targets) {
    case SequenceTargets::Next:
      return "next";
    case SequenceTargets::Horizon:
      return "horizon";
    case SequenceTargets::None:
      return "none";
  }
  return "?";
}

void check_sequence_window(const SequenceWindowOptions& o, bool shuffle) {
  require(o.seq_len >= 1, "seq_len " + std::to_string(o.seq_len) + " must be >= 1");
  require(o.targets != SequenceTargets::Horizon || o.horizon >= 1,
          "horizon " + std::to_string(o.horizon) + " must be >= 1");
  require(o.step >= 0, "step " + std::to_string(o.step) + " must be >= 1 (or None: random starts)");
  require(shuffle || o.step >= 1,
          "shuffle=False needs step=k (every k-th window in order); random starts (step=None) "
          "are shuffled by definition");
  require(o.dtype != DType::Bool && !is_complex(o.dtype),
          "dtype " + std::string(dtype_name(o.dtype)) +
              " is not a sequence output type (use an integer or floating type)");
}

int64_t SequenceWindowOptions::target_steps() const {
  switch (targets) {
    case SequenceTargets::Next:
      return 1;
    case SequenceTargets::Horizon:
      return horizon;
    case SequenceTargets::None:
      return 0;
  }
  return 0;
}

int64_t SequenceWindowOptions::target_len() const {
  switch (targets) {
    case SequenceTargets::Next:
      return seq_len;
    case SequenceTargets::Horizon:
      return horizon;
    case SequenceTargets::None:
      return 0;
  }
  return 0;
}

}  // namespace nocopy
