// Rotation in both layouts by real positions and by cos/sin tables (spec §1–3).
#include <probspace/core/error.hpp>
#include <probspace/rope/rotation.hpp>

#include <cmath>

namespace probspace::rope {

namespace {

using probspace::detail::require;

/// Enough elements to be worth a parallel region.
constexpr Index kParallelElements = Index(1) << 16;

/// One row of heads·head_dim channels rotated pairwise by (c_i, s_i), i < h = rotary_dim/2 (spec §2 table).
template <Real T>
void rotate_row(T* __restrict x, const T* __restrict c, const T* __restrict s, Index h, Index heads, Index head_dim,
                Layout layout) {
  for (Index head = 0; head < heads; ++head) {
    T* __restrict xh = x + head * head_dim;
    if (layout == Layout::Half) {
      for (Index i = 0; i < h; ++i) {
        const T a = xh[i], b = xh[i + h];
        xh[i] = a * c[i] - b * s[i];
        xh[i + h] = a * s[i] + b * c[i];
      }
    } else {
      for (Index i = 0; i < h; ++i) {
        const T a = xh[2 * i], b = xh[2 * i + 1];
        xh[2 * i] = a * c[i] - b * s[i];
        xh[2 * i + 1] = a * s[i] + b * c[i];
      }
    }
  }
}

template <Real T> Index check_rows(const RowMatrixRef<T>& x, const RotaryEmbedding& rope, std::string_view fn) {
  rope.validate(fn);
  const Index head_dim = rope.head_size();
  require(x.cols() > 0 && x.cols() % head_dim == 0, fn, "x", "has ", x.cols(),
          " columns, expected a positive multiple of head_dim = ", head_dim);
  return x.cols() / head_dim;
}

}  // namespace

std::string_view to_string(Layout layout) { return layout == Layout::Half ? "half" : "interleaved"; }

RotaryEmbedding::RotaryEmbedding(Eigen::VectorXd inv_freq_, Layout layout_, Index head_dim_, double attention_factor_)
    : inv_freq(std::move(inv_freq_)), layout(layout_), head_dim(head_dim_), attention_factor(attention_factor_) {}

RotaryEmbedding::RotaryEmbedding(const Frequencies& f, Layout layout_, Index head_dim_)
    : RotaryEmbedding(f.inv_freq, layout_, head_dim_, f.attention_factor) {}

void RotaryEmbedding::validate(std::string_view fn) const {
  require(inv_freq.size() > 0 && inv_freq.allFinite() && (inv_freq.array() > 0).all(), fn, "rope.inv_freq",
          "must be non-empty, finite and > 0 (size ", inv_freq.size(), ")");
  require(head_dim == 0 || (head_dim % 2 == 0 && head_dim >= rotary_dim()), fn, "rope.head_dim",
          "must be even and >= rotary_dim = ", rotary_dim(), ", got ", head_dim);
  require(std::isfinite(attention_factor) && attention_factor > 0, fn, "rope.attention_factor",
          "must be finite and > 0, got ", attention_factor);
}

template <Real T> CosSinTable<T> cos_sin_table(const RotaryEmbedding& rope, Index length, double position_scale) {
  constexpr std::string_view fn = "cos_sin_table";
  rope.validate(fn);
  require(length >= 1, fn, "length", "must be >= 1, got ", length);
  require(std::isfinite(position_scale) && position_scale > 0, fn, "position_scale", "must be finite and > 0, got ",
          position_scale);
  const Index h = rope.inv_freq.size();
  CosSinTable<T> table{RowMatrixX<T>(length, h), RowMatrixX<T>(length, h), position_scale};
  for (Index p = 0; p < length; ++p) {
    const double position = static_cast<double>(p) * position_scale;
    for (Index i = 0; i < h; ++i) {
      const double angle = position * rope.inv_freq[i];  // reduced in double
      table.cos(p, i) = static_cast<T>(rope.attention_factor * std::cos(angle));
      table.sin(p, i) = static_cast<T>(rope.attention_factor * std::sin(angle));
    }
  }
  return table;
}

namespace detail {

template <Real T>
void rotate(RowMatrixRef<T> x, const ConstVectorRef<double>& positions, const RotaryEmbedding& rope) {
  constexpr std::string_view fn = "rotate";
  const Index heads = check_rows(x, rope, fn);
  require(positions.size() == x.rows(), fn, "positions", "has ", positions.size(), " entries, expected one per row (",
          x.rows(), ")");
  require(positions.allFinite(), fn, "positions", "must be finite");
  const Index h = rope.inv_freq.size(), head_dim = rope.head_size();
#pragma omp parallel if (x.size() >= kParallelElements)
  {
    VectorX<T> c(h), s(h);
#pragma omp for schedule(static)
    for (Index r = 0; r < x.rows(); ++r) {
      for (Index i = 0; i < h; ++i) {
        const double angle = positions[r] * rope.inv_freq[i];
        c[i] = static_cast<T>(rope.attention_factor * std::cos(angle));
        s[i] = static_cast<T>(rope.attention_factor * std::sin(angle));
      }
      rotate_row(&x(r, 0), c.data(), s.data(), h, heads, head_dim, rope.layout);
    }
  }
}

template <Real T>
void rotate(RowMatrixRef<T> x, const CosSinTable<T>& table, Index first_row, const RotaryEmbedding& rope) {
  constexpr std::string_view fn = "rotate";
  const Index heads = check_rows(x, rope, fn);
  const Index h = rope.inv_freq.size(), head_dim = rope.head_size();
  require(table.cos.cols() == h && table.sin.cols() == h && table.sin.rows() == table.cos.rows(), fn, "table",
          "has shape [", table.cos.rows(), ", ", table.cos.cols(), "], expected rotary_dim/2 = ", h, " columns");
  require(first_row >= 0 && first_row + x.rows() <= table.length(), fn, "first_row", "puts rows ", first_row, "..",
          first_row + x.rows() - 1, " outside the table of length ", table.length());
#pragma omp parallel for schedule(static) if (x.size() >= kParallelElements)
  for (Index r = 0; r < x.rows(); ++r)
    rotate_row(&x(r, 0), &table.cos(first_row + r, 0), &table.sin(first_row + r, 0), h, heads, head_dim, rope.layout);
}

template void rotate<float>(RowMatrixRef<float>, const ConstVectorRef<double>&, const RotaryEmbedding&);
template void rotate<double>(RowMatrixRef<double>, const ConstVectorRef<double>&, const RotaryEmbedding&);
template void rotate<float>(RowMatrixRef<float>, const CosSinTable<float>&, Index, const RotaryEmbedding&);
template void rotate<double>(RowMatrixRef<double>, const CosSinTable<double>&, Index, const RotaryEmbedding&);

}  // namespace detail

template CosSinTable<float> cos_sin_table<float>(const RotaryEmbedding&, Index, double);
template CosSinTable<double> cos_sin_table<double>(const RotaryEmbedding&, Index, double);

Eigen::MatrixXd rotation_matrix(double position, const RotaryEmbedding& rope) {
  rope.validate("rotation_matrix");
  const Index d = rope.head_size();
  RowMatrixX<double> rows = RowMatrixX<double>::Identity(d, d);  // row c = e_cᵀ
  detail::rotate<double>(rows, Eigen::VectorXd::Constant(d, position), rope);
  return rows.transpose();  // column c = R e_c
}

}  // namespace probspace::rope
