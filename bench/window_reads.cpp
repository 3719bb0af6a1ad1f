// What random windows cost to read: 64 windows of 1025 uint16 tokens converted to int64 x and y
// (the token workload of bench_sequence.py) by one thread with the core's conversion kernel,
// from random places of a 200 MiB array (memory) and from one 8 KiB region (the cache), and
// from memory with the loader's prefetch (the window 8 ahead, up to its first 4 KiB: here the
// whole 2,050-byte window).
//
// Build and run (make cpp-test builds build/cpp/libnocopy.a first):
//   g++ -O2 -std=c++20 -Icpp/include bench/window_reads.cpp build/cpp/libnocopy.a -pthread
//       -o build/window_reads
//   build/window_reads
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <random>
#include <vector>

#include "nocopy/core/copy.hpp"

namespace {

constexpr int kWindows = 64, kLen = 1024, kAhead = 8, kPrefetchBytes = 4096;

/// Median microseconds per batch over 2,000 batches.
double batch_us(const std::vector<uint16_t>& src, std::vector<int64_t>& out, size_t range,
                bool prefetch) {
  std::mt19937_64 rng(1);
  std::vector<double> times;
  size_t starts[kWindows];
  for (int rep = 0; rep < 2000; ++rep) {
    for (auto& s : starts) s = rng() % (range - kLen - 1);
    const auto t0 = std::chrono::steady_clock::now();
    auto fetch = [&](int k) {
      const auto* p = reinterpret_cast<const char*>(src.data() + starts[k]);
      const int bytes = std::min(kPrefetchBytes, (kLen + 1) * 2);
      for (int b = 0; b < bytes; b += 64) __builtin_prefetch(p + b);
    };
    if (prefetch) {
      for (int k = 0; k < kAhead; ++k) fetch(k);
    }
    for (int k = 0; k < kWindows; ++k) {
      if (prefetch && k + kAhead < kWindows) fetch(k + kAhead);
      const uint16_t* s = src.data() + starts[k];
      int64_t* x = out.data() + k * kLen;
      int64_t* y = out.data() + (kWindows + k) * kLen;
      nocopy::convert_elements(s, 2, nocopy::DType::UInt16, x, 8, nocopy::DType::Int64, kLen);
      nocopy::convert_elements(s + 1, 2, nocopy::DType::UInt16, y, 8, nocopy::DType::Int64, kLen);
    }
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() *
                    1e6);
  }
  std::nth_element(times.begin(), times.begin() + 1000, times.end());
  return times[1000];
}

}  // namespace

int main() {
  const size_t n = size_t{100} << 20;  // 200 MiB of tokens
  std::vector<uint16_t> src(n);
  for (size_t i = 0; i < n; ++i) src[i] = static_cast<uint16_t>(i * 7);
  std::vector<int64_t> out(2 * kWindows * kLen);
  const double memory = batch_us(src, out, n, false);
  const double cache = batch_us(src, out, 4096 + kLen + 1, false);
  const double prefetched = batch_us(src, out, n, true);
  std::printf("64 x 1025 uint16 -> int64 x and y, one thread, median us per batch:\n");
  std::printf("  from memory (200 MiB)    %7.1f\n", memory);
  std::printf("  from the cache (8 KiB)   %7.1f   (memory / cache: %.1fx)\n", cache,
              memory / cache);
  std::printf("  from memory, prefetched  %7.1f   (%.2fx the speed without)\n", prefetched,
              memory / prefetched);
}
