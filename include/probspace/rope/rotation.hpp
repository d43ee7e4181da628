#pragma once
// Rotation R_m = blockdiag(R(mθ_0), …) applied to rows of [L, heads·head_dim] by real positions, in
// either memory layout (spec §1–3). Angles mθ_i are formed and reduced in double; cos/sin tables are
// half-width ([length, rotary_dim/2]) and expanded per layout.
#include <probspace/core/error.hpp>
#include <probspace/core/types.hpp>
#include <probspace/rope/frequencies.hpp>

#include <string_view>

namespace probspace::rope {

/// Pair i is (2i, 2i+1) in Interleaved (GPT-J, RoFormer, Meta-LLaMA) and (i, i + rotary_dim/2) in
/// Half / rotate_half (GPT-NeoX, HF-LLaMA) (spec §2).
enum class Layout { Interleaved, Half };
std::string_view to_string(Layout layout);

/// What a rotation needs: frequencies (rotary_dim = 2·inv_freq.size()), layout and head geometry.
/// Channels rotary_dim..head_dim−1 of every head pass through unchanged (partial rotary, spec §1).
/// attention_factor multiplies cos and sin (spec §7: logits scale by its square).
struct RotaryEmbedding {
  Eigen::VectorXd inv_freq;
  Layout layout = Layout::Half;
  Index head_dim = 0;  ///< 0 means rotary_dim
  double attention_factor = 1;

  RotaryEmbedding() = default;
  RotaryEmbedding(Eigen::VectorXd inv_freq_, Layout layout_, Index head_dim_ = 0, double attention_factor_ = 1);
  /// From a scaling family's output.
  RotaryEmbedding(const Frequencies& f, Layout layout_, Index head_dim_ = 0);

  Index rotary_dim() const { return 2 * inv_freq.size(); }
  Index head_size() const { return head_dim == 0 ? rotary_dim() : head_dim; }
  /// Throws InvalidArgument (naming `fn`) unless inv_freq is non-empty and finite, head_dim is even and ≥
  /// rotary_dim, and attention_factor is finite and > 0.
  void validate(std::string_view fn) const;
};

/// cos/sin of p·position_scale·θ_i (times attention_factor) for table rows p = 0..length−1; angles in
/// double (accurate at long context for float tables too). A position_scale of 1/k gives the linearly
/// scaled table of the Leaky pass 2 (spec §6.2).
template <Real T> struct CosSinTable {
  RowMatrixX<T> cos, sin;  ///< [length, rotary_dim/2]
  double position_scale = 1;
  Index length() const { return cos.rows(); }
};

namespace detail {
template <Real T>
void rotate(RowMatrixRef<T> x, const ConstVectorRef<double>& positions, const RotaryEmbedding& rope);
template <Real T>
void rotate(RowMatrixRef<T> x, const CosSinTable<T>& table, Index first_row, const RotaryEmbedding& rope);
}  // namespace detail

template <Real T> CosSinTable<T> cos_sin_table(const RotaryEmbedding& rope, Index length, double position_scale = 1);

/// In place: row ℓ of x ([L, heads·head_dim]) ← R_{positions[ℓ]} row ℓ, every head alike. Positions are
/// any finite reals (negative rotates backwards). Non-finite data propagates; it is not checked.
template <class D>
void rotate(Eigen::MatrixBase<D>& x, const ConstVectorRef<double>& positions, const RotaryEmbedding& rope) {
  detail::rotate<scalar_of<D>>(x.derived(), positions, rope);
}
/// In place with a table: row ℓ uses table row first_row + ℓ (the integer position first_row + ℓ,
/// times the table's position_scale); rows outside the table are rejected.
template <class D>
void rotate(Eigen::MatrixBase<D>& x, const CosSinTable<scalar_of<D>>& table, Index first_row,
            const RotaryEmbedding& rope) {
  detail::rotate<scalar_of<D>>(x.derived(), table, first_row, rope);
}

/// R_position x for one vector (row or column) of heads·head_dim entries.
template <class D>
VectorX<scalar_of<D>> rotated(const Eigen::MatrixBase<D>& x, double position, const RotaryEmbedding& rope) {
  probspace::detail::require(x.rows() == 1 || x.cols() == 1, "rotated", "x", "must be a vector, has shape [",
                             x.rows(), ", ", x.cols(), "]");
  RowMatrixX<scalar_of<D>> row = x.reshaped(1, x.size());
  rotate(row, Eigen::VectorXd::Constant(1, position), rope);
  return row.transpose();
}

/// The dense [head_dim, head_dim] matrix R_position of one head (tests and derivations).
Eigen::MatrixXd rotation_matrix(double position, const RotaryEmbedding& rope);

}  // namespace probspace::rope
