#pragma once
// Entropic mirror descent on Δ (spec probability.md §7.3): the KL-proximal step
// p_{t+1} = argmin_p ⟨g_t, p⟩ + KL(p‖p_t)/η_t, i.e. p_{t+1} = softmax(log p_t − η_t g_t), kept in log
// space (no underflow). Iterates stay strictly positive.
#include <probspace/solvers/detail/tracker.hpp>
#include <probspace/solvers/summary.hpp>

#include <string>

namespace probspace::solvers {

namespace detail {

/// Resolves StepRule::Default (Backtracking) and rejects rules other than Constant, Decaying, Backtracking.
StepRule mirror_descent_rule(const Options& options);
/// log_out = normalised log p_{t+1} = θ − ηg − LSE(θ − ηg), p_out = exp(log_out).
void mirror_step(const VectorX<double>& log_p, const VectorX<double>& g, double eta, VectorX<double>& log_out,
                 VectorX<double>& p_out);
/// KL(p'‖p) from the log iterates, in a form without cancellation.
double kl_divergence_of_step(const VectorX<double>& p, const VectorX<double>& log_p, const VectorX<double>& log_candidate);
/// Backtracking's sufficient decrease (relative smoothness): D_F(p', p) ≤ KL(p'‖p)/η, i.e.
/// F(p') ≤ F(p) + g·(p' − p) + KL(p'‖p)/η.
bool mirror_sufficient_decrease(double value, const VectorX<double>& p, const VectorX<double>& log_p,
                                const VectorX<double>& g, double candidate_value, const VectorX<double>& candidate,
                                const VectorX<double>& log_candidate, const VectorX<double>& g_candidate, double eta);

}  // namespace detail

/// Minimises F over Δ from a strictly positive p ∈ Δ (overwritten with the answer). Step rules:
/// Backtracking (the Default: from step_size, then from the last accepted η / step_shrink, shrinking
/// by step_shrink until F(p') ≤ F(p) + g·(p' − p) + KL(p'‖p)/η), Constant (η = step_size) and Decaying
/// (η_t = step_size/√(t+1); with step_size = √(2 ln n)/L_∞ this is Beck–Teboulle's schedule). A
/// restart (non-finite or diverging candidate, or a backtracking failure) multiplies η by step_shrink.
/// The answer is the converged iterate, else the best one seen (the rate is for min_s F(p_s)).
template <DifferentiableObjective F>
Summary mirror_descent(const F& f, VectorX<double>& p, const Options& options = {}) {
  constexpr std::string_view fn = "mirror_descent";
  Summary summary;
  detail::Tracker tracker(fn, options, summary);
  const StepRule rule = detail::mirror_descent_rule(options);
  VectorX<double> g;
  double value = detail::evaluate_start(f, p, g, fn, true);
  const Index n = p.size();
  VectorX<double> log_p = p.array().log().matrix(), candidate(n), log_candidate(n), g_candidate(n);
  double scale = 1, step = 0, eta_next = options.step_size;
  for (int t = 0; !tracker.accept(t, p, value, g, step); ++t) {
    double eta = 0;
    const auto trial = [&](double s) -> std::string {
      eta = (rule == StepRule::Decaying ? options.step_size / std::sqrt(t + 1.0)
             : rule == StepRule::Constant ? options.step_size
                                          : eta_next) * s;
      for (int k = 0; k <= detail::kMaxBacktracks; ++k, eta *= options.step_shrink) {
        detail::mirror_step(log_p, g, eta, log_candidate, candidate);
        const double v = value_and_gradient(f, candidate, g_candidate);
        std::string reason = tracker.rejection(v, g_candidate);
        if (rule != StepRule::Backtracking) {
          if (reason.empty()) value = v;
          return reason;
        }
        if (reason.empty() && detail::mirror_sufficient_decrease(value, p, log_p, g, v, candidate, log_candidate,
                                                                        g_candidate, eta)) {
          value = v;
          return {};
        }
      }
      return "backtracking found no step with sufficient decrease";
    };
    if (!tracker.attempt(t, scale, rule == StepRule::Backtracking ? eta_next : options.step_size, trial)) break;
    p.swap(candidate);
    log_p.swap(log_candidate);
    g.swap(g_candidate);
    step = eta;
    eta_next = eta / options.step_shrink;
  }
  tracker.finish(p);
  return summary;
}

}  // namespace probspace::solvers
