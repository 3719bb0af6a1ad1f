// concat_sequence_parts: one provider over the parts, each sequence its part's view or its
// part's provider's sequence.
#include "nocopy/pipeline/sources/sequence_parts.hpp"

#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

#include "internal/checked_math.hpp"

namespace nocopy {

namespace {

/// Where one sequence comes from: a view, or sequence `k` of a provider.
struct PartSequence {
  View view;
  std::shared_ptr<const SequenceShardProvider> provider;
  size_t k = 0;
};

/// The provider of the parts end to end.
class ConcatProvider final : public SequenceShardProvider {
 public:
  explicit ConcatProvider(std::vector<PartSequence> sequences) : sequences_(std::move(sequences)) {}

  View open(size_t k) const override {
    const PartSequence& s = sequences_.at(k);
    return s.provider ? s.provider->open(s.k) : s.view;
  }

  void prefetch(size_t k) const noexcept override {
    if (k >= sequences_.size()) return;
    const PartSequence& s = sequences_[k];
    if (s.provider) s.provider->prefetch(s.k);
  }

 private:
  std::vector<PartSequence> sequences_;
};

/// The row shape of a view given up front: () for 1-D, (F) for 2-D.
std::vector<int64_t> row_shape_of(const View& v, const std::string& name) {
  if (v.ndim() == 1) return {};
  if (v.ndim() == 2) return {v.shape()[1]};
  throw std::invalid_argument(name + " has shape " + format_tuple(v.shape()) +
                              "; sequences are 1-D (tokens) or 2-D (steps, features)");
}

}  // namespace

LazySequences concat_sequence_parts(std::vector<SequencePart> parts) {
  if (parts.empty()) throw std::invalid_argument("data has no part");
  LazySequences out;
  out.layout.max_open = 0;
  std::vector<PartSequence> sequences;
  bool first = true;
  for (size_t p = 0; p < parts.size(); ++p) {
    const std::string name = "part " + std::to_string(p);
    // Each sequence's row shape and dtype, checked against the first one's.
    auto check = [&](const std::vector<int64_t>& rows, DType dtype) {
      if (first) {
        out.layout.row_shape = rows;
        out.layout.dtype = dtype;
        first = false;
        return;
      }
      if (rows != out.layout.row_shape || dtype != out.layout.dtype) {
        throw std::invalid_argument(name + " holds rows of shape " + format_tuple(rows) + " " +
                                    std::string(dtype_name(dtype)) + " but part 0 holds " +
                                    format_tuple(out.layout.row_shape) + " " +
                                    std::string(dtype_name(out.layout.dtype)));
      }
    };
    if (auto* views = std::get_if<std::vector<View>>(&parts[p])) {
      if (views->empty()) throw std::invalid_argument(name + " has no sequence");
      for (View& v : *views) {
        v.require_host(name.c_str());
        check(row_shape_of(v, name), v.dtype());
        out.layout.lengths.push_back(v.shape()[0]);
        out.layout.max_open = checked_add(out.layout.max_open, int64_t{1}, "max_open");
        sequences.push_back({std::move(v), nullptr, 0});
      }
      continue;
    }
    LazySequences& lazy = std::get<LazySequences>(parts[p]);
    if (!lazy.provider || lazy.layout.lengths.empty()) {
      throw std::invalid_argument(name + " has no sequence or no provider");
    }
    check(lazy.layout.row_shape, lazy.layout.dtype);
    out.layout.max_open = checked_add(out.layout.max_open, lazy.layout.max_open, "max_open");
    for (size_t k = 0; k < lazy.layout.lengths.size(); ++k) {
      out.layout.lengths.push_back(lazy.layout.lengths[k]);
      sequences.push_back({View(), lazy.provider, k});
    }
  }
  out.provider = std::make_shared<const ConcatProvider>(std::move(sequences));
  return out;
}

}  // namespace nocopy
