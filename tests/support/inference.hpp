#pragma once
// Shared helpers of the inference tests: random logits and their float32 / bfloat16 storage.
#include <probspace/inference/bfloat16.hpp>

#include "testing.hpp"

#include <vector>

namespace probspace::testing {

/// [rows, cols] logits, each row scale·N(0, 1), from `seed`.
inline RowMatrixX<float> normal_rows(Index rows, Index cols, std::uint64_t seed, double scale) {
  std::mt19937_64 rng(seed);
  RowMatrixX<float> z(rows, cols);
  for (Index r = 0; r < rows; ++r) z.row(r) = normal_vector<float>(rng, cols, scale).transpose();
  return z;
}

/// z as a kernel input of type In: float32 copied, bfloat16 rounded to nearest even.
template <class In> std::vector<In> stored_as(const RowMatrixX<float>& z) {
  std::vector<In> out(std::size_t(z.size()));
  for (Index i = 0; i < z.size(); ++i) {
    if constexpr (std::is_same_v<In, float>) out[std::size_t(i)] = z.data()[i];
    else out[std::size_t(i)] = inference::to_bfloat16(z.data()[i]);
  }
  return out;
}

/// bfloat16 inputs widened back to float32 ([rows, cols]).
inline RowMatrixX<float> widened(const std::vector<inference::bfloat16>& zb, Index rows, Index cols) {
  RowMatrixX<float> z(rows, cols);
  for (Index i = 0; i < z.size(); ++i) z.data()[i] = inference::to_float(zb[std::size_t(i)]);
  return z;
}

}  // namespace probspace::testing
