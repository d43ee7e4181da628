#pragma once
// Relative-position schemes as values (spec §5, §6): P(r) = the relative position fed to RoPE for a
// causal distance r = i − j ≥ 0, its Toeplitz matrix, and its two-pass realisation.
#include <probspace/core/types.hpp>

#include <string>
#include <string_view>

namespace probspace::rope {

enum class SchemeKind {
  Rope,         ///< P(r) = r
  Linear,       ///< PI: P(r) = r/k
  ReRope,       ///< P(r) = min(r, w)
  Leaky,        ///< k > 1: r below w, w + (r − w)/k from w on
  InverseLeaky  ///< the same rule with 0 < k < 1 (training only; inference is plain RoPE)
};
std::string_view to_string(SchemeKind kind);

/// A scheme: kind, window w (ReRoPE, Leaky, InverseLeaky; w ≥ 1) and k (PI factor or Leaky slope 1/k).
/// Build through the named constructors, which validate.
struct PositionScheme {
  SchemeKind kind = SchemeKind::Rope;
  Index window = 0;
  double k = 1;

  static PositionScheme rope();
  static PositionScheme linear(double k);
  static PositionScheme rerope(Index window);
  static PositionScheme leaky(Index window, double k);
  static PositionScheme inverse_leaky(Index window, double k);

  /// Throws InvalidArgument (naming `fn` and 'scheme.window' / 'scheme.k') when the fields do not
  /// describe a valid scheme (a hand-built value may not).
  void validate(std::string_view fn) const;
  std::string name() const;

  /// P(r) for r ≥ 0 (spec §5 table); P(w) = w.
  double relative_position(double r) const;
  /// The largest entry of the L×L matrix, P(L − 1).
  double max_position(Index length) const;
  /// [L, L]: entry (i, j) = P(i − j) for j ≤ i; NaN above the diagonal (masked, no position).
  RowMatrixX<double> relative_matrix(Index length) const;

  /// Whether the scheme needs a second pass (ReRoPE, Leaky, InverseLeaky).
  bool two_pass() const;
  /// Pass 1 serves distance r (always, for single-pass schemes; r < w otherwise).
  bool uses_pass1(Index r) const { return !two_pass() || r < window; }
  /// Pass 1 absolute positions of query i and key i: i (PI: i/k).
  double pass1_position(Index i) const;
  /// Pass 2 query position: w (ReRoPE) or (i − w)/k + w (Leaky, InverseLeaky) (spec §6.2).
  double pass2_query_position(Index i) const;
  /// Pass 2 key position: 0, i.e. unrotated (ReRoPE), or j/k (Leaky, InverseLeaky).
  double pass2_key_position(Index j) const;
  /// The single-formula exponent of §6.1, −P(i − j) for j ≤ i: max(j − i, −w) for ReRoPE,
  /// max(j − i, (j − i + w)/k − w) for k > 1 and min(…) for k < 1 (the `max` form is wrong there).
  double exponent(Index i, Index j) const;
  /// Rows a cos/sin table needs for a table-based two-pass realisation at length L (spec §6.2):
  /// ReRoPE max(L, w + 1) (index w even when L ≤ w); Leaky/InverseLeaky with the 1/k-scaled table
  /// and query offset w(k − 1): L + ceil(w(k − 1)) (the offset is ≤ 0 for k < 1: L); else L.
  Index table_length(Index length) const;
};

/// The inverse-Leaky training rule (spec §5): s = inference/training length, k = 1/(2s), w = L_train/4.
PositionScheme inverse_leaky_for_extension(Index train_length, double s);

/// Whether every relative position reached at length L, P(L − 1), is a trained distance (≤ L_train − 1).
bool within_trained_range(const PositionScheme& scheme, Index length, Index train_length);

}  // namespace probspace::rope
