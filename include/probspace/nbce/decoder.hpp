#pragma once
// The NBCE step (spec nbce.md §8) held by a stateful decoder for generation loops.
#include <probspace/nbce/merge.hpp>
#include <probspace/nbce/pooling.hpp>
#include <probspace/nbce/truncation.hpp>

#include <optional>
#include <vector>

namespace probspace::nbce {

/// What to do when the pooled support is empty (average/soft pooling of disjoint nuclei, §3).
enum class EmptySupport {
  Fallback,  ///< pool the untruncated rows, then truncate the pooled row; Step::fallback_used is set
  Report,    ///< return scores and log-probs of −inf with Step::empty_support set
};

struct Options {
  double beta = 0.25;                                  ///< β ∈ [−1, ∞): −1 → row 0, 0 → the pooled row (§1.1)
  Pooling pooling = Pooling::MinEntropy;
  Truncation truncation = Truncation::TopP(0.95);     ///< applied to every row, row 0 included (§3)
  double eta = 0.1;                                    ///< switching penalty in nats, ≥ 0 (§6)
  double soft_temperature = 1.0;                       ///< T_H > 0 for Pooling::SoftEntropy
  bool select_row0 = false;                            ///< selection over rows 0..n (multiple-choice mode, §7)
  double finite_threshold = kFiniteThreshold;          ///< §4
  EmptySupport empty_support = EmptySupport::Fallback;
};

/// The result of one step. Vectors are reused across steps (no allocation after the first).
template <Real T> struct Step {
  VectorX<T> scores;           ///< s(t) of (NBCE), unnormalised; −inf outside the support
  VectorX<T> log_probs;        ///< log_softmax(s)
  Index selected = -1;         ///< k* for MinEntropy, else −1
  VectorX<double> entropies;   ///< partial entropies of the truncated rows 0..n (before the η penalty)
  Eigen::Matrix<Index, Eigen::Dynamic, 1> nucleus_sizes;  ///< kept tokens per row 0..n
  VectorX<double> weights;     ///< w_r of the linear pooling Σ w_r l_r over rows 0..n (one-hot for
                               ///< MinEntropy); empty for Max and Custom
  bool empty_support = false;  ///< the pooled support was empty
  bool fallback_used = false;  ///< EmptySupport::Fallback was applied
};

/// Runs the per-step algorithm of §8 (minus the sampling, see sampling.hpp): log-softmax, truncate
/// and take the partial entropy of every row, pool, merge with row 0, normalise. Holds k_prev for
/// the η hysteresis; reset() forgets it. Rows are processed in parallel (OpenMP).
template <Real T> class Decoder {
public:
  explicit Decoder(Options options = {}, PoolingRule<T> rule = {});

  /// logits: [n+1, V], row 0 the unconditional row; −inf entries are masked. n and V are fixed
  /// from the first step until reset().
  const Step<T>& step(const ConstRowMatrixRef<T>& logits);
  void reset();

  const Options& options() const { return options_; }
  std::optional<Index> previous_selection() const { return previous_; }

private:
  struct RowStats {
    double log_norm = 0;
    Nucleus<T> nucleus;
  };
  void pool(const ConstRowMatrixRef<T>& logits, bool truncated);
  void truncate_pooled();

  Options options_;
  PoolingRule<T> rule_;
  std::optional<Index> previous_;
  Index rows_ = 0, vocab_ = 0;
  std::vector<RowStats> stats_;
  RowMatrixX<T> contexts_;  // Pooling::Custom only: the truncated context rows
  Step<T> step_;
};

}  // namespace probspace::nbce
