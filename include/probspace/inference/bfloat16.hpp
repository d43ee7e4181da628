#pragma once
// bfloat16 storage (the upper 16 bits of an IEEE float32), as LLM logits are often stored.
#include <bit>
#include <cstdint>
#include <type_traits>

namespace probspace::inference {

struct bfloat16 {
  std::uint16_t bits = 0;
};

inline float to_float(bfloat16 x) { return std::bit_cast<float>(std::uint32_t(x.bits) << 16); }

/// Round to nearest, ties to even; NaN stays NaN.
inline bfloat16 to_bfloat16(float x) {
  const std::uint32_t u = std::bit_cast<std::uint32_t>(x);
  if ((u & 0x7fffffffu) > 0x7f800000u) return {std::uint16_t((u >> 16) | 0x40u)};  // quiet NaN
  return {std::uint16_t((u + 0x7fffu + ((u >> 16) & 1u)) >> 16)};
}

/// The identity, so code generic over float and bfloat16 storage can widen either.
inline float to_float(float x) { return x; }

/// float → storage T: unchanged for float, rounded to nearest even for bfloat16.
template <class T> T from_float(float x) {
  if constexpr (std::is_same_v<T, float>) return x;
  else return to_bfloat16(x);
}

}  // namespace probspace::inference
