// The four threshold algorithms of spec §4.1 for Π_{Δ_a}: sort, Condat, bisection (+ Auto).
#include "threshold_kernels.hpp"

#include "../core/simd.hpp"

#include <probspace/core/checks.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
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

namespace {
/// Σ, count, min and max of the y_i > τ in one vectorised pass; the sum with per-lane TwoSum
/// (Knuth) compensation, as accurate as CompensatedSum's whatever the order.
struct SumAbove {
  double sum = 0, min = std::numeric_limits<double>::infinity(), max = -std::numeric_limits<double>::infinity();
  Index count = 0;
};
template <Real T> SumAbove sum_above(const T* y, Index n, double tau) {
  using V = simd::Simd<double>::V;
  using M = simd::Simd<double>::M;
  constexpr Index w = simd::kWidth<double>;
  constexpr double inf = std::numeric_limits<double>::infinity();
  const V t = V{} + tau, zero = {}, pinf = V{} + inf, minf = V{} - inf;
  V s = {}, c = {}, lo = pinf, hi = minf;
  M k = {};
  Index i = 0;
  for (; i + w <= n; i += w) {
    const V x = simd::load_double(y + i);
    const M above = x > t;
    const V v = above ? x : zero;
    const V sum = s + v, b = sum - s;
    c += (s - (sum - b)) + (v - b);
    s = sum;
    lo = above && x < lo ? x : lo;
    hi = above && x > hi ? x : hi;
    k -= above;
  }
  CompensatedSum total;
  SumAbove r;
  for (int j = 0; j < int(w); ++j) {
    total.add(s[j]);
    total.add(c[j]);
    r.min = std::min(r.min, lo[j]);
    r.max = std::max(r.max, hi[j]);
    r.count += Index(k[j]);
  }
  for (; i < n; ++i) {
    const double x = double(y[i]);
    if (x > tau) {
      total.add(x);
      r.min = std::min(r.min, x);
      r.max = std::max(r.max, x);
      ++r.count;
    }
  }
  r.sum = total.value();
  return r;
}

/// Michelot's step from below: S = {y > τ}, τ ← (Σ_S y − a)/|S|, repeated until S is stable.
/// From τ ≤ τ* it increases monotonically to τ* in finitely many steps. Also returns a bound on
/// the rounding error of τ.
template <Real T> std::pair<ThresholdD, double> michelot(const T* y, Index n, double a, double tau) {
  for (Index previous = -1;;) {
    const SumAbove s = sum_above(y, n, tau);
    const double next = (s.sum - a) / double(s.count);
    // Stable when no entry of S falls to or below the new τ (then the next S is this one).
    if (s.count == previous || !(next > tau) || s.min > next) {
      // |Σ̂ − Σ| ≲ 2u|Σ|, |Σ|/|S| ≤ max|y| and |τ| ≤ max|y| + a: a few ulps of max|y| + a.
      const double max_abs = std::max(std::abs(s.min), std::abs(s.max));
      const double error = 8 * std::numeric_limits<double>::epsilon() * (max_abs + a);
      return {{std::max(next, tau), s.count}, error};
    }
    previous = s.count;
    tau = next;
  }
}
}  // namespace

template <Real T>
ThresholdD threshold_condat(const T* y, Index n, double a, std::vector<double>& work,
                            std::vector<std::uint64_t>* skipped) {
  // Spec §4.1's linear pass, in L1-sized pieces. Every subset C of the entries has its own
  // threshold τ_C ≤ τ* (φ_C ≤ φ), so an entry at or below a bound L ≤ τ_C is never in the
  // support. One read of y keeps the candidates above L in work, vectorised: most pieces hold none
  // and are skipped whole. A piece's max − a raises L; so does Michelot on the candidates, to their
  // τ (less its rounding error), whenever they double, dropping those now below: linear overall.
  // The input check (NaN, +inf, all −inf give support 0) rides along.
  constexpr double inf = std::numeric_limits<double>::infinity();
  constexpr Index kPiece = kCondatPiece, kMinCapacity = 256;
  using V = typename simd::Simd<T>::V;
  using M = typename simd::Simd<T>::M;
  constexpr Index w = simd::kWidth<T>;
  work.resize(std::size_t(n));
  double* c = work.data();
  Index k = 0, capacity = kMinCapacity;
  double bound = -inf;                              // L; −inf keeps the masked entries out
  T bound_t = -std::numeric_limits<T>::infinity();  // L rounded down to T, for the vector test
  const auto keep_above = [&](const auto* x, Index len) {
    for (Index j = 0; j < len; ++j) {
      c[k] = double(x[j]);
      k += Index(c[k] > bound);
    }
  };
  const auto raise_bound = [&](double lower) {
    if (!(lower > bound)) return false;
    bound = lower;
    const T r = T(bound);
    bound_t = double(r) > bound ? std::nextafter(r, -std::numeric_limits<T>::infinity()) : r;
    return true;
  };
  if (skipped) skipped->assign(std::size_t(n / kPiece / 64 + 1), 0);
  Index i = 0;
  for (; i + kPiece <= n; i += kPiece) {
    M flag = {};  // lanes with an entry above L, NaN or +inf
    for (Index j = i; j < i + kPiece; j += w) flag |= ~(simd::load(y + j) <= bound_t);
    if (!simd::any(flag)) {
      if (skipped) (*skipped)[std::size_t(i / kPiece / 64)] |= std::uint64_t(1) << (i / kPiece % 64);
      continue;
    }
    M bad = {}, below = {};  // the piece again, from L1
    V top = V{} - std::numeric_limits<T>::infinity();
    for (Index j = i; j < i + kPiece; j += w) {
      const V yv = simd::load(y + j);
      bad |= ~(yv < std::numeric_limits<T>::infinity());
      below |= yv <= bound_t;  // = double(y) ≤ L, as L_T is the largest T ≤ L
      top = yv > top ? yv : top;
    }
    if (simd::any(bad)) return {0.0, 0};
    double piece_max = -inf;
    for (Index j = 0; j < w; ++j) piece_max = std::max(piece_max, double(top[j]));
    // τ* ≥ max y − a: the top entry alone already has mass a above it (less rounding).
    if (raise_bound(piece_max - a - 4 * std::numeric_limits<double>::epsilon() * (std::abs(piece_max) + a)) ||
        simd::any(below)) {
      keep_above(y + i, kPiece);
    } else {
      for (Index j = 0; j < kPiece; j += simd::kWidth<double>) {
        const auto x = simd::load_double(y + i + j);
        std::memcpy(c + k + j, &x, sizeof x);
      }
      k += kPiece;
    }
    if (k < capacity) continue;
    const auto [t, error] = michelot(c, k, a, bound);
    if (raise_bound(t.tau - error)) {
      if (t.support_size < k) {  // else every candidate is above τ − error: none to drop
        const Index before = k;
        k = 0;
        keep_above(c, before);  // in place: the writes never pass the reads
      }
    }
    capacity = std::max(2 * k, kMinCapacity);
  }
  for (Index j = i; j < n; ++j)
    if (!(double(y[j]) < inf)) return {0.0, 0};
  keep_above(y + i, n - i);
  if (k == 0) return {0.0, 0};  // every entry −inf
  return michelot(c, k, a, bound).first;
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
  return michelot(y, n, a, lo).first;  // exact finish on the support (spec §4.1)
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
  template ThresholdD threshold_condat<T>(const T*, Index, double, std::vector<double>&,          \
                                          std::vector<std::uint64_t>*);                           \
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
