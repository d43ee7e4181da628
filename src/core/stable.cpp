// Stable reductions (DESIGN.md "core"); every sum is accumulated in double.
#include "softmax_kernels.hpp"

#include <probspace/core/checks.hpp>
#include <probspace/core/stable.hpp>

#include <cmath>
#include <limits>

namespace probspace::detail {
namespace {

/// Σ exp(x_i − shift) in double; masked (−inf) entries contribute exp(−inf) = 0.
template <Real T> double sum_exp(const T* x, Index n, double shift) {
  double s = 0;
  for (Index i = 0; i < n; ++i) s += std::exp(double(x[i]) - shift);
  return s;
}

template <Real T> double lse(const T* x, Index n, const char* fn, const char* arg) {
  const double m = check_logits(x, n, fn, arg);
  return m + std::log(sum_exp(x, n, m));
}

}  // namespace

template <Real T> T logsumexp(const ConstVectorRef<T>& x) {
  return T(lse(x.data(), x.size(), "logsumexp", "x"));
}

template <Real T> void log_softmax(const ConstVectorRef<T>& x, VectorRef<T> out) {
  check_same_size(x.size(), out.size(), "log_softmax", "out");
  const T max_x = check_logits(x.data(), x.size(), "log_softmax", "x");
  kernels::log_softmax_row(x.data(), x.size(), out.data(), max_x);
}

template <Real T> T entropy(const ConstVectorRef<T>& p) {
  check_distribution(p.data(), p.size(), "entropy", "p");
  double h = 0;
  for (Index i = 0; i < p.size(); ++i)
    if (p[i] > T(0)) h -= double(p[i]) * std::log(double(p[i]));
  return T(h);
}

template <Real T> T entropy_of_logits(const ConstVectorRef<T>& z) {
  const double m = check_logits(z.data(), z.size(), "entropy_of_logits", "z");
  // H = LSE − E_p[z] = log S − Σ e_i (z_i − m) / S with e_i = exp(z_i − m).
  double s = 0, sz = 0;
  for (Index i = 0; i < z.size(); ++i) {
    if (z[i] == -std::numeric_limits<T>::infinity()) continue;
    const double d = double(z[i]) - m, e = std::exp(d);
    s += e;
    sz += e * d;
  }
  return T(std::log(s) - sz / s);
}

template <Real T> T kl_divergence(const ConstVectorRef<T>& p, const ConstVectorRef<T>& q) {
  check_distribution(p.data(), p.size(), "kl_divergence", "p");
  check_same_size(p.size(), q.size(), "kl_divergence", "q");
  check_distribution(q.data(), q.size(), "kl_divergence", "q");
  double kl = 0;
  for (Index i = 0; i < p.size(); ++i) {
    if (p[i] == T(0)) continue;
    if (q[i] == T(0)) return std::numeric_limits<T>::infinity();
    kl += double(p[i]) * (std::log(double(p[i])) - std::log(double(q[i])));
  }
  return T(kl > 0 ? kl : 0);  // KL ≥ 0; clip rounding below zero
}

template <Real T>
T kl_divergence_of_logits(const ConstVectorRef<T>& zp, const ConstVectorRef<T>& zq) {
  const char* fn = "kl_divergence_of_logits";
  check_same_size(zp.size(), zq.size(), fn, "zq");
  const double lp = lse(zp.data(), zp.size(), fn, "zp");
  const double lq = lse(zq.data(), zq.size(), fn, "zq");
  double kl = 0;
  for (Index i = 0; i < zp.size(); ++i) {
    if (zp[i] == -std::numeric_limits<T>::infinity()) continue;
    if (zq[i] == -std::numeric_limits<T>::infinity()) return std::numeric_limits<T>::infinity();
    const double log_p = double(zp[i]) - lp;
    kl += std::exp(log_p) * (log_p - (double(zq[i]) - lq));
  }
  return T(kl > 0 ? kl : 0);
}

template <Real T> T cross_entropy(const ConstVectorRef<T>& p, const ConstVectorRef<T>& z) {
  check_distribution(p.data(), p.size(), "cross_entropy", "p");
  check_same_size(p.size(), z.size(), "cross_entropy", "z");
  const double l = lse(z.data(), z.size(), "cross_entropy", "z");
  double ce = 0;
  for (Index i = 0; i < p.size(); ++i) {
    if (p[i] == T(0)) continue;
    if (z[i] == -std::numeric_limits<T>::infinity()) return std::numeric_limits<T>::infinity();
    ce -= double(p[i]) * (double(z[i]) - l);
  }
  return T(ce);
}

template <Real T> T cross_entropy(const ConstVectorRef<T>& z, Index target) {
  require(target >= 0 && target < z.size(), "cross_entropy", "target", "must be in [0, ", z.size(),
          "), got ", target);
  const double l = lse(z.data(), z.size(), "cross_entropy", "z");
  return T(l - double(z[target]));  // +inf when the target is masked
}

#define PROBSPACE_INSTANTIATE(T)                                                               \
  template T logsumexp<T>(const ConstVectorRef<T>&);                                           \
  template void log_softmax<T>(const ConstVectorRef<T>&, VectorRef<T>);                        \
  template T entropy<T>(const ConstVectorRef<T>&);                                             \
  template T entropy_of_logits<T>(const ConstVectorRef<T>&);                                   \
  template T kl_divergence<T>(const ConstVectorRef<T>&, const ConstVectorRef<T>&);             \
  template T kl_divergence_of_logits<T>(const ConstVectorRef<T>&, const ConstVectorRef<T>&);   \
  template T cross_entropy<T>(const ConstVectorRef<T>&, const ConstVectorRef<T>&);             \
  template T cross_entropy<T>(const ConstVectorRef<T>&, Index);
PROBSPACE_INSTANTIATE(float)
PROBSPACE_INSTANTIATE(double)

}  // namespace probspace::detail
