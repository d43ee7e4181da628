// Entropic mirror descent steps (spec probability.md §7.3).
#include <probspace/core/error.hpp>
#include <probspace/core/stable.hpp>
#include <probspace/solvers/mirror_descent.hpp>

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

bool mirror_sufficient_decrease(double value, const VectorX<double>& p, const VectorX<double>& log_p,
                                const VectorX<double>& g, double candidate_value, const VectorX<double>& candidate,
                                const VectorX<double>& log_candidate, double eta) {
  const double kl = candidate.dot(log_candidate - log_p);
  return candidate_value <= value + g.dot(candidate - p) + kl / eta;
}

}  // namespace probspace::solvers::detail
