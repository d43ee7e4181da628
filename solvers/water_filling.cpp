// Separable water-filling by bracketed root finding (spec probability.md §3).
#include <probspace/core/error.hpp>
#include <probspace/simplex/kkt.hpp>
#include <probspace/solvers/detail/tracker.hpp>
#include <probspace/solvers/water_filling.hpp>

#include <boost/math/tools/roots.hpp>

#include <cmath>
#include <cstdint>
#include <limits>

namespace probspace::solvers {
namespace {

constexpr std::string_view kFn = "water_filling";
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kEps = std::numeric_limits<double>::epsilon();

void require_scores(const VectorX<double>& x, std::string_view fn) {
  probspace::detail::require(x.size() > 0, fn, "x", "must not be empty");
  probspace::detail::require(x.allFinite(), fn, "x", "must be finite");
}

/// Thrown from inside the root finder when S(c) is not finite, caught in water_filling.
struct NonFinite {};

/// TOMS 748 to full double precision on [a, b] with h(a) ≤ 0 ≤ h(b); returns the end with the smaller |h|.
template <class H> double solve(H h, double a, double b, double ha, double hb, std::uintmax_t& iterations) {
  if (ha == 0) return a;
  if (hb == 0) return b;
  const auto [lo, hi] = boost::math::tools::toms748_solve(h, a, b, ha, hb, boost::math::tools::eps_tolerance<double>(),
                                                          iterations);
  return std::abs(h(lo)) <= std::abs(h(hi)) ? lo : hi;
}

/// (f_i′)⁻¹(c) on [0, 1] by root finding, when the terms give no inverse.
double invert_numerically(const SeparableTerms& terms, Index i, double c) {
  const auto h = [&](double q) { return terms.derivative(i, q) - c; };
  const double h0 = h(0), h1 = h(1);
  if (std::isnan(h0) || std::isnan(h1)) throw NonFinite{};
  if (h0 >= 0) return 0;
  if (h1 <= 0) return 1;
  double a = 0, b = 1, ha = h0;
  if (!std::isfinite(h0)) {  // f′(0⁺) = −inf: halve until h < 0; then h(2a) ≥ 0 brackets the root
    for (b = 1, a = 0.5; (ha = h(a)) >= 0; b = a, a *= 0.5)
      if (a == 0) return 0;
  }
  std::uintmax_t iterations = 200;
  return solve(h, a, b, ha, h(b), iterations);
}

}  // namespace

SeparableTerms entropy_terms(const VectorX<double>& x, double temperature) {
  require_scores(x, "entropy_terms");
  probspace::detail::require_positive(temperature, "entropy_terms", "temperature");
  const double tau = temperature;
  return {x.size(), [x, tau](Index i, double q) { return -x[i] + tau * (std::log(q) + 1); },
          [x, tau](Index i, double c) { return std::exp((c + x[i]) / tau - 1); },
          [x, tau](Index i, double q) { return -x[i] * q + (q > 0 ? tau * q * std::log(q) : 0.0); }};
}

SeparableTerms quadratic_terms(const VectorX<double>& x, double weight) {
  require_scores(x, "quadratic_terms");
  probspace::detail::require_positive(weight, "quadratic_terms", "weight");
  const double tau = weight;
  return {x.size(), [x, tau](Index i, double q) { return -x[i] + tau * q; },
          [x, tau](Index i, double c) { return std::max((c + x[i]) / tau, 0.0); },
          [x, tau](Index i, double q) { return -x[i] * q + 0.5 * tau * q * q; }};
}

SeparableTerms tsallis_terms(const VectorX<double>& x, double alpha, double weight) {
  require_scores(x, "tsallis_terms");
  probspace::detail::require(std::isfinite(alpha) && alpha > 1, "tsallis_terms", "alpha", "must be finite and > 1, got ",
                             alpha);
  probspace::detail::require_positive(weight, "tsallis_terms", "weight");
  const double a = alpha, tau = weight, k = alpha * (alpha - 1);
  return {x.size(), [x, a, tau, k](Index i, double q) { return -x[i] + tau * (a * std::pow(q, a - 1) - 1) / k; },
          [x, a, tau](Index i, double c) {
            return std::pow(std::max((a - 1) * (c + x[i]) / tau + 1 / a, 0.0), 1 / (a - 1));
          },
          [x, a, tau, k](Index i, double q) { return -x[i] * q - tau * (q - std::pow(q, a)) / k; }};
}

WaterFillingSummary water_filling(const SeparableTerms& terms, VectorX<double>& p, const Options& options) {
  detail::validate_options(options, kFn);
  probspace::detail::require(terms.size > 0, kFn, "terms.size", "must be > 0, got ", terms.size);
  probspace::detail::require(bool(terms.derivative), kFn, "terms.derivative", "must be set");
  const Index n = terms.size;
  const auto p_of = [&](Index i, double c) {
    const double q = terms.inverse ? terms.inverse(i, c) : invert_numerically(terms, i, c);
    return q > 0 ? q : 0.0;  // off the support where c ≤ f_i′(0⁺)
  };
  const auto excess = [&](double c) {  // S(c) − 1, non-decreasing
    double s = 0;
    for (Index i = 0; i < n; ++i) s += p_of(i, c);
    if (!std::isfinite(s)) throw NonFinite{};
    return s - 1;
  };

  WaterFillingSummary summary;
  p.resize(n);
  double lo = kInf, hi = kInf;
  for (Index i = 0; i < n; ++i) {
    lo = std::min(lo, terms.derivative(i, 1.0 / double(n)));
    hi = std::min(hi, terms.derivative(i, 1.0));
  }
  std::uintmax_t iterations = std::uintmax_t(options.max_iterations);
  double c = 0;
  try {
    // S(lo) ≤ 1 ≤ S(hi) in exact arithmetic; rounding may miss by a few ulps, so widen by growing
    // multiples of ε (a wrong sign that persists means non-convex terms).
    double excess_lo = excess(lo), excess_hi = excess(hi);
    for (double widen = kEps * std::max(1.0, hi - lo); excess_lo > 0 && widen < 1; widen *= 2)
      excess_lo = excess(lo -= widen * std::max(1.0, std::abs(lo)));
    for (double widen = kEps * std::max(1.0, hi - lo); excess_hi < 0 && widen < 1; widen *= 2)
      excess_hi = excess(hi += widen * std::max(1.0, std::abs(hi)));
    if (!(excess_lo <= 0 && excess_hi >= 0)) {
      summary.termination = Termination::Failure;
      summary.message = "S(c) - 1 has no sign change on [min f'(1/n), min f'(1)]: are the terms convex?";
      return summary;
    }
    c = solve(excess, lo, hi, excess_lo, excess_hi, iterations);
    for (Index i = 0; i < n; ++i) p[i] = p_of(i, c);
  } catch (const NonFinite&) {
    summary.termination = Termination::Failure;
    summary.message = "the derivative or its inverse returned a non-finite value";
    return summary;
  }
  p /= p.sum();

  VectorX<double> g(n);
  double value = terms.value ? 0.0 : std::numeric_limits<double>::quiet_NaN();
  for (Index i = 0; i < n; ++i) {
    g[i] = terms.derivative(i, p[i]);
    if (p[i] == 0 && g[i] == -kInf) g[i] = c;  // p_i(c) underflowed: on the support to rounding
    if (terms.value) value += terms.value(i, p[i]);
  }
  if (!g.allFinite()) {
    summary.termination = Termination::Failure;
    summary.message = "the derivative is not finite at the answer";
    return summary;
  }
  const auto certificate = simplex::kkt_certificate(p, g);
  summary.iterations = int(iterations);
  summary.objective = value;
  summary.kkt_residual = certificate.fw_gap;
  summary.duality_gap = certificate.fw_gap;
  summary.multiplier = c;
  const double scale = std::isfinite(value) ? std::max(1.0, std::abs(value)) : 1.0;
  const bool converged = certificate.fw_gap <= options.tolerance * scale;
  summary.termination = converged                                                 ? Termination::Converged
                        : iterations >= std::uintmax_t(options.max_iterations) ? Termination::MaxIterations
                                                                                  : Termination::Failure;
  summary.message = converged ? "FW gap within tolerance" : "FW gap above tolerance at the root of S(c) = 1";
  if (options.record_history) summary.history.push_back({summary.iterations, value, certificate.fw_gap, 0.0});
  return summary;
}

}  // namespace probspace::solvers
