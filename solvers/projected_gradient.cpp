// Projected-gradient steps (spec probability.md §7.2).
#include <probspace/core/error.hpp>
#include <probspace/simplex/projection.hpp>
#include <probspace/solvers/projected_gradient.hpp>

namespace probspace::solvers::detail {

StepRule projected_gradient_rule(const Options& options, std::string_view solver, double& eta) {
  StepRule rule = options.step_rule;
  if (rule == StepRule::Default) rule = options.lipschitz > 0 ? StepRule::Constant : StepRule::Backtracking;
  probspace::detail::require(rule == StepRule::Constant || rule == StepRule::Backtracking, solver, "options.step_rule",
                             "must be Constant or Backtracking");
  eta = options.step_rule == StepRule::Default && options.lipschitz > 0 ? 1 / options.lipschitz : options.step_size;
  return rule;
}

void projected_step(const VectorX<double>& y, const VectorX<double>& g, double eta, VectorX<double>& out) {
  out = y - eta * g;
  simplex::project_simplex(out, out);
}

bool euclidean_sufficient_decrease(double y_value, const VectorX<double>& y, const VectorX<double>& g_y,
                                   double candidate_value, const VectorX<double>& candidate,
                                   const VectorX<double>& g_candidate, double eta) {
  return bregman_divergence(candidate_value, y_value, g_candidate, g_y, candidate, y) <=
         (candidate - y).squaredNorm() / (2 * eta);
}

}  // namespace probspace::solvers::detail
