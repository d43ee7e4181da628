// Fenchel–Young losses (spec §6): L = Ω*(z) + Ω(y) − z·y, ∇L = ŷ − y.
#include "row_kernels.hpp"
#include "threshold_kernels.hpp"

#include <probspace/core/checks.hpp>
#include <probspace/simplex/losses.hpp>

#include <cmath>
#include <limits>

namespace probspace::simplex::detail {
namespace {

using probspace::detail::require;

/// Ω(p) for p ∈ Δ (in double).
template <Real T> double omega_of(Regularizer omega, double alpha, const T* p, Index n) {
  double s = 0;
  for (Index i = 0; i < n; ++i) {
    const double pi = double(p[i]);
    if (pi <= 0) continue;
    switch (omega) {
      case Regularizer::Shannon: s += pi * std::log(pi); break;
      case Regularizer::Euclidean: s += 0.5 * pi * pi; break;
      case Regularizer::Tsallis: s -= (pi - std::pow(pi, alpha)) / (alpha * (alpha - 1.0)); break;
    }
  }
  return s;
}

/// Σ_i a_i z_i over a_i ≠ 0 (a masked z_i meets only a_i = 0, else the sum is −inf).
template <Real T> double dot_skip_zero(const T* a, const T* z, Index n) {
  double s = 0;
  for (Index i = 0; i < n; ++i)
    if (a[i] != T(0)) s += double(a[i]) * double(z[i]);
  return s;
}

}  // namespace

template <Real T> T tsallis_entropy(const ConstVectorRef<T>& p, T alpha) {
  probspace::detail::check_distribution(p.data(), p.size(), "tsallis_entropy", "p");
  check_entmax_alpha(double(alpha), EntmaxMethod::Auto, "tsallis_entropy");
  return T(-omega_of(Regularizer::Tsallis, double(alpha), p.data(), p.size()));
}

template <Real T>
T fenchel_young_loss(Regularizer omega, T alpha, const ConstVectorRef<T>& z, const ConstVectorRef<T>* y,
                     Index k, VectorRef<T>* grad) {
  constexpr const char* fn = "fenchel_young_loss";
  const Index n = z.size();
  const T max_z = probspace::detail::check_logits(z.data(), n, fn, "z");
  if (omega == Regularizer::Tsallis) check_entmax_alpha(double(alpha), EntmaxMethod::Auto, fn);
  if (y) {
    probspace::detail::check_same_size(n, y->size(), fn, "y");
    probspace::detail::check_distribution(y->data(), n, fn, "y");
  } else {
    require(k >= 0 && k < n, fn, "k", "must be in [0, ", n, "), got ", k);
  }
  if (grad) probspace::detail::check_same_size(n, grad->size(), fn, "grad");

  // ŷ = ∇Ω*(z), written into grad (or scratch), then Ω*(z) = z·ŷ − Ω(ŷ) (= LSE(z) for Shannon).
  thread_local VectorX<T> scratch;
  if (!grad) scratch.resize(n);
  T* yhat = grad ? grad->data() : scratch.data();
  double conjugate = 0;
  switch (omega) {
    case Regularizer::Shannon:
      conjugate = probspace::kernels::softmax_row(z.data(), n, yhat, T(1), max_z);
      break;
    case Regularizer::Euclidean:
      kernels::project_simplex_row(z.data(), n, yhat, 1.0, max_z, ProjectionMethod::Auto, kernels::thread_scratch());
      break;
    case Regularizer::Tsallis:
      kernels::entmax_row(z.data(), n, yhat, double(alpha), EntmaxMethod::Auto, max_z, kernels::thread_scratch());
      break;
  }
  if (omega != Regularizer::Shannon)
    conjugate = dot_skip_zero(yhat, z.data(), n) - omega_of(omega, double(alpha), yhat, n);

  double loss = conjugate;
  if (y) {
    loss += omega_of(omega, double(alpha), y->data(), n) - dot_skip_zero(y->data(), z.data(), n);
    for (Index i = 0; i < n; ++i) yhat[i] -= (*y)[i];
  } else {
    // Ω(e_k) is ½ for ½‖p‖² and 0 for Σ p log p and −H_α.
    loss += (omega == Regularizer::Euclidean ? 0.5 : 0.0) - double(z[k]);
    yhat[k] -= T(1);
  }
  return T(std::max(loss, 0.0));  // L ≥ 0; clip rounding below zero
}

#define PROBSPACE_INSTANTIATE(T)                                                                        \
  template T tsallis_entropy<T>(const ConstVectorRef<T>&, T);                                           \
  template T fenchel_young_loss<T>(Regularizer, T, const ConstVectorRef<T>&, const ConstVectorRef<T>*, \
                                   Index, VectorRef<T>*);
PROBSPACE_INSTANTIATE(float)
PROBSPACE_INSTANTIATE(double)
#undef PROBSPACE_INSTANTIATE

}  // namespace probspace::simplex::detail
