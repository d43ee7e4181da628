#pragma once
// The maps applied to an embedding row before the output projection (spec embedding.md §1, §5):
// RMSNorm without gain, the parameter-free half swap, and a Haar-random orthogonal matrix.
#include <probspace/core/types.hpp>

#include <cstdint>

namespace probspace::embedding {

namespace detail {
template <Real T> void rms_normalise(const ConstVectorRef<T>& x, VectorRef<T> out);
template <Real T> void half_swap(const ConstVectorRef<T>& x, VectorRef<T> out);
template <Real T> RowMatrixX<T> haar_orthogonal(Index d, std::uint64_t seed);
}  // namespace detail

/// out = x / (‖x‖/√d) = √d·x/‖x‖ (§1; RMS of out is 1). x finite, non-zero; `out` may alias `x`.
template <class D> void rms_normalise(const Eigen::MatrixBase<D>& x, VectorRef<scalar_of<D>> out) {
  detail::rms_normalise<scalar_of<D>>(x, out);
}
template <class D> VectorX<scalar_of<D>> rms_normalise(const Eigen::MatrixBase<D>& x) {
  VectorX<scalar_of<D>> out(x.size());
  detail::rms_normalise<scalar_of<D>>(x, out);
  return out;
}

/// S[x] = concat(x[d/2:], x[:d/2]) for even d ≥ 2 (§5); an involution. `out` may alias `x`.
template <class D> void half_swap(const Eigen::MatrixBase<D>& x, VectorRef<scalar_of<D>> out) {
  detail::half_swap<scalar_of<D>>(x, out);
}
template <class D> VectorX<scalar_of<D>> half_swap(const Eigen::MatrixBase<D>& x) {
  VectorX<scalar_of<D>> out(x.size());
  detail::half_swap<scalar_of<D>>(x, out);
  return out;
}

/// A Haar-random d×d orthogonal matrix: Q of the QR of a Gaussian matrix with the signs of diag R
/// moved into Q (§6), computed in double (Householder QR) and returned as T. Same seed, same matrix.
template <Real T> RowMatrixX<T> haar_orthogonal(Index d, std::uint64_t seed) {
  return detail::haar_orthogonal<T>(d, seed);
}

}  // namespace probspace::embedding
