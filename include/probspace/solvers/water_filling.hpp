#pragma once
// Lagrange/KKT for separable objectives F(p) = Σ_i f_i(p_i), f_i strictly convex C¹ on (0, ∞)
// (spec probability.md §2 Form A, §3 "Separable water-filling"): p_i(c) = (f_i′)⁻¹(c) where
// c > f_i′(0⁺), else 0; the multiplier c = −λ is the root of S(c) = Σ p_i(c) = 1, bracketed by
// [min_i f_i′(1/n), min_i f_i′(1)] and found by TOMS 748 (Boost.Math).
#include <probspace/solvers/options.hpp>

#include <probspace/core/types.hpp>

#include <functional>

namespace probspace::solvers {

/// The terms f_i, i < size, given through their derivatives.
struct SeparableTerms {
  Index size = 0;
  /// f_i′(p) for p ∈ [0, 1]; non-decreasing in p; may be −inf at p = 0 (entropy).
  std::function<double(Index i, double p)> derivative;
  /// Optional (f_i′)⁻¹(c) for c > f_i′(0⁺) (any value ≤ 0 below it). Without it, f_i′ is inverted
  /// numerically per coordinate (TOMS 748 on a bracket in [0, 1]).
  std::function<double(Index i, double c)> inverse;
  /// Optional f_i(p), for Summary::objective (NaN without it).
  std::function<double(Index i, double p)> value;
};

/// f_i(p) = −x_i p + τ p log p: the minimiser is softmax(x/τ) (spec §3 row 2).
SeparableTerms entropy_terms(const VectorX<double>& x, double temperature = 1);
/// f_i(p) = −x_i p + (τ/2) p²: the minimiser is sparsemax(x/τ) (spec §3 row 3).
SeparableTerms quadratic_terms(const VectorX<double>& x, double weight = 1);
/// f_i(p) = −x_i p − τ (p − p^α)/(α(α−1)), α > 1: the minimiser is α-entmax(x/τ) (spec §3 row 4).
SeparableTerms tsallis_terms(const VectorX<double>& x, double alpha, double weight = 1);

struct WaterFillingSummary : Summary {
  double multiplier = 0;  ///< c = min_i f_i′(p_i) on the support; λ = −c (spec §2 Form A)
};

/// Solves min_{p∈Δ} Σ f_i(p_i), writing p (resized to terms.size; no start point is needed). Options:
/// max_iterations bounds the root finder, tolerance the FW gap (relative, as elsewhere); step options
/// and callbacks are unused. The gradient for the certificate is g_i = f_i′(p_i), and c where p_i
/// underflowed to 0 with f_i′(0⁺) = −inf. A bracket without a sign change (terms that are not convex
/// or whose derivative returns NaN) gives a FAILURE summary; bad terms or options throw InvalidArgument.
WaterFillingSummary water_filling(const SeparableTerms& terms, VectorX<double>& p, const Options& options = {});

}  // namespace probspace::solvers
