#pragma once
// Long-range decay (spec §4): Abel summation of Σ_i h_i e^{ιΔθ_i}, h_i = q̃_i conj(k̃_i), and the decay
// indicator f(Δ) = (1/(d/2)) Σ_{j=1}^{d/2} |S_j|, S_j = Σ_{i<j} e^{ιΔθ_i}, Δ = m − n.
#include <probspace/core/types.hpp>
#include <probspace/rope/rotation.hpp>

namespace probspace::rope {

/// f(Δ) for the pair frequencies inv_freq (d/2 = inv_freq.size()); f(0) = (d/2 + 1)/2.
double decay_indicator(double delta, const Eigen::VectorXd& inv_freq);

/// The pieces of the Abel bound for one (q, k, Δ): score = Re Σ h_i e^{ιΔθ_i} = (R_m q)ᵀ(R_n k),
/// magnitude = |Σ h_i e^{ιΔθ_i}| ≤ bound = max_i |h_{i+1} − h_i| · Σ_j |S_j| (h_{d/2} = 0).
struct AbelSummation {
  double score;
  double magnitude;
  double bound;
};

namespace detail {
AbelSummation abel_summation(const ConstVectorRef<double>& q, const ConstVectorRef<double>& k, double delta,
                             const RotaryEmbedding& rope);
}

/// q, k: one head (head_dim = rotary_dim, pairs read in rope.layout); computed in double.
template <class D1, class D2>
AbelSummation abel_summation(const Eigen::MatrixBase<D1>& q, const Eigen::MatrixBase<D2>& k, double delta,
                             const RotaryEmbedding& rope) {
  return detail::abel_summation(q.template cast<double>(), k.template cast<double>(), delta, rope);
}

}  // namespace probspace::rope
