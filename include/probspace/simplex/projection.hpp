#pragma once
// Euclidean projections onto the scaled simplex Δ_a and the ℓ1 ball (spec §3 row 3, §4.1).
#include <probspace/simplex/threshold.hpp>

namespace probspace::simplex {

namespace detail {
template <Real T>
Threshold<T> project_simplex(const ConstVectorRef<T>& y, VectorRef<T> out, T radius, ProjectionMethod method);
template <Real T>
Threshold<T> project_l1_ball(const ConstVectorRef<T>& y, VectorRef<T> out, T radius, ProjectionMethod method);
}  // namespace detail

/// out = Π_{Δ_a}(y) = [y − τ]₊, Δ_a = {p ≥ 0, Σp = a}; returns τ and the support size.
/// y may hold −inf entries (projected to 0). `out` may alias `y`.
template <class D>
Threshold<scalar_of<D>> project_simplex(const Eigen::MatrixBase<D>& y, VectorRef<scalar_of<D>> out,
                                        scalar_of<D> radius = 1,
                                        ProjectionMethod method = ProjectionMethod::Auto) {
  return detail::project_simplex<scalar_of<D>>(y, out, radius, method);
}
template <class D>
VectorX<scalar_of<D>> project_simplex(const Eigen::MatrixBase<D>& y, scalar_of<D> radius = 1,
                                      ProjectionMethod method = ProjectionMethod::Auto) {
  VectorX<scalar_of<D>> out(y.size());
  detail::project_simplex<scalar_of<D>>(y, out, radius, method);
  return out;
}

/// out = argmin_{‖x‖₁ ≤ a} ‖x − y‖₂: y itself when ‖y‖₁ ≤ a (τ = 0), else sign(y) ⊙ Π_{Δ_a}(|y|).
/// y must be finite. `out` may alias `y`.
template <class D>
Threshold<scalar_of<D>> project_l1_ball(const Eigen::MatrixBase<D>& y, VectorRef<scalar_of<D>> out,
                                        scalar_of<D> radius = 1,
                                        ProjectionMethod method = ProjectionMethod::Auto) {
  return detail::project_l1_ball<scalar_of<D>>(y, out, radius, method);
}
template <class D>
VectorX<scalar_of<D>> project_l1_ball(const Eigen::MatrixBase<D>& y, scalar_of<D> radius = 1,
                                      ProjectionMethod method = ProjectionMethod::Auto) {
  VectorX<scalar_of<D>> out(y.size());
  detail::project_l1_ball<scalar_of<D>>(y, out, radius, method);
  return out;
}

}  // namespace probspace::simplex
