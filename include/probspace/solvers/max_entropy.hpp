#pragma once
// Maximum-entropy distributions with moment constraints (spec probability.md §8.1):
// max −∫p log p s.t. ∫p = 1, ∫p φ_k = τ_k  ⇒  p_λ(x) = exp(−Σ_k λ_k φ_k(x))/Z(λ), λ minimising the
// convex dual Ψ(λ) = log Z(λ) + λ·τ (∇Ψ = τ − E_λ[φ], ∇²Ψ = Cov_λ[φ]) by damped Newton, with
// Boost.Math quadrature for Z and the moments (sums on a finite support). Double precision only:
// the answer is a handful of multipliers, and quadrature to 1e-13 needs it.
#include <probspace/solvers/options.hpp>
#include <probspace/solvers/summary.hpp>

#include <Eigen/Core>

#include <functional>
#include <vector>

namespace probspace::solvers {

using Feature = std::function<double(double)>;

/// A density on [lower, upper]: both finite (Gauss–Kronrod), one infinite (exp-sinh) or the line
/// (sinh-sinh). τ must lie in the interior of the moment set, and Z(λ) must be finite along the way:
/// on an unbounded domain give an initial_lambda with ∫exp(−λ·φ) < ∞ (λ = 0 is the default).
struct MaxEntropyProblem {
  double lower = 0, upper = 1;
  std::vector<Feature> features;  ///< φ_1 … φ_K
  Eigen::VectorXd moments;        ///< τ_1 … τ_K
  Eigen::VectorXd initial_lambda; ///< empty: zeros
};

/// A distribution on N points: features.row(i) = φ(x_i) (e.g. the die faces 1…6 as a 6×1 matrix).
struct DiscreteMaxEntropyProblem {
  Eigen::MatrixXd features;  ///< N × K
  Eigen::VectorXd moments;   ///< K
  Eigen::VectorXd initial_lambda;
};

/// λ*, log Z(λ*), H(p*) = Ψ(λ*); summary.objective = Ψ, summary.kkt_residual = ‖∇Ψ‖₂ = ‖τ − E[φ]‖₂
/// (the moment mismatch), history per Newton step (step = the accepted damping t).
struct MaxEntropyResult {
  Eigen::VectorXd lambda;
  double log_partition = 0;
  double entropy = 0;
  Summary summary;
};

struct MaxEntropyDensity : MaxEntropyResult {
  std::vector<Feature> features;
  double density(double x) const;  ///< p_λ(x) = exp(−λ·φ(x) − log Z)
};

struct MaxEntropyDistribution : MaxEntropyResult {
  Eigen::VectorXd probabilities;  ///< p_i = exp(−λ·φ(x_i))/Z
};

/// Ψ(λ) = log Z(λ) + λ·τ, and optionally ∇Ψ = τ − E_λ[φ], ∇²Ψ = Cov_λ[φ], log Z. Returns +inf
/// where Z(λ) is not finite (or the quadrature fails).
double max_entropy_dual(const MaxEntropyProblem& problem, const Eigen::VectorXd& lambda,
                        Eigen::VectorXd* gradient = nullptr, Eigen::MatrixXd* hessian = nullptr,
                        double* log_partition = nullptr);
double max_entropy_dual(const DiscreteMaxEntropyProblem& problem, const Eigen::VectorXd& lambda,
                        Eigen::VectorXd* gradient = nullptr, Eigen::MatrixXd* hessian = nullptr,
                        double* log_partition = nullptr);

/// Damped Newton on Ψ with Armijo backtracking from t = step_size (t ← step_shrink·t); stops at
/// ‖∇Ψ‖₂ ≤ tolerance. Step rule: Default or Backtracking (the same).
MaxEntropyDensity max_entropy(const MaxEntropyProblem& problem, const Options& options = {});
MaxEntropyDistribution max_entropy(const DiscreteMaxEntropyProblem& problem, const Options& options = {});

}  // namespace probspace::solvers
