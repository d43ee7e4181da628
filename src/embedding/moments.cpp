// Moment facts (spec embedding.md §2) and the exact logit moments at initialisation (§3–5).
#include "checks.hpp"

#include <probspace/embedding/moments.hpp>

#include <boost/math/special_functions/gamma.hpp>

#include <cmath>
#include <numbers>

namespace probspace::embedding {

double expected_squared_norm(Index d, double sigma) {
  checks::width(d, "expected_squared_norm");
  checks::sigma(sigma, "expected_squared_norm");
  return double(d) * sigma * sigma;
}

double squared_norm_variance(Index d, double sigma) {
  checks::width(d, "squared_norm_variance");
  checks::sigma(sigma, "squared_norm_variance");
  return 2 * double(d) * std::pow(sigma, 4);
}

double expected_squared_dot(Index d, double sigma) {
  checks::width(d, "expected_squared_dot");
  checks::sigma(sigma, "expected_squared_dot");
  return double(d) * std::pow(sigma, 4);
}

double chi_mean(Index d) {
  checks::width(d, "chi_mean");
  // Γ((d+1)/2)/Γ(d/2) = 1 / tgamma_delta_ratio(d/2, 1/2), accurate for large d (no lgamma cancellation).
  return std::numbers::sqrt2 / boost::math::tgamma_delta_ratio(0.5 * double(d), 0.5);
}

LogitMoments logit_moments(Parametrisation parametrisation, Index d, double sigma) {
  checks::width_for(parametrisation, d, "logit_moments");
  checks::sigma(sigma, "logit_moments");
  const double dd = double(d), s2 = dd * sigma * sigma;  // Var z_k = dσ² for k ≠ i
  const LogitMoments zero_mean{0, std::sqrt(s2), 0, s2};
  switch (parametrisation) {
    case Parametrisation::Tied: {
      const double m = chi_mean(d);  // z_i = σ√d·χ_d
      return {sigma * std::sqrt(dd) * m, sigma * std::sqrt(dd * (dd - m * m)), 0, s2};
    }
    case Parametrisation::Untied:
    case Parametrisation::TiedOrthogonal: return zero_mean;
    case Parametrisation::TiedSwap: return {0, std::sqrt(2 * s2 * dd / (dd + 2)), 0, s2};
  }
  probspace::detail::throw_invalid("logit_moments", "parametrisation", "is not a Parametrisation: ",
                                   int(parametrisation));
}

}  // namespace probspace::embedding
