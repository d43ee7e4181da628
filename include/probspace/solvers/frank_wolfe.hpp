#pragma once
// Frank–Wolfe ("convex-set search") on Δ (spec probability.md §7.1): p ← p + η d with the linear
// minimisation oracle e_{i*}, i* = argmin ∇F (lowest index on ties); the by-product G_t = (p_t − e_{i*})·g_t
// is the FW gap of §2.1. Away-step and pairwise variants (Lacoste-Julien & Jaggi, NeurIPS 2015) move
// mass off the worst support vertex and converge linearly on strongly convex F.
#include <probspace/solvers/detail/tracker.hpp>
#include <probspace/solvers/summary.hpp>

#include <algorithm>
#include <string>

namespace probspace::solvers {

enum class FrankWolfeVariant {
  Vanilla,   ///< d = e_s − p, s = argmin g
  Away,      ///< the better of d = e_s − p and the away direction d = p − e_a, a = argmax_{p_i>0} g_i
  Pairwise,  ///< d = e_s − e_a: mass moves from the worst support vertex to the best vertex
};

namespace detail {

/// One step's direction: p + η d = (1 + c η) p + η (e_s − e_a) with a vertex left out as −1.
struct FrankWolfeDirection {
  double c = -1;         ///< coefficient of p in d (−1 FW, +1 away, 0 pairwise)
  Index add = -1;        ///< s, or −1
  Index remove = -1;     ///< a, or −1
  double slope = 0;      ///< −g·d ≥ 0, the decrease rate along d
  double max_step = 1;   ///< the largest η keeping p in Δ (a drop step at equality)
};

/// Resolves StepRule::Default and rejects rules the variant does not accept (InvalidArgument).
StepRule frank_wolfe_rule(const Options& options, FrankWolfeVariant variant, bool has_line_search);
FrankWolfeDirection frank_wolfe_direction(const VectorX<double>& p, const VectorX<double>& g, FrankWolfeVariant variant);
/// out = d as a dense vector.
void dense_direction(const VectorX<double>& p, const FrankWolfeDirection& d, VectorX<double>& out);
/// out = p + η d; a drop step (η = max_step) zeroes the removed coordinate exactly.
void frank_wolfe_move(const VectorX<double>& p, const FrankWolfeDirection& d, double eta, VectorX<double>& out);

}  // namespace detail

/// Minimises F over Δ from p ∈ Δ (overwritten with the answer). Step rules (Options::step_rule):
/// Vanilla accepts OpenLoop (η_t = 2/(t+2), the Default), Constant (η = step_size), LineSearch (needs
/// a LineSearchObjective) and ShortStep (η = min(1, G/(L‖d‖²)), needs Options::lipschitz > 0); Away and
/// Pairwise accept LineSearch (their Default when the objective offers it) and ShortStep (the Default
/// otherwise), capped at the drop step. The stopping certificate is the FW gap at p_t; a restart
/// multiplies the step rule by step_shrink. Summary::duality_gap is F(p) − max_t (F(p_t) − G_t), a
/// certified bound on F(p) − F* for convex F.
template <DifferentiableObjective F>
Summary frank_wolfe(const F& f, VectorX<double>& p, const Options& options = {},
                    FrankWolfeVariant variant = FrankWolfeVariant::Vanilla) {
  constexpr std::string_view fn = "frank_wolfe";
  Summary summary;
  detail::Tracker tracker(fn, options, summary);
  const StepRule rule = detail::frank_wolfe_rule(options, variant, LineSearchObjective<F>);
  VectorX<double> g;
  double value = detail::evaluate_start(f, p, g, fn, false);
  const Index n = p.size();
  VectorX<double> candidate(n), g_candidate(n), d(n);
  double scale = 1, step = 0;
  for (int t = 0; !tracker.accept(t, p, value, g, step); ++t) {
    const auto dir = detail::frank_wolfe_direction(p, g, variant);
    double eta = 0;
    // One trial from p with the step rule times `s` (the restart policy's shrink factor).
    const auto trial = [&](double s) -> std::string {
      switch (rule) {
      case StepRule::OpenLoop: eta = 2.0 / (t + 2.0); break;
      case StepRule::Constant: eta = options.step_size; break;
      case StepRule::LineSearch:
        if constexpr (LineSearchObjective<F>) {
          detail::dense_direction(p, dir, d);
          d *= dir.max_step;  // the objective searches η' ∈ [0, 1] along max_step·d
          eta = std::clamp(double(f.line_search(p, d)), 0.0, 1.0) * dir.max_step;
        }
        break;
      default:  // ShortStep
        detail::dense_direction(p, dir, d);
        eta = dir.slope / (options.lipschitz * d.squaredNorm());
        break;
      }
      eta = std::min(eta * s, dir.max_step);
      detail::frank_wolfe_move(p, dir, eta, candidate);
      const double v = value_and_gradient(f, candidate, g_candidate);
      const std::string reason = tracker.rejection(v, g_candidate);
      if (reason.empty()) value = v;
      return reason;
    };
    if (!tracker.attempt(t, scale, rule == StepRule::Constant ? options.step_size : 1.0, trial)) break;
    p.swap(candidate);
    g.swap(g_candidate);
    step = eta;
  }
  tracker.finish(p);
  return summary;
}

}  // namespace probspace::solvers
