// libFuzzer target for the sequence geometry: raw-file layouts, sliding windows and the
// sequence sampler's windows. Any input must either be rejected with a standard exception or
// give a layout inside the file, windows inside the view, and plans whose windows fit their
// source.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <vector>

#include "nocopy/core/sliding_window.hpp"
#include "nocopy/pipeline/producers/sequence_options.hpp"
#include "nocopy/pipeline/sampling/sequence_sampler.hpp"
#include "nocopy/pipeline/sampling/shard.hpp"
#include "nocopy/storage/raw_file.hpp"

namespace {

/// Reads the next 8 bytes (zero-padded) as an int64 and advances.
int64_t take(const uint8_t*& p, size_t& n) {
  uint8_t b[8] = {};
  const size_t k = n < 8 ? n : 8;
  std::memcpy(b, p, k);
  p += k;
  n -= k;
  int64_t v;
  std::memcpy(&v, b, 8);
  return v;
}

void fuzz_layout(const uint8_t* p, size_t n) {
  const auto file_size = static_cast<uint64_t>(take(p, n));
  const auto dtype = static_cast<nocopy::DType>(static_cast<uint64_t>(take(p, n)) % 13);
  const auto offset = static_cast<uint64_t>(take(p, n));
  std::optional<std::vector<int64_t>> shape;
  const int64_t ndim = take(p, n) % 5;
  if (ndim >= 0) {
    shape.emplace();
    for (int64_t i = 0; i < ndim; ++i) shape->push_back(take(p, n) % 70000);
  }
  try {
    const nocopy::RawLayout l = nocopy::raw_layout("f", file_size, dtype, shape, offset);
    if (offset > file_size || l.data_bytes > file_size - offset) std::abort();
  } catch (const std::exception&) {
  }
}

void fuzz_windows(const uint8_t* p, size_t n) {
  const int64_t len = take(p, n) % 5000;
  const int64_t size = take(p, n) % 6000;
  const int64_t step = take(p, n) % 100;
  if (len < 0) return;
  nocopy::View v = nocopy::View::empty(nocopy::DType::UInt8, {len});
  try {
    nocopy::View w = nocopy::sliding_windows(v, size, step, 0);
    if (w.shape()[0] > 0 && w.shape()[1] > 0) {
      const nocopy::ByteRange r = w.byte_extent();
      const nocopy::ByteRange all = v.byte_extent();
      if (r.begin < all.begin || r.end > all.end) std::abort();
    }
  } catch (const std::exception&) {
  }
}

void fuzz_sampler(const uint8_t* p, size_t n) {
  nocopy::SequenceOptions o;
  o.seq_len = take(p, n) % 300;
  o.batch_size = take(p, n) % 20;
  o.targets = static_cast<nocopy::SequenceTargets>(static_cast<uint64_t>(take(p, n)) % 3);
  o.horizon = take(p, n) % 50;
  o.step = take(p, n) % 40;
  o.shuffle = true;
  o.seed = static_cast<uint64_t>(take(p, n));
  o.drop_last = (take(p, n) & 1) != 0;
  o.world_size = take(p, n) % 9;
  o.rank = take(p, n) % 9;
  std::vector<int64_t> lengths;
  const int64_t count = take(p, n) % 6;
  for (int64_t i = 0; i < count; ++i) lengths.push_back(take(p, n) % 2000);
  try {
    o.validate();
    for (int64_t l : lengths) {
      if (l < 0) return;  // lengths come from view shapes, never negative
    }
    const nocopy::WindowSampling windows{
        o.seq_len, o.target_steps(), o.targets == nocopy::SequenceTargets::Horizon ? o.horizon : 0,
        o.step,    o.shuffle,        o.seed};
    nocopy::SequenceSampler s(lengths, windows);
    const nocopy::ShardGeometry geo(s.windows_per_epoch(), o.batch_size, o.world_size, o.rank,
                                    o.drop_last, 0);
    for (int64_t b = 0; b < geo.num_batches() && b < 4; ++b) {
      nocopy::SequencePlan plan = s.plan(static_cast<int64_t>(o.seed % 3), geo, b);
      for (size_t k = 0; k < plan.starts.size(); ++k) {
        const int64_t src = plan.sources[k];
        if (src < 0 || src >= static_cast<int64_t>(lengths.size())) std::abort();
        if (plan.starts[k] < 0 ||
            plan.starts[k] + s.window_steps() > lengths[static_cast<size_t>(src)]) {
          std::abort();
        }
      }
    }
  } catch (const std::exception&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t which = data[0] % 3;
  if (which == 0) fuzz_layout(data + 1, size - 1);
  if (which == 1) fuzz_windows(data + 1, size - 1);
  if (which == 2) fuzz_sampler(data + 1, size - 1);
  return 0;
}
