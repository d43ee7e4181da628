// Inverse-CDF sampling from softmax(s/τ), accumulated in double.
#include <probspace/core/checks.hpp>
#include <probspace/nbce/sampling.hpp>

#include <cmath>

namespace probspace::nbce::detail {

using probspace::detail::require;

template <Real T> Index sample(const ConstVectorRef<T>& scores, double tau, double u) {
  probspace::detail::require_positive(tau, "sample", "tau");
  require(u >= 0.0 && u < 1.0, "sample", "u", "must be in [0, 1), got ", u);
  const double max_s = double(probspace::detail::check_logits(scores.data(), scores.size(), "sample", "scores"));
  double total = 0;
  for (Index t = 0; t < scores.size(); ++t) total += std::exp((double(scores[t]) - max_s) / tau);
  const double target = u * total;
  double cdf = 0;
  Index last = 0;
  for (Index t = 0; t < scores.size(); ++t) {
    const double w = std::exp((double(scores[t]) - max_s) / tau);
    if (w == 0.0) continue;
    last = t;
    cdf += w;
    if (cdf > target) return t;
  }
  return last;  // rounding left the CDF a hair short of u·total: the last drawable token
}

template Index sample<float>(const ConstVectorRef<float>&, double, double);
template Index sample<double>(const ConstVectorRef<double>&, double, double);

}  // namespace probspace::nbce::detail
