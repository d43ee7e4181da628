#pragma once
// Private to src/embedding: the unchecked row kernels behind rms_normalise and half_swap, also used
// by the Monte Carlo on the rows of a block (its rows are Gaussian, so never zero).
#include <probspace/core/types.hpp>

#include <algorithm>
#include <cmath>

namespace probspace::embedding::kernels {

/// out = √d·x/‖x‖ (§1), the norm accumulated in double without overflow. out may equal x.
template <Real T> void rms_normalise_row(const T* x, T* out, Index d) {
  const double norm = Eigen::Map<const VectorX<T>>(x, d).template cast<double>().stableNorm();
  Eigen::Map<VectorX<T>>(out, d) = T(std::sqrt(double(d)) / norm) * Eigen::Map<const VectorX<T>>(x, d);
}

/// out = concat(x[d/2:], x[:d/2]) for even d (§5). out may equal x.
template <Real T> void half_swap_row(const T* x, T* out, Index d) {
  const Index half = d / 2;
  if (x == out) {
    std::swap_ranges(out, out + half, out + half);
  } else {
    std::copy(x + half, x + d, out);
    std::copy(x, x + half, out + half);
  }
}

}  // namespace probspace::embedding::kernels
