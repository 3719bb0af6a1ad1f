// The random streams of every loader, registered in one place: each kind of random decision
// (the shuffle, a crop's top and left, a mirror flip, a window start, the resized-crop draws)
// has its own stream number, so no two decisions ever share a counter, and every draw is a pure
// function of (seed, epoch, position, stream): any batch can be planned on its own, by any
// thread, in any order. A new operator that draws adds its stream here.
#pragma once

#include <cstdint>

namespace nocopy {

/// Largest epoch a loader accepts: epoch + 1 and every counter derived from it stay in range.
inline constexpr int64_t kMaxEpoch = (int64_t{1} << 62) - 1;

/// The stream of each kind of draw (the numbers are part of the output: changing one changes
/// every batch drawn with it).
enum class RandomStream : uint64_t {
  Shuffle = 1,       ///< the epoch order's Fisher-Yates swaps
  CropTop = 2,       ///< crop_mode 'random': the window's top row
  CropLeft = 3,      ///< crop_mode 'random': the window's left column
  Mirror = 4,        ///< the horizontal flip
  WindowStart = 5,   ///< SequenceLoader random starts: the window number
  ClipStart = 6,     ///< video clip_sampling 'random': the clip's first frame
  MixtureSlots = 7,  ///< a Mixture's epoch: the Fisher-Yates swaps of its datasets' slots
  BlockShards = 8,   ///< shuffle in blocks: the Fisher-Yates swaps of the shards
  BlockSamples = 9,  ///< shuffle in blocks: the swaps of the samples within a block
  /// a Mixture's dataset d: the Fisher-Yates swaps of its c-th pass use MixturePassBase + d,
  /// with c as the epoch word.
  MixturePassBase = 0x4d58500000ull,
  /// crop_mode 'random_resized': attempt a's draw d (area, log-ratio, top, left) uses stream
  /// ResizedCropBase + 4 * a + d.
  ResizedCropBase = 0x5252430000ull,
  /// The batch transforms (MixUp / CutMix): word k of a batch's draws (the choice, Beta's
  /// open-ended words, CutMix's centre) uses BatchMixBase + k.
  BatchMixBase = 0x4d49580000ull,
  /// nocopy.transforms: step s's draw d uses TransformStepBase + 64 * s + d.
  TransformStepBase = 0x5452000000ull,
};

/// 64 well-mixed bits from (seed, epoch, position, stream) (splitmix64 finalizer, chained).
uint64_t counter_hash(uint64_t seed, uint64_t epoch, uint64_t position, uint64_t stream);

/// counter_hash on a registered stream, plus an offset within it (ResizedCropBase + k).
inline uint64_t draw_bits(uint64_t seed, uint64_t epoch, uint64_t position, RandomStream stream,
                          uint64_t offset = 0) {
  return counter_hash(seed, epoch, position, static_cast<uint64_t>(stream) + offset);
}

/// Maps 64 random bits to [0, n) by the multiply-shift method (bias below 2^-32 for n < 2^32).
inline uint64_t bounded(uint64_t bits, uint64_t n) {
  __extension__ using u128 = unsigned __int128;  // GCC/Clang extension, for the 64x64 product
  return static_cast<uint64_t>((static_cast<u128>(bits) * n) >> 64);
}

}  // namespace nocopy
