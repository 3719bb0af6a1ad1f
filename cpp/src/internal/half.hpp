// IEEE float16 and bfloat16 <-> float32 conversions on raw bits (round to nearest even).
//
// Used by the copy kernels and the loader's fused transforms; header-only so they inline into
// vectorized loops. NaNs stay NaNs (quiet), infinities stay infinities, overflow gives infinity.
#pragma once

#include <bit>
#include <cstdint>

namespace nocopy {

/// float32 -> IEEE binary16 bits, round to nearest even.
inline uint16_t float_to_half_bits(float f) {
  const uint32_t x = std::bit_cast<uint32_t>(f);
  const uint32_t sign = (x >> 16) & 0x8000u;
  uint32_t abs = x & 0x7fffffffu;
  if (abs >= 0x7f800000u) {  // inf or NaN (NaN keeps its top payload bits and is made quiet)
    return static_cast<uint16_t>(sign | 0x7c00u |
                                 (abs > 0x7f800000u ? 0x200u | ((abs >> 13) & 0x3ffu) : 0u));
  }
  if (abs >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // >= 65520: inf
  if (abs < 0x38800000u) {  // below 2^-14: subnormal or zero; adding 0.5 rounds to 2^-24 steps
    const float rounded = std::bit_cast<float>(abs) + 0.5f;
    return static_cast<uint16_t>(sign | (std::bit_cast<uint32_t>(rounded) - 0x3f000000u));
  }
  const uint32_t odd = (abs >> 13) & 1u;
  abs += 0xc8000fffu + odd;  // rebias exponent (127 -> 15) and round to nearest even
  return static_cast<uint16_t>(sign | (abs >> 13));
}

/// float64 -> IEEE binary16 bits, rounded once to nearest even (going through float32 would
/// round twice and differ from NumPy's float64 -> float16 cast on some values).
inline uint16_t double_to_half_bits(double d) {
  const uint64_t x = std::bit_cast<uint64_t>(d);
  const auto sign = static_cast<uint16_t>((x >> 48) & 0x8000u);
  uint64_t abs = x & 0x7fffffffffffffffull;
  if (abs >= 0x7ff0000000000000ull) {  // inf or NaN (NaN keeps its top payload bits, made quiet)
    return static_cast<uint16_t>(
        sign | 0x7c00u | (abs > 0x7ff0000000000000ull ? 0x200u | ((abs >> 42) & 0x3ffu) : 0u));
  }
  if (abs >= std::bit_cast<uint64_t>(65520.0)) return static_cast<uint16_t>(sign | 0x7c00u);
  if (abs < std::bit_cast<uint64_t>(0x1p-14)) {
    // Subnormal or zero: count 2^-24 steps; adding and removing 2^52 rounds to nearest even
    // (the scaled value is below 2^10, so both operations are exact but for that rounding).
    const double steps = (std::bit_cast<double>(abs) * 0x1p24 + 0x1p52) - 0x1p52;
    return static_cast<uint16_t>(sign | static_cast<uint16_t>(steps));
  }
  const uint64_t odd = (abs >> 42) & 1u;
  abs += (1ull << 41) - 1 + odd;  // round the 42 dropped mantissa bits to nearest even
  return static_cast<uint16_t>(sign | ((abs - (1008ull << 52)) >> 42));  // rebias 1023 -> 15
}

/// IEEE binary16 bits -> float32 (exact).
inline float half_bits_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  const uint32_t mant = h & 0x3ffu;
  if (exp == 0x1f) return std::bit_cast<float>(sign | 0x7f800000u | (mant << 13));
  if (exp == 0) {
    const float v = static_cast<float>(mant) * 0x1p-24f;
    return sign ? -v : v;
  }
  return std::bit_cast<float>(sign | ((exp + 112u) << 23) | (mant << 13));
}

/// float32 -> bfloat16 bits, round to nearest even; NaN stays a quiet NaN.
inline uint16_t float_to_bfloat16_bits(float f) {
  const uint32_t x = std::bit_cast<uint32_t>(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);
  const uint32_t rounding = 0x7fffu + ((x >> 16) & 1u);
  return static_cast<uint16_t>((x + rounding) >> 16);
}

/// bfloat16 bits -> float32 (exact).
inline float bfloat16_bits_to_float(uint16_t b) {
  return std::bit_cast<float>(static_cast<uint32_t>(b) << 16);
}

}  // namespace nocopy
