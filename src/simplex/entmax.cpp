// α-entmax (spec §3 row 4, §4.2) and the sparsemax row kernel it reduces to at α = 2.
#include "row_kernels.hpp"
#include "threshold_kernels.hpp"

#include <probspace/core/checks.hpp>
#include <probspace/simplex/entmax.hpp>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

namespace probspace::simplex {
namespace kernels {
namespace {

/// Candidates c_j = X_j − max X for X = (α−1)z, keeping only X_j > max X − 1: since τ ≥ max X − 1
/// (there the top entry alone gives Σ = 1), the support lies among them. The comparison is made on
/// z (z_j > max z − 1/(α−1)), so the pass is a vectorisable compare with a rarely taken branch.
template <Real T> void gather_candidates(const T* z, Index n, double am1, T max_z, std::vector<double>& c) {
  c.resize(std::size_t(n));
  const T cutoff = T(double(max_z) - 1.0 / am1);
  std::size_t m = 0;
  for (Index i = 0; i < n; ++i) {
    if (z[i] > cutoff) c[m++] = am1 * (double(z[i]) - double(max_z));
  }
  c.resize(m);
}

/// Exact threshold for α = 1.5 (spec §4.2): sort descending; τ_k is the smaller root of
/// Σ_{i≤k} (c_i − τ)² = 1, i.e. μ_k − sqrt((1 − k·var_k)/k) (Welford for var_k); k* = #{k : τ_k ≤ c_k}.
/// Before sorting, a few bisection steps on ψ(τ) = Σ[c − τ]₊² give τ_lo ≤ τ* (ψ(τ_lo) ≥ 1); only
/// c > τ_lo can be in the support, and they are all the largest, so the exact result is unchanged.
Threshold<double> exact15_threshold(std::vector<double>& c) {
  double lo = -1.0, hi = -1.0 / std::sqrt(double(c.size()));
  for (int it = 0; it < 12; ++it) {
    const double mid = 0.5 * (lo + hi);
    double psi = 0;
    for (const double cj : c) {
      const double d = std::max(cj - mid, 0.0);
      psi += d * d;
    }
    (psi >= 1.0 ? lo : hi) = mid;
  }
  c.erase(std::remove_if(c.begin(), c.end(), [lo](double cj) { return !(cj > lo); }), c.end());
  std::sort(c.begin(), c.end(), std::greater<>());
  double mean = 0, m2 = 0;  // running mean and Σ(c − mean)² of the top k
  Index support = 0;
  std::vector<double>::size_type k = 0;
  double tau = 0;
  for (const double ck : c) {
    ++k;
    const double delta = ck - mean;
    mean += delta / double(k);
    m2 += delta * (ck - mean);
    const double tau_k = mean - std::sqrt(std::max(0.0, (1.0 - m2) / double(k)));
    if (tau_k <= ck) {
      ++support;
      tau = tau_k;
    }
  }
  return {tau, support};
}

/// φ(τ) = Σ_j [c_j − τ]₊^e − 1 and its derivative, e = 1/(α−1).
struct PhiValue {
  double phi, dphi;
  Index support;
};
PhiValue entmax_phi(const std::vector<double>& c, double tau, double e) {
  PhiValue v{-1.0, 0.0, 0};
  for (const double cj : c) {
    const double d = cj - tau;
    if (d <= 0) continue;
    const double pe1 = std::pow(d, e - 1.0);
    v.phi += pe1 * d;
    v.dphi -= e * pe1;
    ++v.support;
  }
  return v;
}

/// Safeguarded Newton on φ inside the bracket [−1, −(1/m)^{α−1}] (φ(lo) ≥ 0 ≥ φ(hi), m candidates).
Threshold<double> bisection_threshold(const std::vector<double>& c, double am1) {
  const double e = 1.0 / am1;
  double lo = -1.0, hi = -std::pow(1.0 / double(c.size()), am1);
  double tau = lo;
  PhiValue v = entmax_phi(c, tau, e);
  for (int it = 0; it < 200 && std::abs(v.phi) > kEntmaxTolerance; ++it) {
    (std::signbit(v.phi) ? hi : lo) = tau;
    const double mid = lo + 0.5 * (hi - lo);
    if (!(mid > lo && mid < hi)) break;  // the bracket holds adjacent doubles
    const double newton = v.dphi < 0 ? tau - v.phi / v.dphi : mid;
    tau = (newton > lo && newton < hi) ? newton : mid;
    v = entmax_phi(c, tau, e);
  }
  return {tau, v.support};
}

}  // namespace

template <Real T>
Threshold<T> entmax_row(const T* z, Index n, T* p, double alpha, EntmaxMethod method, T max_z,
                        std::vector<double>& work) {
  const double am1 = alpha - 1.0;
  if (am1 <= kEntmaxSoftmaxCutoff) {  // the α → 1 limit
    const double lse = probspace::kernels::softmax_row(z, n, p, T(1), max_z);
    return {T(lse), Index(std::count_if(p, p + n, [](T v) { return v > T(0); }))};
  }
  if (alpha == 2.0 && method == EntmaxMethod::Auto) return project_simplex_row(z, n, p, 1.0, max_z, ProjectionMethod::Auto, work);
  gather_candidates(z, n, am1, max_z, work);
  const bool exact = method == EntmaxMethod::Exact15 || (method == EntmaxMethod::Auto && alpha == 1.5);
  const auto t = exact ? exact15_threshold(work) : bisection_threshold(work, am1);
  // p_i = [X_i − τ]₊^{1/(α−1)} with X_i − τ = (α−1)(z_i − max z) − τ' for the shifted τ'.
  const T a = T(am1), shift = T(t.tau);
  if (alpha == 1.5) {
    for (Index i = 0; i < n; ++i) {
      const T d = std::max(a * (z[i] - max_z) - shift, T(0));
      p[i] = d * d;
    }
  } else {
    const double e = 1.0 / am1;
    for (Index i = 0; i < n; ++i) {
      const double d = am1 * (double(z[i]) - double(max_z)) - t.tau;
      p[i] = d > 0 ? T(std::pow(d, e)) : T(0);
    }
  }
  if (!exact) {  // renormalise the bisection result (spec §4.2)
    double sum = 0;
    for (Index i = 0; i < n; ++i) sum += double(p[i]);
    const T scale = T(1.0 / sum);
    for (Index i = 0; i < n; ++i) p[i] *= scale;
  }
  return {T(am1 * double(max_z) + t.tau), t.support_size};
}

#define PROBSPACE_INSTANTIATE(T)                                                                   \
  template Threshold<T> entmax_row<T>(const T*, Index, T*, double, EntmaxMethod, T, std::vector<double>&);
PROBSPACE_INSTANTIATE(float)
PROBSPACE_INSTANTIATE(double)
#undef PROBSPACE_INSTANTIATE

}  // namespace kernels

namespace detail {

void check_entmax_alpha(double alpha, EntmaxMethod method, std::string_view function) {
  probspace::detail::require(std::isfinite(alpha) && alpha > 1.0, function, "alpha",
                             "must be finite and > 1, got ", alpha);
  probspace::detail::require(method != EntmaxMethod::Exact15 || alpha == 1.5, function, "method",
                             "Exact15 requires alpha = 1.5, got alpha = ", alpha);
}

template <Real T>
Threshold<T> entmax(const ConstVectorRef<T>& z, VectorRef<T> p, T alpha, EntmaxMethod method) {
  probspace::detail::check_same_size(z.size(), p.size(), "entmax", "p");
  const T max_z = probspace::detail::check_logits(z.data(), z.size(), "entmax", "z");
  check_entmax_alpha(double(alpha), method, "entmax");
  return kernels::entmax_row(z.data(), z.size(), p.data(), double(alpha), method, max_z,
                             kernels::thread_scratch());
}

template Threshold<float> entmax<float>(const ConstVectorRef<float>&, VectorRef<float>, float, EntmaxMethod);
template Threshold<double> entmax<double>(const ConstVectorRef<double>&, VectorRef<double>, double, EntmaxMethod);

}  // namespace detail
}  // namespace probspace::simplex
