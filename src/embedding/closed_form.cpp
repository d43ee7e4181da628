// Predicted initial loss (spec embedding.md §3–5; the second-order terms are derived in
// docs/embedding.md). Everything is evaluated in the log domain, so e^{dσ} never overflows.
#include "checks.hpp"

#include <probspace/embedding/closed_form.hpp>
#include <probspace/embedding/moments.hpp>

#include <algorithm>
#include <cmath>

namespace probspace::embedding {
namespace {

double log_add_exp(double a, double b) {
  const double hi = std::max(a, b);
  return hi + std::log1p(std::exp(std::min(a, b) - hi));
}

/// log Var e^{z} for z ~ N(0, v): log(e^{v}(e^{v} − 1)), without overflow for large v.
double log_lognormal_variance(double v) {
  return v + (v > 1 ? v + std::log1p(-std::exp(-v)) : std::log(std::expm1(v)));
}

/// E log(e^{x} + S) ≈ log(e^{x} + E S) − Var S / (2(e^{x} + E S)²), the sum S of the n − 1 other
/// exponentiated logits at its second order (delta method), given log E S and log Var S.
double log_sum_second_order(double x, double log_mean_s, double log_var_s) {
  const double l = log_add_exp(x, log_mean_s);
  return l - 0.5 * std::exp(log_var_s - 2 * l);
}

/// E over z = scale·χ_d of f(z), by composite Simpson on χ ∈ [√(d−1) − 12, √(d−1) + 12] ∩ [0, ∞)
/// (sd χ_d < 0.77 for every d), the density c^{d−1}e^{−c²/2} normalised on the same nodes.
template <class F> double chi_expectation(Index d, double scale, F&& f) {
  constexpr int kIntervals = 8000;
  const double mode = std::sqrt(double(d - 1));
  const double lo = std::max(0.0, mode - 12), hi = mode + 12, h = (hi - lo) / kIntervals;
  const auto log_density = [&](double c) {
    return (d == 1 ? 0.0 : double(d - 1) * std::log(c)) - 0.5 * c * c;
  };
  const double log_peak = log_density(std::max(mode, lo));
  double mass = 0, sum = 0;
  for (int k = 0; k <= kIntervals; ++k) {
    const double c = lo + h * k;
    if (c == 0 && d > 1) continue;  // density 0
    const double weight = (k == 0 || k == kIntervals ? 1 : k % 2 ? 4 : 2) * std::exp(log_density(c) - log_peak);
    mass += weight;
    sum += weight * f(scale * c);
  }
  return sum / mass;
}

}  // namespace

InitialLossPrediction predicted_initial_loss(Parametrisation parametrisation, Index n, Index d, double sigma) {
  constexpr std::string_view fn = "predicted_initial_loss";
  checks::vocabulary(n, fn);
  checks::width_for(parametrisation, d, fn);
  checks::sigma(sigma, fn);
  const double dd = double(d), s2 = dd * sigma * sigma, log_n = std::log(double(n));
  const double log_others = std::log(double(n - 1));
  // S = Σ_{k≠i} e^{z_k}, z_k i.i.d. N(0, dσ²): E S = (n−1)e^{dσ²/2}, Var S = (n−1)e^{dσ²}(e^{dσ²} − 1).
  const double log_mean_s = log_others + 0.5 * s2, log_var_s = log_others + log_lognormal_variance(s2);
  const LogitMoments moments = logit_moments(parametrisation, d, sigma);

  if (parametrisation == Parametrisation::Tied) {
    const double self = dd * sigma;  // §3: z_i ≈ dσ
    return {log_add_exp(self, log_others), log_add_exp(self, log_mean_s),
            chi_expectation(d, sigma * std::sqrt(dd),
                            [&](double z) { return log_sum_second_order(z, log_mean_s, log_var_s); })};
  }
  // Untied, orthogonal P, swap: z_i is centred with variance v; taken Gaussian, E e^{z_i} = e^{v/2}.
  // The spec's refinement uses v = dσ² (untied, P) and 2dσ² (swap); the exact v is in LogitMoments.
  const double spec_v = parametrisation == Parametrisation::TiedSwap ? 2 * s2 : s2;
  const double v = moments.self_std * moments.self_std;
  const double log_mean = log_add_exp(0.5 * v, log_mean_s);
  const double log_var = log_add_exp(log_lognormal_variance(v), log_var_s);
  return {log_n, log_add_exp(0.5 * spec_v, log_mean_s), log_mean - 0.5 * std::exp(log_var - 2 * log_mean)};
}

}  // namespace probspace::embedding
