#pragma once
// Moment facts of spec embedding.md §2 (rows with i.i.d. N(0, σ²) entries) and the exact moments of
// the self-logit z_i and of the other logits z_k (k ≠ i) at initialisation (§3–5).
#include <probspace/embedding/parametrisation.hpp>

namespace probspace::embedding {

/// E‖w‖² = dσ² (§2).
double expected_squared_norm(Index d, double sigma);
/// Var‖w‖² = 2dσ⁴ for Gaussian entries (§2).
double squared_norm_variance(Index d, double sigma);
/// E[(w·v)²] = dσ⁴ for independent rows w, v (§2).
double expected_squared_dot(Index d, double sigma);

/// E χ_d = √2 Γ((d+1)/2) / Γ(d/2), the mean of ‖g‖ for g ~ N(0, I_d).
double chi_mean(Index d);

/// Exact moments of the logits after RMSNorm h = √d·w_i/‖w_i‖ (no gain).
struct LogitMoments {
  double self_mean;       ///< E z_i
  double self_std;        ///< sd z_i
  double other_mean;      ///< E z_k, k ≠ i (0)
  double other_variance;  ///< Var z_k, k ≠ i (dσ², exactly: h has norm √d and is independent of w_k)
};

/// Tied: z_i = √d‖w_i‖ = σ√d·χ_d, mean σ√d·E χ_d ≈ dσ, sd σ√(d(d − (Eχ_d)²)) ≈ σ√(d/2) (§3).
/// Untied: z_i ~ N(0, dσ²). TiedOrthogonal: z_i = σ√d·χ_d·(uPuᵀ), mean 0, variance dσ² (E(uPuᵀ)² = 1/d).
/// TiedSwap: z_i = σ√d·χ_d·2Σ_{k<d/2} u_k u_{k+d/2}, mean 0, variance 2dσ²·d/(d+2) ≈ 2dσ² (§5).
LogitMoments logit_moments(Parametrisation parametrisation, Index d, double sigma);

}  // namespace probspace::embedding
