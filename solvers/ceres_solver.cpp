// L-BFGS over the softmax parametrisation through ceres::GradientProblemSolver, then a projected-gradient
// polish (see ceres_solver.hpp).
#include <probspace/simplex/softmax.hpp>
#include <probspace/solvers/ceres_solver.hpp>
#include <probspace/solvers/projected_gradient.hpp>

#include <ceres/gradient_problem.h>
#include <ceres/gradient_problem_solver.h>
#include <ceres/iteration_callback.h>

#include <algorithm>
#include <cmath>

namespace probspace::solvers::detail {
namespace {

struct FunctionObjective {
  const ValueAndGradient& f;
  double value_and_gradient(const VectorX<double>& p, VectorX<double>& g) const { return f(p, g); }
};

/// F(softmax(θ)) and its θ-gradient p ⊙ (g − p·g).
class SoftmaxFunction final : public ceres::FirstOrderFunction {
public:
  SoftmaxFunction(const ValueAndGradient& f, Index n) : f_(f), n_(n), p_(n), g_(n) {}
  bool Evaluate(const double* theta, double* cost, double* gradient) const override {
    simplex::softmax(Eigen::Map<const VectorX<double>>(theta, n_), p_);
    *cost = f_(p_, g_);
    if (!std::isfinite(*cost) || !g_.allFinite()) return false;
    if (gradient != nullptr)
      Eigen::Map<VectorX<double>>(gradient, n_) = p_.cwiseProduct(g_.array().matrix() - VectorX<double>::Constant(n_, p_.dot(g_)));
    return true;
  }
  int NumParameters() const override { return static_cast<int>(n_); }

private:
  const ValueAndGradient& f_;
  Index n_;
  mutable VectorX<double> p_, g_;
};

/// Feeds every L-BFGS iterate, as p = softmax(θ), to the Tracker (history, stopping test, callbacks).
class TrackerCallback final : public ceres::IterationCallback {
public:
  TrackerCallback(const ValueAndGradient& f, const VectorX<double>& theta, Tracker& tracker)
      : f_(f), theta_(theta), tracker_(tracker), p_(theta.size()), g_(theta.size()) {}
  ceres::CallbackReturnType operator()(const ceres::IterationSummary& summary) override {
    simplex::softmax(theta_, p_);
    const double value = f_(p_, g_);
    stopped_ = tracker_.accept(summary.iteration, p_, value, g_, summary.step_size);
    return stopped_ ? ceres::SOLVER_TERMINATE_SUCCESSFULLY : ceres::SOLVER_CONTINUE;
  }
  bool stopped() const { return stopped_; }

private:
  const ValueAndGradient& f_;
  const VectorX<double>& theta_;
  Tracker& tracker_;
  VectorX<double> p_, g_;
  bool stopped_ = false;
};

}  // namespace

Summary lbfgs_softmax(const ValueAndGradient& f, VectorX<double>& p, const Options& options) {
  constexpr std::string_view fn = "ceres_minimize";
  Summary summary;
  Tracker tracker(fn, options, summary);
  probspace::detail::require(options.step_rule == StepRule::Default, fn, "options.step_rule", "must be Default");
  VectorX<double> g;
  const double start_value = evaluate_start(FunctionObjective{f}, p, g, fn, true);
  VectorX<double> theta = p.array().log().matrix();

  ceres::GradientProblemSolver::Options ceres_options;
  ceres_options.line_search_direction_type = ceres::LBFGS;
  ceres_options.max_num_iterations = std::max(1, options.max_iterations);
  ceres_options.function_tolerance = 1e-16;
  ceres_options.gradient_tolerance = 1e-16;
  ceres_options.parameter_tolerance = 1e-16;
  ceres_options.logging_type = ceres::SILENT;
  ceres_options.update_state_every_iteration = true;
  TrackerCallback callback(f, theta, tracker);
  ceres_options.callbacks.push_back(&callback);
  ceres::GradientProblem problem(new SoftmaxFunction(f, p.size()));
  ceres::GradientProblemSolver::Summary ceres_summary;
  ceres::Solve(ceres_options, problem, theta.data(), &ceres_summary);
  // Ceres skips its callbacks when its own first evaluation fails (e.g. F(softmax(log p)) rounds to
  // a non-finite value): then the start point is the answer.
  if (!tracker.started()) tracker.accept(0, p, start_value, g, 0);
  const std::string lbfgs = "L-BFGS: " + std::to_string(summary.iterations) + " iterations, " + ceres_summary.message;
  tracker.finish(p);
  if (summary.termination == Termination::Converged || summary.termination == Termination::UserStop) {
    summary.message = lbfgs + "; " + summary.message;
    return summary;
  }

  // Stage 2: projected-gradient polish from the best point.
  Options polish_options = options;
  polish_options.step_rule = StepRule::Backtracking;
  Summary polish = projected_gradient(FunctionObjective{f}, p, polish_options);
  const double lower_bound = std::max(summary.objective - summary.duality_gap, polish.objective - polish.duality_gap);
  const int offset = summary.iterations;
  for (auto record : polish.history) {
    record.iteration += offset;
    summary.history.push_back(record);
  }
  for (auto restart : polish.restarts) {
    restart.iteration += offset;
    summary.restarts.push_back(restart);
  }
  summary.termination = polish.termination;
  summary.message = lbfgs + "; projected-gradient polish: " + std::to_string(polish.iterations) + " iterations, " +
                    polish.message;
  summary.iterations = offset + polish.iterations;
  summary.objective = polish.objective;
  summary.kkt_residual = polish.kkt_residual;
  summary.duality_gap = std::max(0.0, polish.objective - lower_bound);
  return summary;
}

}  // namespace probspace::solvers::detail
