// Frank–Wolfe directions and step-rule checks (spec probability.md §7.1).
#include <probspace/core/error.hpp>
#include <probspace/solvers/frank_wolfe.hpp>

namespace probspace::solvers::detail {

StepRule frank_wolfe_rule(const Options& options, FrankWolfeVariant variant, bool has_line_search) {
  constexpr std::string_view fn = "frank_wolfe";
  StepRule rule = options.step_rule;
  if (rule == StepRule::Default)
    rule = variant == FrankWolfeVariant::Vanilla ? StepRule::OpenLoop
           : has_line_search                     ? StepRule::LineSearch
                                                 : StepRule::ShortStep;
  const bool vanilla_only = rule == StepRule::OpenLoop || rule == StepRule::Constant;
  probspace::detail::require(rule == StepRule::LineSearch || rule == StepRule::ShortStep ||
                                 (vanilla_only && variant == FrankWolfeVariant::Vanilla),
                             fn, "options.step_rule",
                             "must be OpenLoop, Constant, LineSearch or ShortStep (away and pairwise: LineSearch "
                             "or ShortStep)");
  probspace::detail::require(rule != StepRule::LineSearch || has_line_search, fn, "options.step_rule",
                             "is LineSearch but the objective has no line_search(p, d)");
  probspace::detail::require(rule != StepRule::ShortStep || options.lipschitz > 0, fn, "options.lipschitz",
                             "must be > 0 for the short step, got ", options.lipschitz);
  return rule;
}

FrankWolfeDirection frank_wolfe_direction(const VectorX<double>& p, const VectorX<double>& g,
                                          FrankWolfeVariant variant) {
  FrankWolfeDirection d;
  g.minCoeff(&d.add);  // lowest index on ties
  const double pg = p.dot(g), fw_slope = pg - g[d.add];
  if (variant == FrankWolfeVariant::Vanilla) {
    d.slope = fw_slope;
    return d;
  }
  // The away vertex: the worst gradient on the support (the active set of p's barycentric weights,
  // which on Δ are p itself).
  Index a = -1;
  for (Index i = 0; i < p.size(); ++i)
    if (p[i] > 0 && (a < 0 || g[i] > g[a])) a = i;
  const double away_slope = g[a] - pg;
  if (variant == FrankWolfeVariant::Pairwise) {
    d = {0, d.add, a, g[a] - g[d.add], p[a]};
    if (d.add == a) d.slope = 0;
    return d;
  }
  if (fw_slope >= away_slope || p[a] >= 1) {
    d.slope = fw_slope;
    return d;
  }
  return {1, -1, a, away_slope, p[a] / (1 - p[a])};
}

void dense_direction(const VectorX<double>& p, const FrankWolfeDirection& d, VectorX<double>& out) {
  out = d.c * p;
  if (d.add >= 0) out[d.add] += 1;
  if (d.remove >= 0) out[d.remove] -= 1;
}

void frank_wolfe_move(const VectorX<double>& p, const FrankWolfeDirection& d, double eta, VectorX<double>& out) {
  out = (1 + d.c * eta) * p;
  if (d.add >= 0) out[d.add] += eta;
  if (d.remove >= 0) out[d.remove] = eta >= d.max_step ? 0.0 : out[d.remove] - eta;
}

}  // namespace probspace::solvers::detail
