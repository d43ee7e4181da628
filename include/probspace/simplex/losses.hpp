#pragma once
// Fenchel–Young losses L_Ω(z; y) = Ω*(z) + Ω(y) − z·y ≥ 0 with ∇_z L = ŷ_Ω(z) − y (spec §6;
// Blondel, Martins & Niculae 2020). Targets are an index k (y = e_k) or a distribution y ∈ Δ.
#include <probspace/core/types.hpp>

namespace probspace::simplex {

/// The regulariser Ω that defines the loss and its prediction map ŷ_Ω.
enum class Regularizer {
  Shannon,    ///< Ω = Σ p log p; ŷ = softmax; L = LSE(z) − z·y − H(y) (logistic loss).
  Euclidean,  ///< Ω = ½‖p‖²; ŷ = sparsemax (sparsemax loss).
  Tsallis,    ///< Ω = −H_α, H_α = Σ(p − p^α)/(α(α−1)); ŷ = α-entmax (entmax loss).
};

/// Tsallis α-entropy H_α(p) = Σ_i (p_i − p_i^α)/(α(α−1)) of p ∈ Δ, α > 1.
template <class D> scalar_of<D> tsallis_entropy(const Eigen::MatrixBase<D>& p, scalar_of<D> alpha);

namespace detail {
template <Real T> T tsallis_entropy(const ConstVectorRef<T>& p, T alpha);
/// y_dense == nullptr means the index target k; grad may be null.
template <Real T>
T fenchel_young_loss(Regularizer omega, T alpha, const ConstVectorRef<T>& z, const ConstVectorRef<T>* y,
                     Index k, VectorRef<T>* grad);
}  // namespace detail

template <class D> scalar_of<D> tsallis_entropy(const Eigen::MatrixBase<D>& p, scalar_of<D> alpha) {
  return detail::tsallis_entropy<scalar_of<D>>(p, alpha);
}

/// L_Ω(z; e_k). `alpha` is used by Regularizer::Tsallis only.
template <class D>
scalar_of<D> fenchel_young_loss(Regularizer omega, const Eigen::MatrixBase<D>& z, Index k, scalar_of<D> alpha = 1.5) {
  return detail::fenchel_young_loss<scalar_of<D>>(omega, alpha, z, nullptr, k, nullptr);
}
/// L_Ω(z; e_k); writes ∇_z L = ŷ − e_k into grad.
template <class D>
scalar_of<D> fenchel_young_loss(Regularizer omega, const Eigen::MatrixBase<D>& z, Index k,
                                VectorRef<scalar_of<D>> grad, scalar_of<D> alpha = 1.5) {
  return detail::fenchel_young_loss<scalar_of<D>>(omega, alpha, z, nullptr, k, &grad);
}
/// L_Ω(z; y) for y ∈ Δ; writes ∇_z L = ŷ − y into grad.
template <class D1, class D2>
scalar_of<D1> fenchel_young_loss(Regularizer omega, const Eigen::MatrixBase<D1>& z, const Eigen::MatrixBase<D2>& y,
                                 VectorRef<scalar_of<D1>> grad, scalar_of<D1> alpha = 1.5) {
  const ConstVectorRef<scalar_of<D1>> yr(y);
  return detail::fenchel_young_loss<scalar_of<D1>>(omega, alpha, z, &yr, -1, &grad);
}

/// Logistic (softmax cross-entropy) loss LSE(z) − z_k.
template <class D> scalar_of<D> softmax_loss(const Eigen::MatrixBase<D>& z, Index k) {
  return fenchel_young_loss(Regularizer::Shannon, z, k);
}
/// Sparsemax loss −z_k + ½Σ_{j∈S}(z_j² − τ²) + ½; zero iff z_k − max_{j≠k} z_j ≥ 1.
template <class D> scalar_of<D> sparsemax_loss(const Eigen::MatrixBase<D>& z, Index k) {
  return fenchel_young_loss(Regularizer::Euclidean, z, k);
}
/// Entmax loss (ŷ − e_k)·z + H_α(ŷ); zero iff (α−1)(z_k − max_{j≠k} z_j) ≥ 1.
template <class D> scalar_of<D> entmax_loss(const Eigen::MatrixBase<D>& z, Index k, scalar_of<D> alpha) {
  return fenchel_young_loss(Regularizer::Tsallis, z, k, alpha);
}

}  // namespace probspace::simplex
