#pragma once
// The merge rule for −inf (spec nbce.md §4): s = (1+β)·l_sel − β·l_0 where both are finite.
#include <probspace/core/types.hpp>

#include <limits>

namespace probspace::nbce {

/// l_0 must exceed this to count as "finite" in the merge (§4, the reference code's test).
inline constexpr double kFiniteThreshold = -100.0;

/// One token of §4's table, by branch (never by multiplying masks: ∞ − ∞ = NaN):
/// l_sel = −inf → −inf; l_0 > threshold → (1+β)·l_sel − β·l_0; otherwise l_sel, unscaled.
template <Real T> T merged_score(T l_sel, T l_0, T beta, T finite_threshold) {
  if (!(l_sel > -std::numeric_limits<T>::infinity())) return l_sel;
  return l_0 > finite_threshold ? (T(1) + beta) * l_sel - beta * l_0 : l_sel;
}

namespace detail {
template <Real T>
void merge(const ConstVectorRef<T>& l_sel, const ConstVectorRef<T>& l_0, double beta, VectorRef<T> s,
           double finite_threshold);
}

/// s(t) = merged_score(l_sel(t), l_0(t)) for truncated rows of log-probabilities (−inf = removed).
/// β ≥ −1; s may alias l_sel.
template <class D1, class D2>
void merge(const Eigen::MatrixBase<D1>& l_sel, const Eigen::MatrixBase<D2>& l_0, double beta,
           VectorRef<scalar_of<D1>> s, double finite_threshold = kFiniteThreshold) {
  detail::merge<scalar_of<D1>>(l_sel, l_0, beta, s, finite_threshold);
}
template <class D1, class D2>
VectorX<scalar_of<D1>> merge(const Eigen::MatrixBase<D1>& l_sel, const Eigen::MatrixBase<D2>& l_0, double beta,
                             double finite_threshold = kFiniteThreshold) {
  VectorX<scalar_of<D1>> s(l_sel.size());
  detail::merge<scalar_of<D1>>(l_sel, l_0, beta, s, finite_threshold);
  return s;
}

}  // namespace probspace::nbce
