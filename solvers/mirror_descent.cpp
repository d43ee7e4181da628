// Entropic mirror descent steps (spec probability.md §7.3).
#include <probspace/core/error.hpp>
#include <probspace/core/stable.hpp>
#include <probspace/solvers/mirror_descent.hpp>

#include <algorithm>
#include <cmath>

namespace probspace::solvers::detail {

StepRule mirror_descent_rule(const Options& options) {
  const StepRule rule = options.step_rule == StepRule::Default ? StepRule::Backtracking : options.step_rule;
  probspace::detail::require(rule == StepRule::Constant || rule == StepRule::Decaying || rule == StepRule::Backtracking,
                             "mirror_descent", "options.step_rule", "must be Constant, Decaying or Backtracking");
  return rule;
}

void mirror_step(const VectorX<double>& log_p, const VectorX<double>& g, double eta, VectorX<double>& log_out,
                 VectorX<double>& p_out) {
  log_out = log_p - eta * g;
  log_out.array() -= logsumexp(log_out);
  p_out = log_out.array().exp().matrix();
}

double kl_divergence_of_step(const VectorX<double>& p, const VectorX<double>& log_p,
                             const VectorX<double>& log_candidate) {
  // KL(p'‖p) = Σ p_i (e^δ δ − e^δ + 1), δ = log p'_i − log p_i (Σ p e^δ = 1): non-negative terms,
  // δ·expm1(δ) + δ − expm1(δ) = δ²/2 + O(δ³) without cancellation.
  double kl = 0;
  for (Index i = 0; i < p.size(); ++i) {
    const double delta = log_candidate[i] - log_p[i], e = std::expm1(delta);
    if (p[i] > 0) kl += p[i] * (delta * e + delta - e);
  }
  return std::max(kl, 0.0);
}

bool mirror_sufficient_decrease(double value, const VectorX<double>& p, const VectorX<double>& log_p,
                                const VectorX<double>& g, double candidate_value, const VectorX<double>& candidate,
                                const VectorX<double>& log_candidate, const VectorX<double>& g_candidate, double eta) {
  return bregman_divergence(candidate_value, value, g_candidate, g, candidate, p) <=
         kl_divergence_of_step(p, log_p, log_candidate) / eta;
}

}  // namespace probspace::solvers::detail
