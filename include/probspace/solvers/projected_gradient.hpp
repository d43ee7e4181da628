#pragma once
// Projected gradient on Δ, plain and accelerated (spec probability.md §7.2):
// p_{t+1} = Π_Δ(y_t − η ∇F(y_t)) with Π_Δ = simplex::project_simplex (sparsemax); y_t = p_t for the
// plain method, the FISTA extrapolation (Beck & Teboulle, SIAM J. Imaging Sci. 2009) with adaptive
// momentum restart (O'Donoghue & Candès, Found. Comput. Math. 2015) for the accelerated one.
#include <probspace/solvers/detail/tracker.hpp>
#include <probspace/solvers/summary.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace probspace::solvers {

/// When FISTA drops its momentum (y ← p, t_k ← 1).
enum class MomentumRestart {
  None,
  FunctionValue,  ///< when F(p_{t+1}) > F(p_t) (beyond F's rounding): the step is redone from p_t
  Gradient,       ///< when (y_t − p_{t+1})·(p_{t+1} − p_t) > 0
};

namespace detail {

/// Resolves StepRule::Default (Constant η = 1/L when Options::lipschitz > 0, else Backtracking) and
/// rejects other rules; returns the rule and writes the first η.
StepRule projected_gradient_rule(const Options& options, std::string_view solver, double& eta);
/// out = Π_Δ(y − η g).
void projected_step(const VectorX<double>& y, const VectorX<double>& g, double eta, VectorX<double>& out);
/// Backtracking's sufficient decrease: D_F(p', y) ≤ ‖p' − y‖²/(2η), i.e. F(p') ≤ F(y) + g·(p' − y) + ‖p' − y‖²/(2η).
bool euclidean_sufficient_decrease(double y_value, const VectorX<double>& y, const VectorX<double>& g_y,
                                   double candidate_value, const VectorX<double>& candidate,
                                   const VectorX<double>& g_candidate, double eta);

/// Both methods. `momentum` is false for the plain method.
template <DifferentiableObjective F>
Summary projected_gradient_run(const F& f, VectorX<double>& p, const Options& options, bool momentum,
                               MomentumRestart momentum_restart, std::string_view fn) {
  Summary summary;
  Tracker tracker(fn, options, summary);
  double eta = 0;
  const StepRule rule = projected_gradient_rule(options, fn, eta);
  VectorX<double> g;
  double value = evaluate_start(f, p, g, fn, false);
  const Index n = p.size();
  VectorX<double> y = p, g_y = g, candidate(n), g_candidate(n), previous(n);
  double y_value = value, scale = 1, step = 0, tk = 1;
  int momentum_restarts = 0;
  const double base = eta;
  for (int t = 0; !tracker.accept(t, p, value, g, step); ++t) {
    double candidate_value = 0;
    const auto trial = [&](double s) -> std::string {
      eta = (rule == StepRule::Backtracking ? eta : base * s);
      for (int k = 0;; ++k, eta *= options.step_shrink) {
        projected_step(y, g_y, eta, candidate);
        candidate_value = value_and_gradient(f, candidate, g_candidate);
        std::string reason = tracker.rejection(candidate_value, g_candidate);
        if (rule != StepRule::Backtracking) return reason;
        if (reason.empty() && euclidean_sufficient_decrease(y_value, y, g_y, candidate_value, candidate, g_candidate, eta))
          return {};
        if (k == kMaxBacktracks) return "backtracking found no step with sufficient decrease";
      }
    };
    if (!tracker.attempt(t, scale, base, trial)) break;
    // F rising by more than its rounding (increases below it are noise near the optimum).
    const bool rose = candidate_value - value > 100 * std::numeric_limits<double>::epsilon() * std::max(1.0, std::abs(value));
    if (momentum && momentum_restart == MomentumRestart::FunctionValue && rose && tk > 1) {
      // Redo the step as a plain one from p_t (y = p_t), which cannot increase F for η ≤ 1/L.
      ++momentum_restarts;
      y = p, g_y = g, y_value = value, tk = 1;
      if (!tracker.attempt(t, scale, base, trial)) break;
    }
    const bool gradient_restart = momentum && momentum_restart == MomentumRestart::Gradient &&
                                  (y - candidate).dot(candidate - p) > 0;
    previous.swap(p);
    p.swap(candidate);
    g.swap(g_candidate);
    value = candidate_value;
    step = eta;
    if (gradient_restart) ++momentum_restarts, tk = 1;
    if (!momentum) {
      y = p, g_y = g, y_value = value;
      continue;
    }
    const double tk_next = (1 + std::sqrt(1 + 4 * tk * tk)) / 2;
    y = p + ((tk - 1) / tk_next) * (p - previous);
    tk = tk_next;
    y_value = value_and_gradient(f, y, g_y);
    if (!tracker.rejection(y_value, g_y).empty()) {
      // The extrapolation left F's domain (y may leave Δ): drop the momentum.
      ++momentum_restarts;
      y = p, g_y = g, y_value = value, tk = 1;
    }
  }
  tracker.finish(p);
  if (momentum) summary.message += ", " + std::to_string(momentum_restarts) + " momentum restarts";
  return summary;
}

}  // namespace detail

/// Minimises F over Δ from p ∈ Δ (overwritten with the answer) by p ← Π_Δ(p − η∇F(p)). Step rules:
/// Default (η = 1/L with Options::lipschitz = L > 0, else Backtracking), Constant (η = step_size) and
/// Backtracking (from step_size, then the last accepted η; shrinks by step_shrink until
/// F(p') ≤ F(p) + g·(p' − p) + ‖p' − p‖²/(2η)). A restart (non-finite or diverging candidate)
/// multiplies a constant η by step_shrink. Certificate: the FW gap.
template <DifferentiableObjective F>
Summary projected_gradient(const F& f, VectorX<double>& p, const Options& options = {}) {
  return detail::projected_gradient_run(f, p, options, false, MomentumRestart::None, "projected_gradient");
}

/// FISTA on Δ: as projected_gradient, the gradient step taken from the extrapolated point
/// y_t = p_t + ((t_{k−1} − 1)/t_k)(p_t − p_{t−1}), t_k = (1 + √(1 + 4t_{k−1}²))/2, with adaptive momentum
/// restart. y may leave Δ (its entries sum to 1 but may be negative): where F or ∇F is not finite
/// at y the momentum is dropped. The message counts the momentum restarts.
template <DifferentiableObjective F>
Summary accelerated_projected_gradient(const F& f, VectorX<double>& p, const Options& options = {},
                                       MomentumRestart restart = MomentumRestart::FunctionValue) {
  return detail::projected_gradient_run(f, p, options, true, restart, "accelerated_projected_gradient");
}

}  // namespace probspace::solvers
