#pragma once
// sparsemax(z) = argmin_{p∈Δ} ½‖p − z‖² = [z − τ]₊ (spec §3 row 3; Martins & Astudillo 2016).
#include <probspace/simplex/projection.hpp>

namespace probspace::simplex {

namespace detail {
template <Real T> Threshold<T> sparsemax(const ConstVectorRef<T>& z, VectorRef<T> p, ProjectionMethod method);
}

/// p = sparsemax(z) = Π_Δ(z); returns τ and the support size. −inf entries get 0.
template <class D>
Threshold<scalar_of<D>> sparsemax(const Eigen::MatrixBase<D>& z, VectorRef<scalar_of<D>> p,
                                  ProjectionMethod method = ProjectionMethod::Auto) {
  return detail::sparsemax<scalar_of<D>>(z, p, method);
}
template <class D> VectorX<scalar_of<D>> sparsemax(const Eigen::MatrixBase<D>& z) {
  VectorX<scalar_of<D>> p(z.size());
  detail::sparsemax<scalar_of<D>>(z, p, ProjectionMethod::Auto);
  return p;
}

}  // namespace probspace::simplex
