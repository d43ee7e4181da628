// KKT certificate (spec §2.1), accumulated in double.
#include "row_kernels.hpp"
#include "threshold_kernels.hpp"

#include <probspace/core/checks.hpp>
#include <probspace/simplex/kkt.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

namespace probspace::simplex::detail {

template <Real T>
KktCertificate<T> kkt_certificate(const ConstVectorRef<T>& p, const ConstVectorRef<T>& g, T radius,
                                  T support_threshold) {
  constexpr const char* fn = "kkt_certificate";
  using probspace::detail::require;
  require(p.size() > 0, fn, "p", "must not be empty");
  require(p.allFinite(), fn, "p", "must be finite");
  probspace::detail::check_same_size(p.size(), g.size(), fn, "g");
  require(g.allFinite(), fn, "g", "must be finite");
  probspace::detail::require_positive(radius, fn, "radius");
  require(std::isfinite(support_threshold) && support_threshold >= T(0), fn, "support_threshold",
          "must be finite and >= 0, got ", support_threshold);

  constexpr double inf = std::numeric_limits<double>::infinity();
  const Index n = p.size();
  double sum = 0, negative = 0, pg = 0, min_g = inf, min_on = inf, max_on = -inf, min_off = inf;
  Index support = 0;
  for (Index i = 0; i < n; ++i) {
    const double pi = double(p[i]), gi = double(g[i]);
    sum += pi;
    negative += std::max(0.0, -pi);
    pg += pi * gi;
    min_g = std::min(min_g, gi);
    if (p[i] > support_threshold) {
      ++support;
      min_on = std::min(min_on, gi);
      max_on = std::max(max_on, gi);
    } else {
      min_off = std::min(min_off, gi);
    }
  }
  double max_r = 0;
  for (Index i = 0; i < n; ++i) max_r = std::max(max_r, double(p[i]) * (double(g[i]) - min_g));

  // Natural residual ‖p − Π(p − g)‖₂ through the projection kernel.
  thread_local VectorX<T> step;
  step = p - g;
  const T max_step = step.maxCoeff();
  kernels::project_simplex_row(step.data(), n, step.data(), double(radius), max_step, ProjectionMethod::Auto,
                               kernels::thread_scratch());

  KktCertificate<T> c;
  c.feasibility = T(std::abs(sum - double(radius)) + negative);
  c.fw_gap = T(std::max(0.0, pg - double(radius) * min_g));
  c.stationarity = support > 0 ? T(max_on - min_on) : T(0);
  c.complementarity = support > 0 && support < n ? T(std::max(0.0, min_on - min_off)) : T(0);
  c.max_complementarity = T(max_r);
  c.natural_residual = T((p - step).norm());
  c.lambda = T(-min_g);
  c.support_size = support;
  return c;
}

template KktCertificate<float> kkt_certificate<float>(const ConstVectorRef<float>&, const ConstVectorRef<float>&,
                                                      float, float);
template KktCertificate<double> kkt_certificate<double>(const ConstVectorRef<double>&, const ConstVectorRef<double>&,
                                                        double, double);

}  // namespace probspace::simplex::detail
