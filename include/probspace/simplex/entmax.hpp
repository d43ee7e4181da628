#pragma once
// α-entmax(z) = argmin_{p∈Δ} −z·p − H_α(p) = [(α−1)z − τ]₊^{1/(α−1)} (spec §3 row 4, §4.2).
#include <probspace/simplex/threshold.hpp>

namespace probspace::simplex {

enum class EntmaxMethod {
  Auto,       ///< α = 2: sparsemax; α = 1.5: Exact15; otherwise Bisection.
  Exact15,    ///< Sort-based exact threshold; α = 1.5 only.
  Bisection,  ///< Safeguarded Newton inside a maintained bracket; any α > 1.
};

/// Below this α − 1, entmax is computed as softmax (its α → 1 limit); the error of either is ~α − 1.
inline constexpr double kEntmaxSoftmaxCutoff = 1.5e-8;

/// Bisection/Newton stops when |Σ_i [X_i − τ]₊^{1/(α−1)} − 1| ≤ kEntmaxTolerance (computed in
/// double), or the bracket has collapsed to adjacent doubles; p is then renormalised.
inline constexpr double kEntmaxTolerance = 1e-14;

namespace detail {
template <Real T>
Threshold<T> entmax(const ConstVectorRef<T>& z, VectorRef<T> p, T alpha, EntmaxMethod method);
}

/// p = α-entmax(z) for α > 1 (α − 1 ≤ kEntmaxSoftmaxCutoff gives softmax, the α → 1 limit). Returns τ on the scale X = (α−1)z and the support
/// size (for the softmax limit, τ = LSE(z)). −inf entries get 0.
template <class D>
Threshold<scalar_of<D>> entmax(const Eigen::MatrixBase<D>& z, VectorRef<scalar_of<D>> p, scalar_of<D> alpha,
                               EntmaxMethod method = EntmaxMethod::Auto) {
  return detail::entmax<scalar_of<D>>(z, p, alpha, method);
}
template <class D>
VectorX<scalar_of<D>> entmax(const Eigen::MatrixBase<D>& z, scalar_of<D> alpha,
                             EntmaxMethod method = EntmaxMethod::Auto) {
  VectorX<scalar_of<D>> p(z.size());
  detail::entmax<scalar_of<D>>(z, p, alpha, method);
  return p;
}

}  // namespace probspace::simplex
