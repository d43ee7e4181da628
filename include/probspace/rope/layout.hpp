#pragma once
// Conversion between the interleaved and half layouts (spec §2): half[c] = interleaved[π(c)],
// π = [0, 2, …, d−2, 1, 3, …, d−1] over the rotary channels of each head; the rest are untouched.
// Applying it to q and k (or to the rows of W_q and W_k, per head) gives identical scores.
#include <probspace/core/types.hpp>
#include <probspace/rope/rotation.hpp>

#include <vector>

namespace probspace::rope {

/// π over head_dim channels: entry c is the interleaved channel that becomes half channel c; channels
/// ≥ rotary_dim map to themselves. rotary_dim even, 2 ≤ rotary_dim ≤ head_dim, head_dim even.
std::vector<Index> half_from_interleaved(Index head_dim, Index rotary_dim);

namespace detail {
template <Real T>
RowMatrixX<T> convert_columns(const ConstRowMatrixRef<T>& x, Layout from, Layout to, Index head_dim, Index rotary_dim);
}

/// Vectors as rows ([L, heads·head_dim], e.g. q or k): the columns of every head permuted from one
/// layout to the other (identity when from == to).
template <class D>
RowMatrixX<scalar_of<D>> convert_layout(const Eigen::MatrixBase<D>& x, Layout from, Layout to, Index head_dim,
                                        Index rotary_dim) {
  return detail::convert_columns<scalar_of<D>>(x, from, to, head_dim, rotary_dim);
}

/// Projection weights with one output channel per row ([heads·head_dim, d_model], the nn.Linear
/// convention): the rows of every head permuted.
template <class D>
RowMatrixX<scalar_of<D>> convert_weight_rows(const Eigen::MatrixBase<D>& w, Layout from, Layout to, Index head_dim,
                                             Index rotary_dim) {
  const RowMatrixX<scalar_of<D>> wt = w.transpose();
  return detail::convert_columns<scalar_of<D>>(wt, from, to, head_dim, rotary_dim).transpose();
}

}  // namespace probspace::rope
