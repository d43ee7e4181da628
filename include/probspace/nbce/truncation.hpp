#pragma once
// Per-row truncation before pooling (spec nbce.md §3) and the partial entropy of a truncated row (§5).
#include <probspace/core/types.hpp>

#include <limits>

namespace probspace::nbce {

/// How every row (row 0 included) is truncated before pooling. Removed entries become −inf; kept
/// entries are not renormalised (§3).
struct Truncation {
  enum class Kind { None, TopP, TopK };
  Kind kind = Kind::TopP;
  double top_p = 0.95;  ///< TopP: keep the minimal prefix (by probability) whose mass reaches top_p; 0 < top_p ≤ 1.
  Index top_k = 0;      ///< TopK: keep every token scoring ≥ the k-th largest (ties kept); k ≥ 1, clamped to V.

  static Truncation None() { return {Kind::None, 1.0, 0}; }
  static Truncation TopP(double p) { return {Kind::TopP, p, 0}; }
  static Truncation TopK(Index k) { return {Kind::TopK, 1.0, k}; }
};

/// The kept set ("nucleus") of one row, as a threshold on the row's own values: token t with value
/// x_t is kept iff x_t > cut, or x_t == cut and t ≤ last_tie. Ties at the top-p boundary are kept
/// lowest index first (§3 leaves their order to the implementation). −inf entries are never kept
/// (cut = −inf comes with last_tie = −1).
template <Real T> struct Nucleus {
  T cut = -std::numeric_limits<T>::infinity();
  Index last_tie = -1;
  Index size = 0;  ///< number of kept tokens

  bool contains(T x, Index t) const { return x > cut || (x == cut && t <= last_tie); }
};

namespace detail {
template <Real T> Nucleus<T> nucleus(const ConstVectorRef<T>& x, const Truncation& truncation);
template <Real T> Nucleus<T> truncate(VectorRef<T> log_probs, const Truncation& truncation);
template <Real T> double partial_entropy(const ConstVectorRef<T>& log_probs);
}  // namespace detail

/// The nucleus of a row of logits or log-probabilities (the same set: truncation is shift-invariant).
template <class D> Nucleus<scalar_of<D>> nucleus(const Eigen::MatrixBase<D>& x, const Truncation& truncation) {
  return detail::nucleus<scalar_of<D>>(x, truncation);
}

/// Truncates a row of log-probabilities in place (§3): entries outside the nucleus become −inf.
inline Nucleus<double> truncate(VectorRef<double> log_probs, const Truncation& truncation) {
  return detail::truncate<double>(log_probs, truncation);
}
inline Nucleus<float> truncate(VectorRef<float> log_probs, const Truncation& truncation) {
  return detail::truncate<float>(log_probs, truncation);
}

/// H = −Σ_t exp(l_t)·clip(l_t, −100, 0) (§5): the partial entropy of a truncated row of
/// log-probabilities, not renormalised; −inf entries contribute 0.
template <class D> double partial_entropy(const Eigen::MatrixBase<D>& log_probs) {
  return detail::partial_entropy<scalar_of<D>>(log_probs);
}

}  // namespace probspace::nbce
