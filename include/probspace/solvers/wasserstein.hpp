#pragma once
// Wasserstein gradient flows in 1-D (spec probability.md §8.2–8.3): the Fokker–Planck equation
// ∂p/∂t = ∂x(p ∂x V) + ∂²p/∂x² of F[p] = ∫Vp + ∫p log p by finite volumes, the particle ODE
// dx/dt = −∇ δF/δp for potential + interaction energies, and Langevin particles. Double precision.
#include <probspace/solvers/options.hpp>
#include <probspace/solvers/summary.hpp>

#include <Eigen/Core>

#include <cstdint>
#include <functional>
#include <vector>

namespace probspace::solvers {

using ScalarFunction = std::function<double(double)>;

/// F[p] = ∫Vp + ∫p log p on [lower, upper] with no-flux boundaries, `cells` equal cells; the initial
/// density as cell values (≥ 0, finite, positive mass; rescaled to Σ p_i h = 1).
struct FokkerPlanckProblem {
  double lower = 0, upper = 1;
  int cells = 100;
  ScalarFunction potential;  ///< V
  Eigen::VectorXd initial;
};

/// max_iterations = time steps; tolerance on kkt_residual (0: run all steps); time_step = Δt;
/// a snapshot of p every snapshot_every steps (0: none) and F at every step. Step rule: Default or
/// Constant (both mean Δt = time_step), here and in particle_flow.
struct FokkerPlanckOptions : Options {
  double time_step = 1e-3;
  int snapshot_every = 0;
};

/// summary.objective = F_h[p] = Σ h(V_i p_i + p_i log p_i); summary.kkt_residual = max_i(V_i + log p_i)
/// − min_i(V_i + log p_i), the spread of δF/δp − 1 (0 iff p ∝ e^{−V}, spec §8 Form A);
/// summary.duality_gap = F_h[p] − F_h* = KL(p‖π_h) ≥ 0 with π_h ∝ e^{−V_i}, F_h* = −log(h Σ e^{−V_i}).
struct FokkerPlanckResult {
  Eigen::VectorXd x;        ///< cell centres
  Eigen::VectorXd density;  ///< p at the end
  double time = 0;
  std::vector<double> times, free_energy;  ///< F_h at t = 0, Δt, 2Δt, …
  std::vector<double> snapshot_times;
  std::vector<Eigen::VectorXd> snapshots;
  Summary summary;
};

/// Backward Euler in time; Scharfetter–Gummel fluxes J_{i+½} = (B(ΔV) p_i − B(−ΔV) p_{i+1})/h with
/// B(z) = z/(e^z − 1): conservative (mass to rounding), positivity-preserving for any Δt (an M-matrix
/// solve), F_h non-increasing, and the discrete steady state is exactly p_i ∝ e^{−V(x_i)}.
FokkerPlanckResult fokker_planck(const FokkerPlanckProblem& problem, const FokkerPlanckOptions& options = {});

/// F = (1/N)Σ V(x_i) + (1/2N²)Σ_ij W(x_i − x_j) for the empirical measure of N particles; W even,
/// optional (leave interaction and its gradient empty for a purely potential energy).
struct ParticleEnergy {
  ScalarFunction potential, potential_gradient;      ///< V, V'
  ScalarFunction interaction, interaction_gradient;  ///< W, W'
};

/// max_iterations = time steps; tolerance on kkt_residual; time_step = Δt. On a rise of the energy
/// (Δt too large for explicit Euler) the step is undone and Δt ← step_shrink·Δt, up to max_restarts.
struct ParticleFlowOptions : Options {
  double time_step = 1e-2;
};

/// summary.objective = F; summary.kkt_residual = (1/N Σ v_i²)^{½}, the velocity's L²(p) norm
/// (dF/dt = −its square, spec §8.2); energy has F at every accepted step.
struct ParticleFlowResult {
  Eigen::VectorXd particles;
  std::vector<double> energy;
  Summary summary;
};

/// Explicit Euler on dx_i/dt = −V'(x_i) − (1/N)Σ_j W'(x_i − x_j) (spec §8.2: the minus sign).
ParticleFlowResult particle_flow(const Eigen::VectorXd& initial, const ParticleEnergy& energy,
                                 const ParticleFlowOptions& options = {});

/// Euler–Maruyama for dX = −V'(X) dt + √2 dW (spec §8.3): `steps` steps of Δt from `initial`,
/// seeded (std::mt19937_64) for reproducibility. Returns the particles at t = steps·Δt.
Eigen::VectorXd langevin(const Eigen::VectorXd& initial, const ScalarFunction& potential_gradient, double time_step,
                         int steps, std::uint64_t seed);

}  // namespace probspace::solvers
