#pragma once
// softmax(z/T) = argmin_{p∈Δ} −z·p + T Σ p log p (spec §3 row 2).
#include <probspace/core/types.hpp>

namespace probspace::simplex {

namespace detail {
template <Real T> void softmax(const ConstVectorRef<T>& z, VectorRef<T> p, T temperature);
}

/// p = softmax(z / temperature), temperature > 0. −inf entries (masked) get exactly 0.
template <class D>
void softmax(const Eigen::MatrixBase<D>& z, VectorRef<scalar_of<D>> p, scalar_of<D> temperature = 1) {
  detail::softmax<scalar_of<D>>(z, p, temperature);
}
template <class D>
VectorX<scalar_of<D>> softmax(const Eigen::MatrixBase<D>& z, scalar_of<D> temperature = 1) {
  VectorX<scalar_of<D>> p(z.size());
  detail::softmax<scalar_of<D>>(z, p, temperature);
  return p;
}

}  // namespace probspace::simplex
