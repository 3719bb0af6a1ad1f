// The loaders' hand-off: what next() costs beyond the work of the slots. A SequenceLoader over a
// small resident token array with one-step windows does next to no copying, so its time per
// batch is the engine's per-batch overhead: planning, queueing the chunks on the worker
// threads, waking them, the last chunk waking the consumer, the buffer and the views. Printed
// for batches of 1 and 64 slots, with 1 and 2 worker threads, as the median microseconds per
// batch over rounds of 20,000 batches (rounds alternate the configurations).
//
// Build and run (make cpp-test builds build/cpp/libnocopy.a first, then this file):
//   g++ -O2 -std=c++20 -Icpp/include bench/handoff.cpp build/cpp/libnocopy.a -pthread
//       -o build/handoff
//   build/handoff
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "nocopy/pipeline/producers/sequence_loader.hpp"

namespace {

constexpr int kRounds = 9, kBatchesPerRound = 20000;

struct Config {
  int64_t batch;
  int threads;
};

/// Median over `kBatchesPerRound` batches of one loader, in microseconds per batch.
double round_us(const nocopy::View& tokens, const Config& c) {
  nocopy::SequenceOptions o;
  o.seq_len = 1;
  o.batch_size = c.batch;
  o.num_threads = c.threads;
  o.prefetch = 2;
  nocopy::SequenceLoader loader({tokens}, o);
  nocopy::SequenceBatch b;
  for (int i = 0; i < 100; ++i) loader.next(b);  // warm: threads started, buffers allocated
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < kBatchesPerRound; ++i) loader.next(b);
  const auto t1 = std::chrono::steady_clock::now();
  return std::chrono::duration<double, std::micro>(t1 - t0).count() / kBatchesPerRound;
}

}  // namespace

int main() {
  nocopy::View tokens = nocopy::View::empty(nocopy::DType::UInt16, {1 << 16});
  for (int64_t i = 0; i < tokens.size(); ++i) {
    tokens.data_as<uint16_t>()[i] = static_cast<uint16_t>(i);
  }
  const Config configs[] = {{1, 1}, {1, 2}, {64, 1}, {64, 2}};
  std::vector<std::vector<double>> us(std::size(configs));
  for (int r = 0; r < kRounds; ++r) {
    for (size_t c = 0; c < std::size(configs); ++c) us[c].push_back(round_us(tokens, configs[c]));
  }
  std::printf("| slots per batch | worker threads | us per batch (median of %d rounds) |\n",
              kRounds);
  std::printf("|---:|---:|---:|\n");
  for (size_t c = 0; c < std::size(configs); ++c) {
    std::sort(us[c].begin(), us[c].end());
    std::printf("| %lld | %d | %.2f |\n", static_cast<long long>(configs[c].batch),
                configs[c].threads, us[c][us[c].size() / 2]);
  }
  return 0;
}
