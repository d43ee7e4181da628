#pragma once
// Row-wise batched maps over row-major [rows, n] matrices (LLM logits layout), threaded over rows.
// Each row is validated as in the single-vector function; the first bad row throws InvalidArgument
// naming the row. Outputs may alias inputs.
#include <probspace/simplex/entmax.hpp>

namespace probspace::simplex {

namespace detail {
template <Real T> void softmax_rows(const ConstRowMatrixRef<T>& z, RowMatrixRef<T> p, T temperature);
template <Real T> void log_softmax_rows(const ConstRowMatrixRef<T>& z, RowMatrixRef<T> out);
template <Real T> void sparsemax_rows(const ConstRowMatrixRef<T>& z, RowMatrixRef<T> p);
template <Real T> void entmax_rows(const ConstRowMatrixRef<T>& z, RowMatrixRef<T> p, T alpha, EntmaxMethod method);
template <Real T>
void softmax_vjp_rows(const ConstRowMatrixRef<T>& p, const ConstRowMatrixRef<T>& v, RowMatrixRef<T> out, T temperature);
template <Real T> void sparsemax_vjp_rows(const ConstRowMatrixRef<T>& p, const ConstRowMatrixRef<T>& v, RowMatrixRef<T> out);
template <Real T>
void entmax_vjp_rows(const ConstRowMatrixRef<T>& p, const ConstRowMatrixRef<T>& v, T alpha, RowMatrixRef<T> out);
}  // namespace detail

/// Each row of p = softmax(row of z / temperature).
template <class D>
void softmax_rows(const Eigen::MatrixBase<D>& z, RowMatrixRef<scalar_of<D>> p, scalar_of<D> temperature = 1) {
  detail::softmax_rows<scalar_of<D>>(z, p, temperature);
}
/// Each row of out = log_softmax(row of z).
template <class D> void log_softmax_rows(const Eigen::MatrixBase<D>& z, RowMatrixRef<scalar_of<D>> out) {
  detail::log_softmax_rows<scalar_of<D>>(z, out);
}
/// Each row of p = sparsemax(row of z).
template <class D> void sparsemax_rows(const Eigen::MatrixBase<D>& z, RowMatrixRef<scalar_of<D>> p) {
  detail::sparsemax_rows<scalar_of<D>>(z, p);
}
/// Each row of p = α-entmax(row of z).
template <class D>
void entmax_rows(const Eigen::MatrixBase<D>& z, RowMatrixRef<scalar_of<D>> p, scalar_of<D> alpha,
                 EntmaxMethod method = EntmaxMethod::Auto) {
  detail::entmax_rows<scalar_of<D>>(z, p, alpha, method);
}
/// Row-wise softmax VJP (= JVP) given the forward output p.
template <class D1, class D2>
void softmax_vjp_rows(const Eigen::MatrixBase<D1>& p, const Eigen::MatrixBase<D2>& v, RowMatrixRef<scalar_of<D1>> out,
                      scalar_of<D1> temperature = 1) {
  detail::softmax_vjp_rows<scalar_of<D1>>(p, v, out, temperature);
}
/// Row-wise sparsemax VJP (= JVP) given the forward output p.
template <class D1, class D2>
void sparsemax_vjp_rows(const Eigen::MatrixBase<D1>& p, const Eigen::MatrixBase<D2>& v, RowMatrixRef<scalar_of<D1>> out) {
  detail::sparsemax_vjp_rows<scalar_of<D1>>(p, v, out);
}
/// Row-wise α-entmax VJP (= JVP) given the forward output p.
template <class D1, class D2>
void entmax_vjp_rows(const Eigen::MatrixBase<D1>& p, const Eigen::MatrixBase<D2>& v, scalar_of<D1> alpha,
                     RowMatrixRef<scalar_of<D1>> out) {
  detail::entmax_vjp_rows<scalar_of<D1>>(p, v, alpha, out);
}

}  // namespace probspace::simplex
