// SequenceOptions: parsing of the targets name and the one validation of every option.
#include "nocopy/pipeline/ops/sequence_options.hpp"

#include <stdexcept>
#include <string>

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

void SequenceOptions::validate() const {
  require(seq_len >= 1, "seq_len " + std::to_string(seq_len) + " must be >= 1");
  require(batch_size >= 1, "batch_size " + std::to_string(batch_size) + " must be >= 1");
  require(targets != SequenceTargets::Horizon || horizon >= 1,
          "horizon " + std::to_string(horizon) + " must be >= 1");
  require(step >= 0, "step " + std::to_string(step) + " must be >= 1 (or None: random starts)");
  require(shuffle || step >= 1,
          "shuffle=False needs step=k (every k-th window in order); random starts (step=None) "
          "are shuffled by definition");
  require(prefetch >= 1, "prefetch " + std::to_string(prefetch) + " must be >= 1");
  require(num_threads <= 1024,
          "num_threads " + std::to_string(num_threads) + " is above the limit 1024");
  require(world_size >= 1, "world_size " + std::to_string(world_size) + " must be >= 1");
  require(rank >= 0 && rank < world_size,
          "rank " + std::to_string(rank) +
              " is not in [0, world_size=" + std::to_string(world_size) + ")");
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

}  // namespace nocopy
