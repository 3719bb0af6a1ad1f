// The counter-based hash behind every random draw of the loaders.
#include "nocopy/pipeline/sampling/random_streams.hpp"

namespace nocopy {
namespace {

/// splitmix64's finalizer: a bijection of 64-bit words with full avalanche.
uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace

uint64_t counter_hash(uint64_t seed, uint64_t epoch, uint64_t position, uint64_t stream) {
  constexpr uint64_t kGolden = 0x9e3779b97f4a7c15ull;
  uint64_t h = mix64(seed + kGolden);
  h = mix64(h ^ (epoch + 2 * kGolden));
  h = mix64(h ^ (stream + 3 * kGolden));
  return mix64(h ^ (position + 4 * kGolden));
}

}  // namespace nocopy
