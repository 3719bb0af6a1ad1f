// SequenceOptions: parsing of the targets name and the one validation of every option.
#include "nocopy/pipeline/ops/sequence_options.hpp"

#include <stdexcept>
#include <string>
#include <variant>

namespace nocopy {
namespace {

void require(bool ok, const std::string& message) {
  if (!ok) throw std::invalid_argument(message);
}

}  // namespace

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

void SequenceOptions::validate() const {
  EngineOptions::validate();
  require(seq_len >= 1, "seq_len " + std::to_string(seq_len) + " must be >= 1");
  require(targets != SequenceTargets::Horizon || horizon >= 1,
          "horizon " + std::to_string(horizon) + " must be >= 1");
  require(step >= 0, "step " + std::to_string(step) + " must be >= 1 (or None: random starts)");
  require(shuffle || step >= 1,
          "shuffle=False needs step=k (every k-th window in order); random starts (step=None) "
          "are shuffled by definition");
  require(dtype != DType::Bool && !is_complex(dtype),
          "dtype " + std::string(dtype_name(dtype)) +
              " is not a sequence output type (use an integer or floating type)");
}

int64_t SequenceOptions::target_steps() const {
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

int64_t SequenceOptions::target_len() const {
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

namespace {

using Spec = OptionSpec<SequenceOptions>;
using O = SequenceOptions;
using V = OptionValue;

bool none(const V& v) {
  return std::holds_alternative<std::monostate>(v);
}

const Spec kSequenceSpecs[] = {
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
    {"shuffle", OptionKind::Bool,
     "Shuffle the windows of step mode each epoch (random starts are shuffled by definition).",
     [](O& o, const V& v) { o.shuffle = std::get<bool>(v); },
     [](const O& o) -> V { return o.shuffle; }},
    {"seed", OptionKind::Seed,
     "Key of every random decision (window starts, order), in [0, 2**64).",
     [](O& o, const V& v) { o.seed = std::get<uint64_t>(v); },
     [](const O& o) -> V { return o.seed; }},
};

}  // namespace

std::span<const OptionSpec<SequenceOptions>> sequence_option_specs() {
  return kSequenceSpecs;
}

}  // namespace nocopy
