// Layout conversion (spec §2).
#include <probspace/core/error.hpp>
#include <probspace/rope/layout.hpp>

namespace probspace::rope {

std::vector<Index> half_from_interleaved(Index head_dim, Index rotary_dim) {
  constexpr std::string_view fn = "half_from_interleaved";
  probspace::detail::require(head_dim >= 2 && head_dim % 2 == 0, fn, "head_dim", "must be even and >= 2, got ",
                             head_dim);
  probspace::detail::require(rotary_dim >= 2 && rotary_dim % 2 == 0 && rotary_dim <= head_dim, fn, "rotary_dim",
                             "must be even, >= 2 and <= head_dim = ", head_dim, ", got ", rotary_dim);
  std::vector<Index> pi(static_cast<std::size_t>(head_dim));
  const Index h = rotary_dim / 2;
  for (Index c = 0; c < head_dim; ++c)
    pi[static_cast<std::size_t>(c)] = c >= rotary_dim ? c : c < h ? 2 * c : 2 * (c - h) + 1;
  return pi;
}

namespace detail {

template <Real T>
RowMatrixX<T> convert_columns(const ConstRowMatrixRef<T>& x, Layout from, Layout to, Index head_dim,
                              Index rotary_dim) {
  const std::vector<Index> pi = half_from_interleaved(head_dim, rotary_dim);
  probspace::detail::require(x.cols() > 0 && x.cols() % head_dim == 0, "convert_layout", "x", "has ", x.cols(),
                             " columns, expected a positive multiple of head_dim = ", head_dim);
  RowMatrixX<T> out(x.rows(), x.cols());
  if (from == to) return out = x;
  for (Index base = 0; base < x.cols(); base += head_dim)
    for (Index c = 0; c < head_dim; ++c) {
      const Index p = base + pi[static_cast<std::size_t>(c)];
      if (to == Layout::Half) {
        out.col(base + c) = x.col(p);  // half[c] = interleaved[π(c)]
      } else {
        out.col(p) = x.col(base + c);  // interleaved[π(c)] = half[c]
      }
    }
  return out;
}

template RowMatrixX<float> convert_columns<float>(const ConstRowMatrixRef<float>&, Layout, Layout, Index, Index);
template RowMatrixX<double> convert_columns<double>(const ConstRowMatrixRef<double>&, Layout, Layout, Index, Index);

}  // namespace detail
}  // namespace probspace::rope
