// The four threshold algorithms of spec §4.1 for Π_{Δ_a}: sort, Condat, bisection (+ Auto).
#include "threshold_kernels.hpp"

#include "../core/simd.hpp"

#include <probspace/core/checks.hpp>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

namespace probspace::simplex {

const char* to_string(ProjectionMethod method) {
  switch (method) {
    case ProjectionMethod::Auto: return "auto";
    case ProjectionMethod::Sort: return "sort";
    case ProjectionMethod::Condat: return "condat";
    case ProjectionMethod::Bisection: return "bisection";
  }
  return "unknown";
}

namespace kernels {

namespace {
/// Neumaier's compensated sum: every method computes τ = (Σ_S y − a)/|S| from a nearly correctly
/// rounded Σ_S y, so methods that visit S in different orders agree to a few ulps.
class CompensatedSum {
public:
  void add(double x) {
    const double t = sum_ + x;
    compensation_ += std::abs(sum_) >= std::abs(x) ? (sum_ - t) + x : (x - t) + sum_;
    sum_ = t;
  }
  double value() const { return sum_ + compensation_; }

private:
  double sum_ = 0, compensation_ = 0;
};
}  // namespace

std::vector<double>& thread_scratch() {
  thread_local std::vector<double> scratch;
  return scratch;
}

template <Real T> ThresholdD threshold_sort(const T* y, Index n, double a, std::vector<double>& work) {
  work.clear();
  for (Index i = 0; i < n; ++i)
    if (y[i] != -std::numeric_limits<T>::infinity()) work.push_back(double(y[i]));
  std::sort(work.begin(), work.end(), std::greater<>());
  // ρ = max{j : u_j > (s_j − a)/j}; the j satisfying it form a prefix.
  CompensatedSum s;
  double tau = 0;
  Index rho = 0;
  for (Index j = 0; j < Index(work.size()); ++j) {
    const double t = (s.value() + work[j] - a) / double(j + 1);
    if (!(work[j] > t)) break;
    s.add(work[j]);
    tau = t;
    rho = j + 1;
  }
  return {tau, rho};
}

template <Real T> ThresholdD threshold_condat(const T* y, Index n, double a, std::vector<double>& work) {
  // Condat (2016), as in spec §4.1: v = work[0, nv), ṽ = work[n, n + nt). The input check rides
  // along: NaN, +inf or an all −inf input return support 0 (so callers can skip a separate pass).
  constexpr double inf = std::numeric_limits<double>::infinity();
  work.resize(std::size_t(2 * n));
  double* v = work.data();
  double* vt = work.data() + n;
  Index first = 0;
  while (first < n && double(y[first]) == -inf) ++first;  // masked entries never enter
  if (first == n || !(double(y[first]) < inf)) return {0.0, 0};
  Index nv = 1, nt = 0;
  v[0] = double(y[first]);
  double rho = v[0] - a;
  int bad = 0;
  const auto visit = [&](double yi) {
    rho += (yi - rho) / double(nv + 1);
    if (rho > yi - a) {
      v[nv++] = yi;
    } else {
      std::copy(v, v + nv, vt + nt);
      nt += nv;
      v[0] = yi;
      nv = 1;
      rho = yi - a;
    }
  };
  // ρ never decreases, so a vector of entries none of which exceeds it is skipped whole. The test
  // runs in T against ρ rounded down to T (so it never skips an entry above ρ) and carries the
  // NaN/+inf check.
  using V = typename simd::Simd<T>::V;
  using M = typename simd::Simd<T>::M;
  constexpr Index w = simd::kWidth<T>;
  const auto rho_below = [&] {
    T r = T(rho);
    return double(r) > rho ? std::nextafter(r, -std::numeric_limits<T>::infinity()) : r;
  };
  T rho_t = rho_below();
  M invalid = {};
  Index b = first + 1;
  for (; b + w <= n; b += w) {
    const V yv = simd::load(y + b);
    invalid |= (yv != yv) | (yv == std::numeric_limits<T>::infinity());
    if (!simd::any(yv > rho_t)) continue;
    for (Index j = b; j < b + w; ++j)
      if (double(y[j]) > rho) visit(double(y[j]));
    rho_t = rho_below();
  }
  bad = int(simd::any(invalid));
  for (; b < n; ++b) {
    const double yb = double(y[b]);
    bad |= int(yb != yb) | int(yb == inf);
    if (yb > rho) visit(yb);
  }
  if (bad) return {0.0, 0};
  for (Index i = 0; i < nt; ++i) {
    if (vt[i] > rho) {
      v[nv++] = vt[i];
      rho += (vt[i] - rho) / double(nv);
    }
  }
  for (Index before = -1; before != nv;) {
    before = nv;
    Index kept = 0;
    for (Index i = 0; i < nv; ++i) {
      const Index left_after_removal = nv - (i - kept) - 1;
      if (v[i] > rho || left_after_removal == 0) {  // the maximum is never removed (a > 0)
        v[kept++] = v[i];
      } else {
        rho += (rho - v[i]) / double(left_after_removal);
      }
    }
    nv = kept;
  }
  // Recompute τ from the final support: the running updates above accumulate rounding.
  CompensatedSum s;
  for (Index i = 0; i < nv; ++i) s.add(v[i]);
  return {(s.value() - a) / double(nv), nv};
}

/// Michelot's step from below: S = {y > τ}, τ ← (Σ_S y − a)/|S|, repeated until S is stable.
/// From τ ≤ τ* it increases monotonically to τ* in finitely many steps.
template <Real T> ThresholdD michelot_from_below(const T* y, Index n, double a, double tau) {
  for (Index previous = -1;;) {
    CompensatedSum s;
    Index k = 0;
    for (Index i = 0; i < n; ++i) {
      if (double(y[i]) > tau) {
        s.add(double(y[i]));
        ++k;
      }
    }
    const double next = (s.value() - a) / double(k);
    if (k == previous || !(next > tau)) return {std::max(next, tau), k};
    previous = k;
    tau = next;
  }
}

template <Real T> ThresholdD threshold_bisection(const T* y, Index n, double a, T max_y) {
  // φ(τ) = Σ(y − τ)₊ − a is non-increasing; φ(lo) ≥ 0 ≥ φ(hi).
  double lo = double(max_y) - a, hi = double(max_y) - a / double(n);
  const int iterations = std::numeric_limits<T>::digits + 2;  // 55 (double), 26 (float)
  for (int it = 0; it < iterations && hi - lo > 0; ++it) {
    const double mid = lo + 0.5 * (hi - lo);
    double phi = -a;
    for (Index i = 0; i < n; ++i) phi += std::max(double(y[i]) - mid, 0.0);
    (std::signbit(phi) ? hi : lo) = mid;
  }
  return michelot_from_below(y, n, a, lo);  // exact finish on the support (spec §4.1)
}

template <Real T>
ThresholdD threshold(const T* y, Index n, double a, T max_y, ProjectionMethod method,
                     std::vector<double>& work) {
  switch (method) {
    case ProjectionMethod::Sort: return threshold_sort(y, n, a, work);
    case ProjectionMethod::Condat: return threshold_condat(y, n, a, work);
    case ProjectionMethod::Bisection: return threshold_bisection(y, n, a, max_y);
    case ProjectionMethod::Auto: break;
  }
  return runs_condat(method, n) ? threshold_condat(y, n, a, work) : threshold_sort(y, n, a, work);
}

#define PROBSPACE_INSTANTIATE(T)                                                                  \
  template ThresholdD threshold_sort<T>(const T*, Index, double, std::vector<double>&);           \
  template ThresholdD threshold_condat<T>(const T*, Index, double, std::vector<double>&);         \
  template ThresholdD threshold_bisection<T>(const T*, Index, double, T);                         \
  template ThresholdD threshold<T>(const T*, Index, double, T, ProjectionMethod, std::vector<double>&);
PROBSPACE_INSTANTIATE(float)
PROBSPACE_INSTANTIATE(double)
#undef PROBSPACE_INSTANTIATE

}  // namespace kernels

namespace detail {

template <Real T>
Threshold<T> simplex_threshold(const ConstVectorRef<T>& y, T radius, ProjectionMethod method) {
  const T max_y = probspace::detail::check_logits(y.data(), y.size(), "simplex_threshold", "y");
  probspace::detail::require_positive(radius, "simplex_threshold", "radius");
  const auto t = kernels::threshold(y.data(), y.size(), double(radius), max_y, method,
                                    kernels::thread_scratch());
  return {T(t.tau), t.support_size};
}

template Threshold<float> simplex_threshold<float>(const ConstVectorRef<float>&, float, ProjectionMethod);
template Threshold<double> simplex_threshold<double>(const ConstVectorRef<double>&, double, ProjectionMethod);

}  // namespace detail
}  // namespace probspace::simplex
