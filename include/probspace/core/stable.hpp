#pragma once
// Numerically stable reductions over logits and distributions (float and double, accumulated in
// double). Logits may hold −inf ("masked"); NaN, +inf and an all −inf vector are rejected.
#include <probspace/core/types.hpp>

namespace probspace {

namespace detail {
template <Real T> T logsumexp(const ConstVectorRef<T>& x);
template <Real T> void log_softmax(const ConstVectorRef<T>& x, VectorRef<T> out);
template <Real T> T entropy(const ConstVectorRef<T>& p);
template <Real T> T entropy_of_logits(const ConstVectorRef<T>& z);
template <Real T> T kl_divergence(const ConstVectorRef<T>& p, const ConstVectorRef<T>& q);
template <Real T> T kl_divergence_of_logits(const ConstVectorRef<T>& zp, const ConstVectorRef<T>& zq);
template <Real T> T cross_entropy(const ConstVectorRef<T>& p, const ConstVectorRef<T>& z);
template <Real T> T cross_entropy(const ConstVectorRef<T>& z, Index target);
}  // namespace detail

/// LSE(x) = log Σ exp(x_i), shifted by max x.
template <class D> scalar_of<D> logsumexp(const Eigen::MatrixBase<D>& x) {
  return detail::logsumexp<scalar_of<D>>(x);
}

/// out = x − LSE(x); masked entries stay −inf. `out` may alias `x`.
template <class D> void log_softmax(const Eigen::MatrixBase<D>& x, VectorRef<scalar_of<D>> out) {
  detail::log_softmax<scalar_of<D>>(x, out);
}
template <class D> VectorX<scalar_of<D>> log_softmax(const Eigen::MatrixBase<D>& x) {
  VectorX<scalar_of<D>> out(x.size());
  detail::log_softmax<scalar_of<D>>(x, out);
  return out;
}

/// Shannon entropy H(p) = −Σ p_i log p_i (0 log 0 = 0) of p ∈ Δ (|Σp − 1| ≤ √ε).
template <class D> scalar_of<D> entropy(const Eigen::MatrixBase<D>& p) {
  return detail::entropy<scalar_of<D>>(p);
}

/// H(softmax(z)) = LSE(z) − Σ softmax(z)_i z_i, without forming log 0.
template <class D> scalar_of<D> entropy_of_logits(const Eigen::MatrixBase<D>& z) {
  return detail::entropy_of_logits<scalar_of<D>>(z);
}

/// KL(p‖q) = Σ p_i log(p_i/q_i) for p, q ∈ Δ; +inf when some q_i = 0 < p_i.
template <class D1, class D2>
scalar_of<D1> kl_divergence(const Eigen::MatrixBase<D1>& p, const Eigen::MatrixBase<D2>& q) {
  return detail::kl_divergence<scalar_of<D1>>(p, q);
}

/// KL(softmax(zp) ‖ softmax(zq)); +inf when zq masks a token that zp does not.
template <class D1, class D2>
scalar_of<D1> kl_divergence_of_logits(const Eigen::MatrixBase<D1>& zp, const Eigen::MatrixBase<D2>& zq) {
  return detail::kl_divergence_of_logits<scalar_of<D1>>(zp, zq);
}

/// Cross-entropy −Σ p_i log softmax(z)_i of a target distribution p ∈ Δ against logits z.
template <class D1, class D2>
scalar_of<D1> cross_entropy(const Eigen::MatrixBase<D1>& p, const Eigen::MatrixBase<D2>& z) {
  return detail::cross_entropy<scalar_of<D1>>(p, z);
}

/// Cross-entropy of a target index: LSE(z) − z_target.
template <class D> scalar_of<D> cross_entropy(const Eigen::MatrixBase<D>& z, Index target) {
  return detail::cross_entropy<scalar_of<D>>(z, target);
}

}  // namespace probspace
