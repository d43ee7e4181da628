#pragma once
// bfloat16 storage (the upper 16 bits of an IEEE float32), as LLM logits are often stored.
#include <bit>
#include <cstdint>

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

}  // namespace probspace::inference
