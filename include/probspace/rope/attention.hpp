#pragma once
// Reference causal attention under a relative-position scheme (spec §6), one head, rows = tokens:
// q, k [L, head_dim], v [L, value_dim]; query i and key j sit at positions i and j.
//  - Direct: score(i, j) = scale·q_iᵀ R_{−P(i−j)} k_j per pair (the oracle, spec §6.1).
//  - TwoPass: ordinary absolute rotations, merged elementwise (spec §6.2): pass 1 (R_i q_i)ᵀ(R_j k_j)
//    for i − j < w, pass 2 (R_{q2(i)} q_i)ᵀ(R_{k2(j)} k_j) otherwise.
// log-n† multiplies q_i before any rotation; rope.attention_factor a enters as a² on the logits (it
// multiplies cos and sin of both q and k). Softmax and the value sum accumulate in double.
#include <probspace/core/types.hpp>
#include <probspace/rope/rotation.hpp>
#include <probspace/rope/schemes.hpp>

namespace probspace::rope {

enum class Realisation { Direct, TwoPass };
std::string_view to_string(Realisation realisation);

struct AttentionSpec {
  PositionScheme scheme;
  RotaryEmbedding rope;          ///< single head: q and k have rope.head_size() columns
  Index log_n_train_length = 0;  ///< > 1: log-n† with this L_train; 0: off
  double scale = 0;              ///< logit scale; 0 means 1/√head_dim

  /// Throws InvalidArgument naming `fn` unless scheme, rope, log_n_train_length and scale are valid.
  void validate(std::string_view fn) const;
  double logit_scale() const;  ///< scale (or 1/√head_dim) times attention_factor²
};

namespace detail {
template <Real T>
RowMatrixX<T> attention_scores(const ConstRowMatrixRef<T>& q, const ConstRowMatrixRef<T>& k, const AttentionSpec& spec,
                               Realisation realisation);
template <Real T>
RowMatrixX<T> attention(const ConstRowMatrixRef<T>& q, const ConstRowMatrixRef<T>& k, const ConstRowMatrixRef<T>& v,
                        const AttentionSpec& spec, Realisation realisation);
}  // namespace detail

/// The scaled causal logits [L, L] (−inf above the diagonal).
template <class D1, class D2>
RowMatrixX<scalar_of<D1>> attention_scores(const Eigen::MatrixBase<D1>& q, const Eigen::MatrixBase<D2>& k,
                                           const AttentionSpec& spec, Realisation realisation) {
  return detail::attention_scores<scalar_of<D1>>(q, k, spec, realisation);
}

/// Causal prefill: softmax(scores)·V, [L, value_dim].
template <class D1, class D2, class D3>
RowMatrixX<scalar_of<D1>> attention(const Eigen::MatrixBase<D1>& q, const Eigen::MatrixBase<D2>& k,
                                    const Eigen::MatrixBase<D3>& v, const AttentionSpec& spec,
                                    Realisation realisation) {
  return detail::attention<scalar_of<D1>>(q, k, v, spec, realisation);
}

/// What a decode cache stores (spec §6.3).
enum class CacheKind {
  RawKeys,     ///< (a) pre-RoPE keys; each step rotates every cached key by −P(i − j), query unrotated
  RotatedKeys  ///< (b) R_{pass1(j)} k_j, plus R_{pass2(j)} k_j for two-pass schemes (raw k_j for ReRoPE)
};
std::string_view to_string(CacheKind kind);

/// A single-head KV cache; key j sits at position j (append order). Decoding attends from the
/// newest position size() − 1 to every cached key.
template <Real T> class KVCache {
public:
  KVCache(AttentionSpec spec, CacheKind kind, Index value_dim);

  /// Appends key and value of the next position (size()).
  void append(const ConstVectorRef<T>& key, const ConstVectorRef<T>& value);
  /// Scaled logits of `query` (at position size() − 1) against every cached key.
  VectorX<T> scores(const ConstVectorRef<T>& query) const;
  /// softmax(scores(query))·V.
  VectorX<T> attend(const ConstVectorRef<T>& query) const;

  Index size() const { return size_; }
  CacheKind kind() const { return kind_; }
  const AttentionSpec& spec() const { return spec_; }

private:
  AttentionSpec spec_;
  CacheKind kind_;
  Index size_ = 0;
  RowMatrixX<T> keys_, keys2_, values_;  ///< capacity rows; the first size_ are in use
};

}  // namespace probspace::rope
