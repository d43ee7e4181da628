#pragma once
// Pooling over contexts (spec nbce.md §2) and the selection with η hysteresis (§6).
#include <probspace/core/types.hpp>

#include <functional>
#include <optional>

namespace probspace::nbce {

enum class Pooling {
  Average,      ///< (1/n)·Σ_k l_k: exact Naive Bayes with β = n − 1
  Max,          ///< elementwise max_k l_k (not a distribution)
  MinEntropy,   ///< l_{k*}, k* = argmin_k H_k (the reference default)
  SoftEntropy,  ///< Σ_k w_k l_k, w = softmax(−H/T_H)
  Custom,       ///< a user-supplied PoolingRule
};

/// A user pooling rule: from the truncated context rows l_1..l_n ([n, V], −inf = removed) and their
/// partial entropies, write the pooled row (V entries, −inf allowed, no NaN or +inf).
template <Real T>
using PoolingRule =
    std::function<void(const ConstRowMatrixRef<T>& contexts, const ConstVectorRef<double>& entropies, VectorRef<T> pooled)>;

/// k* = argmin_{r ≥ first_row} H_r after H_{k_prev} ← H_{k_prev} − η (§6); ties go to the lowest
/// index. first_row is 1 in generation (row 0 never selected) and 0 in multiple-choice mode.
Index select_min_entropy(const VectorX<double>& entropies, Index first_row, std::optional<Index> previous,
                         double eta);

/// w = softmax(−H/T_H), max-shifted so that small T_H cannot give 0/0 (§2).
VectorX<double> entropy_weights(const VectorX<double>& entropies, double temperature);

}  // namespace probspace::nbce
