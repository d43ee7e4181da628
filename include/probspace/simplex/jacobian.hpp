#pragma once
// Jacobian-vector products of softmax, sparsemax and α-entmax (spec §5). Each Jacobian is
// symmetric with J·1 = 0, so the VJP equals the JVP; both names are provided for readability.
// They take the forward output p (not z): the backward pass is O(n) given p.
#include <probspace/core/types.hpp>

namespace probspace::simplex {

namespace detail {
template <Real T>
void softmax_jvp(const ConstVectorRef<T>& p, const ConstVectorRef<T>& v, VectorRef<T> out, T temperature);
template <Real T> void sparsemax_jvp(const ConstVectorRef<T>& p, const ConstVectorRef<T>& v, VectorRef<T> out);
template <Real T>
void entmax_jvp(const ConstVectorRef<T>& p, const ConstVectorRef<T>& v, T alpha, VectorRef<T> out);
}  // namespace detail

/// out = J v with J = (1/T)(diag p − p pᵀ), p = softmax(z/T): out = (1/T) p ⊙ (v − p·v).
template <class D1, class D2>
void softmax_jvp(const Eigen::MatrixBase<D1>& p, const Eigen::MatrixBase<D2>& v, VectorRef<scalar_of<D1>> out,
                 scalar_of<D1> temperature = 1) {
  detail::softmax_jvp<scalar_of<D1>>(p, v, out, temperature);
}
template <class D1, class D2>
void softmax_vjp(const Eigen::MatrixBase<D1>& p, const Eigen::MatrixBase<D2>& v, VectorRef<scalar_of<D1>> out,
                 scalar_of<D1> temperature = 1) {
  detail::softmax_jvp<scalar_of<D1>>(p, v, out, temperature);
}

/// out = J v with J = diag(s) − s sᵀ/|S|, s = 1[p > 0]: out = s ⊙ (v − (s·v)/|S|).
template <class D1, class D2>
void sparsemax_jvp(const Eigen::MatrixBase<D1>& p, const Eigen::MatrixBase<D2>& v, VectorRef<scalar_of<D1>> out) {
  detail::sparsemax_jvp<scalar_of<D1>>(p, v, out);
}
template <class D1, class D2>
void sparsemax_vjp(const Eigen::MatrixBase<D1>& p, const Eigen::MatrixBase<D2>& v, VectorRef<scalar_of<D1>> out) {
  detail::sparsemax_jvp<scalar_of<D1>>(p, v, out);
}

/// out = J v with J = diag(h) − h hᵀ/Σh, h_i = p_i^{2−α} on the support (Jacobian w.r.t. z).
template <class D1, class D2>
void entmax_jvp(const Eigen::MatrixBase<D1>& p, const Eigen::MatrixBase<D2>& v, scalar_of<D1> alpha,
                VectorRef<scalar_of<D1>> out) {
  detail::entmax_jvp<scalar_of<D1>>(p, v, alpha, out);
}
template <class D1, class D2>
void entmax_vjp(const Eigen::MatrixBase<D1>& p, const Eigen::MatrixBase<D2>& v, scalar_of<D1> alpha,
                VectorRef<scalar_of<D1>> out) {
  detail::entmax_jvp<scalar_of<D1>>(p, v, alpha, out);
}

}  // namespace probspace::simplex
