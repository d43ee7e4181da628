#pragma once
// Drawing the next token from the merged scores: π = softmax(s/τ) (spec nbce.md §8).
#include <probspace/core/types.hpp>

#include <random>

namespace probspace::nbce {

namespace detail {
template <Real T> Index sample(const ConstVectorRef<T>& scores, double tau, double u);
}

/// The token at which the CDF of softmax(scores/τ) first exceeds u ∈ [0, 1) (inverse-CDF sampling);
/// −inf scores are never drawn. τ = 0.01 is effectively greedy: the runner-up is drawn with
/// probability ≈ e^{−Δ/τ} for a score gap Δ.
template <class D> Index sample(const Eigen::MatrixBase<D>& scores, double tau, double u) {
  return detail::sample<scalar_of<D>>(scores, tau, u);
}
template <class D, std::uniform_random_bit_generator G>
Index sample(const Eigen::MatrixBase<D>& scores, double tau, G& generator) {
  return detail::sample<scalar_of<D>>(scores, tau, std::uniform_real_distribution<double>(0.0, 1.0)(generator));
}

}  // namespace probspace::nbce
