#pragma once
// The synthetic verification model of spec nbce.md §11: contexts conditionally independent given
// the answer, with exact posteriors, so every exactness claim of §9 can be checked.
#include <probspace/nbce/decoder.hpp>

#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace probspace::nbce {

/// The "model" outputs of §11 as logits [n+1, V]: row 0 = log π, row k = log p(T | S_k) with
/// p(T | S_k) ∝ π_T·λ_k(T), where λ_k (row k−1 of likelihoods, [n, V]) is p(S_k | T) of context k.
RowMatrixX<double> context_rows(const VectorX<double>& prior, const RowMatrixX<double>& likelihoods);

/// p(T | S_1..S_n) ∝ π_T·∏_k λ_k(T) (Naive Bayes, exact under conditional independence).
VectorX<double> exact_posterior(const VectorX<double>& prior, const RowMatrixX<double>& likelihoods);

/// T ~ π on V answers, S_k | T ~ Categorical(L[T, ·]) on S symbols, independently over k.
class CategoricalModel {
public:
  CategoricalModel(VectorX<double> prior, RowMatrixX<double> likelihood);
  /// π ~ Dirichlet(1) and every row of L ~ Dirichlet(1), from the seed.
  static CategoricalModel random(Index answers, Index symbols, std::uint64_t seed);

  /// λ_k = L[·, s_k] for each observed symbol: [n, V].
  RowMatrixX<double> likelihoods(std::span<const Index> observations) const;
  /// Draws T ~ π, then n observations S_k ~ L[T, ·].
  std::vector<Index> sample_observations(Index n, std::mt19937_64& generator) const;

  const VectorX<double>& prior() const { return prior_; }
  const RowMatrixX<double>& likelihood() const { return likelihood_; }

private:
  VectorX<double> prior_;
  RowMatrixX<double> likelihood_;
};

/// Multi-token answers T = (t_1..t_m) ∈ {0..V−1}^m, indexed Σ_j t_j·V^{m−j}, with a joint prior and
/// per-context likelihoods of the whole T (§11, "Sequences").
class SequenceModel {
public:
  /// prior: [V^m]; likelihoods: [n, V^m].
  SequenceModel(Index vocab, Index length, VectorX<double> prior, RowMatrixX<double> likelihoods);

  /// Per-step rows [n+1, V] given a prefix t_<j: log p(t_j | t_<j, S_k), row 0 without context;
  /// each is the marginal over the answers that extend the prefix.
  RowMatrixX<double> step_rows(std::span<const Index> prefix) const;
  /// p(T | S_1..S_n) over all V^m answers.
  VectorX<double> exact_posterior() const;

  enum class Level {
    Sequence,  ///< Σ_j s_j(t_j) over the steps, normalised over whole answers (§9.2: exact)
    Token,     ///< ∏_j softmax(s_j)(t_j), renormalised at every step (§9.3: not exact in general)
  };
  /// The distribution over answers that NBCE with these options assigns, at either level.
  VectorX<double> nbce_posterior(const Options& options, Level level) const;

  Index vocab() const { return vocab_; }
  Index length() const { return length_; }

private:
  Index vocab_, length_;
  VectorX<double> prior_;
  RowMatrixX<double> likelihoods_;
};

}  // namespace probspace::nbce
