#pragma once
// Thresholds of the projection onto {p ≥ 0, Σp = a} (spec probability.md §4.1).
#include <probspace/core/types.hpp>

namespace probspace::simplex {

/// The scalar τ with p = [y − τ]₊ (or [(α−1)z − τ]₊^{1/(α−1)} for entmax), and |supp p|.
template <Real T> struct Threshold {
  T tau{};
  Index support_size{};
};

/// How the threshold τ of §4.1 is found. All return the same τ to rounding.
enum class ProjectionMethod {
  Auto,       ///< Sort for n ≤ 128, Condat otherwise.
  Sort,       ///< O(n log n): sort descending, τ = max_j (s_j − a)/j.
  Condat,     ///< Linear pass (a vectorised Condat-style candidate filter + Michelot); observed O(n).
  Bisection,  ///< Bisection on [max y − a, max y − a/n], finished exactly on the found support.
};

const char* to_string(ProjectionMethod method);

namespace detail {
template <Real T>
Threshold<T> simplex_threshold(const ConstVectorRef<T>& y, T radius, ProjectionMethod method);
}

/// τ and support size of Π_{Δ_a}(y), Δ_a = {p ≥ 0, Σp = a}. y may hold −inf (never in the support).
template <class D>
Threshold<scalar_of<D>> simplex_threshold(const Eigen::MatrixBase<D>& y, scalar_of<D> radius = 1,
                                          ProjectionMethod method = ProjectionMethod::Auto) {
  return detail::simplex_threshold<scalar_of<D>>(y, radius, method);
}

}  // namespace probspace::simplex
