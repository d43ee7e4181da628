// Π_{Δ_a} and the ℓ1-ball projection (spec §4.1) on top of the threshold kernels.
#include "row_kernels.hpp"
#include "threshold_kernels.hpp"

#include <probspace/core/checks.hpp>
#include <probspace/simplex/projection.hpp>
#include <probspace/simplex/sparsemax.hpp>

#include <algorithm>
#include <cmath>

namespace probspace::simplex {

template <Real T>
Threshold<T> kernels::project_simplex_row(const T* y, Index n, T* out, double a, T max_y,
                                          ProjectionMethod method, std::vector<double>& work) {
  const auto t = threshold(y, n, a, max_y, method, work);
  if (t.support_size == 0) return {T(t.tau), 0};  // Condat found invalid input: out untouched
  // τ as an unevaluated sum τ_hi + τ_lo: y − τ_hi is exact near τ (Sterbenz), so entries far below
  // one ulp of y (e.g. 1/32000 next to y ≈ 1 in float) keep their relative precision.
  const T tau = T(t.tau), tau_lo = T(t.tau - double(tau));
  for (Index i = 0; i < n; ++i) out[i] = std::max((y[i] - tau) - tau_lo, T(0));
  return {tau, t.support_size};
}
template Threshold<float> kernels::project_simplex_row<float>(const float*, Index, float*, double, float,
                                                              ProjectionMethod, std::vector<double>&);
template Threshold<double> kernels::project_simplex_row<double>(const double*, Index, double*, double, double,
                                                                ProjectionMethod, std::vector<double>&);

namespace detail {

using probspace::detail::check_logits;
using probspace::detail::check_same_size;
using probspace::detail::require;
using probspace::detail::require_positive;

namespace {
/// Π_{Δ_a}(y) behind project_simplex and sparsemax, which differ only in the names they report.
template <Real T>
Threshold<T> checked_projection(const ConstVectorRef<T>& y, VectorRef<T> out, T radius, ProjectionMethod method,
                                const char* fn, const char* y_name, const char* out_name) {
  check_same_size(y.size(), out.size(), fn, out_name);
  require(y.size() > 0, fn, y_name, "must not be empty");
  // Condat checks y in its own pass (one read of y fewer); the other methods need max y first.
  const bool fused = kernels::runs_condat(method, y.size());
  const T max_y = fused ? T(0) : check_logits(y.data(), y.size(), fn, y_name);
  require_positive(radius, fn, "radius");
  const auto t = kernels::project_simplex_row(y.data(), y.size(), out.data(), double(radius), max_y, method,
                                              kernels::thread_scratch());
  if (t.support_size == 0) check_logits(y.data(), y.size(), fn, y_name);  // throws, naming the fault
  return t;
}
}  // namespace

template <Real T>
Threshold<T> project_simplex(const ConstVectorRef<T>& y, VectorRef<T> out, T radius, ProjectionMethod method) {
  return checked_projection(y, out, radius, method, "project_simplex", "y", "out");
}

template <Real T> Threshold<T> sparsemax(const ConstVectorRef<T>& z, VectorRef<T> p, ProjectionMethod method) {
  return checked_projection(z, p, T(1), method, "sparsemax", "z", "p");
}

template <Real T>
Threshold<T> project_l1_ball(const ConstVectorRef<T>& y, VectorRef<T> out, T radius, ProjectionMethod method) {
  check_same_size(y.size(), out.size(), "project_l1_ball", "out");
  require(y.size() > 0, "project_l1_ball", "y", "must not be empty");
  require(y.allFinite(), "project_l1_ball", "y", "must be finite");
  require_positive(radius, "project_l1_ball", "radius");
  double norm = 0;
  for (Index i = 0; i < y.size(); ++i) norm += std::abs(double(y[i]));
  if (norm <= double(radius)) {
    if (out.data() != y.data()) out = y;
    return {T(0), Index((y.array() != T(0)).count())};
  }
  thread_local VectorX<T> magnitude;
  magnitude = y.cwiseAbs();
  const auto t = kernels::threshold(magnitude.data(), magnitude.size(), double(radius),
                                    magnitude.maxCoeff(), method, kernels::thread_scratch());
  const T tau = T(t.tau);
  for (Index i = 0; i < y.size(); ++i)
    out[i] = std::copysign(std::max(magnitude[i] - tau, T(0)), y[i]);
  return {tau, t.support_size};
}

#define PROBSPACE_INSTANTIATE(T)                                                                   \
  template Threshold<T> project_simplex<T>(const ConstVectorRef<T>&, VectorRef<T>, T, ProjectionMethod); \
  template Threshold<T> project_l1_ball<T>(const ConstVectorRef<T>&, VectorRef<T>, T, ProjectionMethod); \
  template Threshold<T> sparsemax<T>(const ConstVectorRef<T>&, VectorRef<T>, ProjectionMethod);
PROBSPACE_INSTANTIATE(float)
PROBSPACE_INSTANTIATE(double)

}  // namespace detail
}  // namespace probspace::simplex
