// What the two workloads of bench_sequence.py cost without a loader, against the loader, in one
// run: 64 random windows per batch, copied into batch buffers used in turn (the loader's
// prefetch 2 + 2) from an array far larger than the cache,
//   - tokens: 1024 + 1 uint16 steps of 100M tokens (200 MiB), x and the shifted y as int64;
//   - series: 512 + 24 steps of a (1,000,000, 32) float32 series (128 MiB), x and the horizon.
// Methods, each with the cores' threads:
//   - kernel, no loader: each thread converts its share of every batch's windows with the
//     core's kernel (memcpy for the series), no synchronisation between batches: what the
//     copies alone cost here, the rate any loader that copies windows is bounded by;
//   - streaming stores, no loader (series): the same with non-temporal stores (x86-64), which
//     bypass the cache, so whoever uses the batch reads it back from memory;
//   - nocopy::SequenceLoader::next() with as many worker threads (no Python).
// Each is also given as a share of bench_sequence.py's bound: max(read bytes at the best
// streaming read rate (memchr over 512 MiB), written bytes at the best write rate (memset over
// the 4 batch buffers)), sampled every round. Rounds alternate the methods so that machine
// noise hits each alike; medians over the rounds.
//
// Build and run (make cpp-test builds build/cpp/libnocopy.a first, then this file):
//   g++ -O2 -std=c++20 -Icpp/include bench/sequence_reference.cpp build/cpp/libnocopy.a
//       -pthread -o build/sequence_reference
//   build/sequence_reference
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#if defined(__x86_64__)
#include <emmintrin.h>
#endif

#include "nocopy/core/copy.hpp"
#include "nocopy/core/thread_pool.hpp"
#include "nocopy/pipeline/producers/sequence_loader.hpp"

namespace {

constexpr int64_t kBatch = 64;
constexpr int kBuffers = 4, kRounds = 15, kBatchesPerRound = 100;

/// One workload: the source, its windows and how one window is copied into its x and y slots.
struct Workload {
  std::string name;
  nocopy::View source;
  int64_t steps, features, len, y_start, y_len;
  nocopy::DType out;
  size_t in_item, out_item;

  size_t row_in() const { return static_cast<size_t>(features) * in_item; }
  size_t x_slot() const { return static_cast<size_t>(len * features) * out_item; }
  size_t y_slot() const { return static_cast<size_t>(y_len * features) * out_item; }
  size_t batch_bytes() const { return kBatch * (x_slot() + y_slot()); }
  size_t read_bytes() const {
    return kBatch * static_cast<size_t>(std::max(len, y_start + y_len)) * row_in();
  }
};

using WindowCopy = void (*)(const Workload&, const char* src, char* x, char* y);

void kernel_copy(const Workload& w, const char* src, char* x, char* y) {
  const auto elems = [&](int64_t rows) { return rows * w.features; };
  const auto in = static_cast<int64_t>(w.in_item), out = static_cast<int64_t>(w.out_item);
  const nocopy::DType from = w.source.dtype();
  nocopy::convert_elements(src, in, from, x, out, w.out, elems(w.len));
  nocopy::convert_elements(src + static_cast<size_t>(w.y_start) * w.row_in(), in, from, y, out,
                           w.out, elems(w.y_len));
}

/// Non-temporal 16-byte stores of n bytes (same dtype in and out).
void stream_bytes(char* dst, const char* src, size_t n) {
#if defined(__x86_64__)
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    _mm_stream_si128(reinterpret_cast<__m128i*>(dst + i),
                     _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i)));
  }
  std::memcpy(dst + i, src + i, n - i);
#else
  std::memcpy(dst, src, n);
#endif
}

void streaming_copy(const Workload& w, const char* src, char* x, char* y) {
  stream_bytes(x, src, w.x_slot());
  stream_bytes(y, src + static_cast<size_t>(w.y_start) * w.row_in(), w.y_slot());
}

using Buffers = std::vector<std::unique_ptr<char[]>>;

/// Runs work(t) on `threads` threads (t = 0 on this one) and returns the seconds it took.
template <class Work>
double timed_on_threads(size_t threads, const Work& work) {
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(work, t);
  work(size_t{0});
  for (auto& th : pool) th.join();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

/// Milliseconds per batch for `threads` threads copying batches of random windows with `copy`.
double copy_ms(const Workload& w, Buffers& buffers, size_t threads, WindowCopy copy,
               uint64_t seed) {
  const auto* base = static_cast<const char*>(w.source.data());
  const double s = timed_on_threads(threads, [&](size_t t) {
    std::mt19937_64 rng(seed * 1000 + t);
    const auto starts = static_cast<uint64_t>(w.steps - std::max(w.len, w.y_start + w.y_len) + 1);
    for (int b = 0; b < kBatchesPerRound; ++b) {
      char* out = buffers[static_cast<size_t>(b % kBuffers)].get();
      for (auto k = static_cast<int64_t>(t); k < kBatch; k += static_cast<int64_t>(threads)) {
        const auto slot = static_cast<size_t>(k);
        copy(w, base + (rng() % starts) * w.row_in(), out + slot * w.x_slot(),
             out + kBatch * w.x_slot() + slot * w.y_slot());
      }
    }
#if defined(__x86_64__)
    _mm_sfence();
#endif
  });
  return s * 1e3 / kBatchesPerRound;
}

/// Milliseconds per batch of next() on a loader.
double loader_ms(nocopy::SequenceLoader& loader) {
  nocopy::SequenceBatch batch;
  const auto t0 = std::chrono::steady_clock::now();
  for (int b = 0; b < kBatchesPerRound; ++b) loader.next(batch);
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() /
         kBatchesPerRound;
}

/// Bytes per second the threads read in one memchr pass over `scanned` (all zeros: memchr
/// scans it to the end).
double read_rate(const std::vector<char>& scanned, size_t threads) {
  const size_t part = scanned.size() / threads;
  const double s = timed_on_threads(threads, [&](size_t t) {
    if (std::memchr(scanned.data() + t * part, 1, part) != nullptr) std::abort();
  });
  return static_cast<double>(part * threads) / s;
}

/// Bytes per second the threads write in 20 memset passes over the batch buffers (enough that
/// starting the threads does not count).
double write_rate(Buffers& buffers, size_t bytes, size_t threads) {
  const size_t part = bytes / threads / 64 * 64;
  constexpr int kPasses = 20;
  const double s = timed_on_threads(threads, [&](size_t t) {
    for (int pass = 0; pass < kPasses; ++pass) {
      for (auto& b : buffers) std::memset(b.get() + t * part, pass, part);
    }
  });
  return static_cast<double>(part * threads * buffers.size() * kPasses) / s;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void run(const Workload& w, size_t threads, const std::vector<char>& scanned, bool streaming) {
  Buffers buffers;
  for (int b = 0; b < kBuffers; ++b) {
    buffers.emplace_back(new char[w.batch_bytes()]);
    std::memset(buffers.back().get(), 0, w.batch_bytes());
  }
  nocopy::SequenceOptions o;
  o.seq_len = w.len;
  o.batch_size = kBatch;
  o.targets = w.y_start == 1 ? nocopy::SequenceTargets::Next : nocopy::SequenceTargets::Horizon;
  o.horizon = w.y_len;
  o.dtype = w.out;
  o.num_threads = threads;
  nocopy::SequenceLoader loader({w.source}, o);
  loader_ms(loader);  // warm: threads started, pool buffers touched
  double best_read = 0, best_write = 0;
  std::vector<double> kernel, stream, loaded;
  for (int r = 0; r < kRounds; ++r) {
    best_read = std::max(best_read, read_rate(scanned, threads));
    best_write = std::max(best_write, write_rate(buffers, w.batch_bytes(), threads));
    kernel.push_back(copy_ms(w, buffers, threads, kernel_copy, static_cast<uint64_t>(r)));
    if (streaming) {
      stream.push_back(copy_ms(w, buffers, threads, streaming_copy, static_cast<uint64_t>(r)));
    }
    loaded.push_back(loader_ms(loader));
  }
  const double reads = static_cast<double>(w.read_bytes()), writes = w.batch_bytes();
  const double bound = std::max(reads / best_read, writes / best_write) * 1e3;
  std::printf("\n%s, %zu threads, median ms per batch over %d rounds of %d batches:\n",
              w.name.c_str(), threads, kRounds, kBatchesPerRound);
  std::printf("  bound: max(%.2f MiB read at %.1f GB/s, %.2f MiB written at %.1f GB/s)\n",
              reads / (1 << 20), best_read / 1e9, writes / (1 << 20), best_write / 1e9);
  std::printf("  %-30s %7.3f\n", "bound", bound);
  const double k = median(kernel);
  std::printf("  %-30s %7.3f   %3.0f%% of the bound\n", "kernel, no loader", k, 100 * bound / k);
  if (streaming) {
    const double s = median(stream);
    std::printf("  %-30s %7.3f   %3.0f%% of the bound\n", "streaming stores, no loader", s,
                100 * bound / s);
  }
  const double l = median(loaded);
  std::printf("  %-30s %7.3f   %3.0f%% of the bound, %.0f%% of the kernel's speed\n",
              "nocopy SequenceLoader", l, 100 * bound / l, 100 * k / l);
}

}  // namespace

int main() {
  const size_t threads = nocopy::usable_cores();
  const std::vector<char> scanned(size_t{512} << 20, 0);
  const int64_t n_tokens = int64_t{100} << 20;
  nocopy::View tokens = nocopy::View::empty(nocopy::DType::UInt16, {n_tokens});
  auto* t = tokens.data_as<uint16_t>();
  for (int64_t i = 0; i < n_tokens; ++i) t[i] = static_cast<uint16_t>(i * 7 % 50257);
  run({"tokens: 64 x 1024 uint16 -> int64, x and y", tokens, n_tokens, 1, 1024, 1, 1024,
       nocopy::DType::Int64, 2, 8},
      threads, scanned, false);
  const int64_t steps = 1'000'000, features = 32;
  nocopy::View series = nocopy::View::empty(nocopy::DType::Float32, {steps, features});
  auto* f = series.data_as<float>();
  for (int64_t i = 0; i < steps * features; ++i) f[i] = static_cast<float>(i % 1000);
  run({"series: 64 x (512 + 24) x 32 float32", series, steps, features, 512, 512, 24,
       nocopy::DType::Float32, 4, 4},
      threads, scanned, true);
}
