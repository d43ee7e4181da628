// Reference attention: direct oracle and two-pass realisation, prefill and decode (spec §6).
#include <probspace/core/error.hpp>
#include <probspace/rope/attention.hpp>
#include <probspace/rope/log_n.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

namespace probspace::rope {

using probspace::detail::require;

std::string_view to_string(Realisation realisation) {
  return realisation == Realisation::Direct ? "direct" : "two-pass";
}
std::string_view to_string(CacheKind kind) { return kind == CacheKind::RawKeys ? "raw keys" : "rotated keys"; }

void AttentionSpec::validate(std::string_view fn) const {
  scheme.validate(fn);
  rope.validate(fn);
  require(log_n_train_length == 0 || log_n_train_length >= 2, fn, "spec.log_n_train_length",
          "must be 0 (off) or >= 2, got ", log_n_train_length);
  require(std::isfinite(scale) && scale >= 0, fn, "spec.scale", "must be finite and >= 0 (0: 1/sqrt(head_dim)), got ",
          scale);
}

double AttentionSpec::logit_scale() const {
  const double base = scale > 0 ? scale : 1 / std::sqrt(static_cast<double>(rope.head_size()));
  return base * rope.attention_factor * rope.attention_factor;
}

namespace {

template <Real T> void check_rows(const ConstRowMatrixRef<T>& x, Index rows, Index cols, std::string_view fn,
                                  std::string_view arg) {
  require(x.rows() == rows && x.cols() == cols, fn, arg, "has shape [", x.rows(), ", ", x.cols(), "], expected [",
          rows, ", ", cols, "]");
  require(x.allFinite(), fn, arg, "must be finite");
}

/// The rotation used inside attention: attention_factor moves to the logits (see the header).
RotaryEmbedding unit_rope(const AttentionSpec& spec) {
  RotaryEmbedding r = spec.rope;
  r.attention_factor = 1;
  return r;
}

/// log-n† factor of the query at position i (1 when off).
double query_factor(const AttentionSpec& spec, Index i) {
  return spec.log_n_train_length > 0 ? log_n_dagger(i, spec.log_n_train_length) : 1.0;
}

/// Copy of x with every row rotated to position(row).
template <Real T, class Position>
RowMatrixX<T> rotated_rows(const RowMatrixX<T>& x, const RotaryEmbedding& rope, Position&& position) {
  RowMatrixX<T> y = x;
  Eigen::VectorXd positions(x.rows());
  for (Index r = 0; r < x.rows(); ++r) positions[r] = position(r);
  rotate(y, positions, rope);
  return y;
}

/// Oracle row: out[j] = scale·qᵀ R_{−P(i−j)} k_j for the first n keys (spec §6.1, §6.3a).
template <Real T>
void direct_row(const VectorX<T>& q, const RowMatrixX<T>& keys, Index n, Index i, const AttentionSpec& spec,
                T* out) {
  const RowMatrixX<T> rotated = rotated_rows<T>(keys.topRows(n), unit_rope(spec), [&](Index j) {
    return -spec.scheme.relative_position(static_cast<double>(i - j));
  });
  const T scale = static_cast<T>(spec.logit_scale());
  for (Index j = 0; j < n; ++j) out[j] = scale * rotated.row(j).dot(q.transpose());
}

/// Two-pass row: pass 1 for i − j < w, pass 2 otherwise (spec §6.2, §6.3b).
template <Real T>
void two_pass_row(const VectorX<T>& q1, const VectorX<T>& q2, const RowMatrixX<T>& k1, const RowMatrixX<T>& k2,
                  Index n, Index i, const AttentionSpec& spec, T* out) {
  const T scale = static_cast<T>(spec.logit_scale());
  for (Index j = 0; j < n; ++j)
    out[j] = scale * (spec.scheme.uses_pass1(i - j) ? k1.row(j).dot(q1.transpose()) : k2.row(j).dot(q2.transpose()));
}

/// out = softmax(s[0..n))·V[0..n), accumulated in double.
template <Real T> void softmax_times_values(const T* s, Index n, const RowMatrixX<T>& values, T* out) {
  double max = -std::numeric_limits<double>::infinity();
  for (Index j = 0; j < n; ++j) max = std::max(max, static_cast<double>(s[j]));
  Eigen::VectorXd acc = Eigen::VectorXd::Zero(values.cols());
  double total = 0;
  for (Index j = 0; j < n; ++j) {
    const double p = std::exp(static_cast<double>(s[j]) - max);
    total += p;
    acc += p * values.row(j).transpose().template cast<double>();
  }
  for (Index c = 0; c < values.cols(); ++c) out[c] = static_cast<T>(acc[c] / total);
}

/// Queries with log-n† applied, one per row position.
template <Real T> RowMatrixX<T> scaled_queries(const ConstRowMatrixRef<T>& q, const AttentionSpec& spec) {
  RowMatrixX<T> qs = q;
  for (Index i = 0; i < q.rows(); ++i) qs.row(i) *= static_cast<T>(query_factor(spec, i));
  return qs;
}

}  // namespace

namespace detail {

template <Real T>
RowMatrixX<T> attention_scores(const ConstRowMatrixRef<T>& q, const ConstRowMatrixRef<T>& k, const AttentionSpec& spec,
                               Realisation realisation) {
  constexpr std::string_view fn = "attention_scores";
  spec.validate(fn);
  const Index d = spec.rope.head_size();
  require(q.rows() >= 1, fn, "q", "must have at least one row");
  check_rows(q, q.rows(), d, fn, "q");
  check_rows(k, q.rows(), d, fn, "k");
  const Index length = q.rows();
  RowMatrixX<T> s = RowMatrixX<T>::Constant(length, length, -std::numeric_limits<T>::infinity());
  const RowMatrixX<T> qs = scaled_queries(q, spec);
  const RowMatrixX<T> keys = k;
  if (realisation == Realisation::Direct) {
    for (Index i = 0; i < length; ++i) direct_row<T>(qs.row(i).transpose(), keys, i + 1, i, spec, &s(i, 0));
    return s;
  }
  const RotaryEmbedding rope = unit_rope(spec);
  const PositionScheme& scheme = spec.scheme;
  const auto pass1 = [&](Index r) { return scheme.pass1_position(r); };
  const RowMatrixX<T> q1 = rotated_rows(qs, rope, pass1), k1 = rotated_rows(keys, rope, pass1);
  const RowMatrixX<T> q2 = scheme.two_pass()
                               ? rotated_rows(qs, rope, [&](Index r) { return scheme.pass2_query_position(r); })
                               : q1;
  const RowMatrixX<T> k2 = scheme.two_pass()
                               ? rotated_rows(keys, rope, [&](Index r) { return scheme.pass2_key_position(r); })
                               : k1;
  for (Index i = 0; i < length; ++i)
    two_pass_row<T>(q1.row(i).transpose(), q2.row(i).transpose(), k1, k2, i + 1, i, spec, &s(i, 0));
  return s;
}

template <Real T>
RowMatrixX<T> attention(const ConstRowMatrixRef<T>& q, const ConstRowMatrixRef<T>& k, const ConstRowMatrixRef<T>& v,
                        const AttentionSpec& spec, Realisation realisation) {
  require(v.rows() == q.rows() && v.cols() >= 1 && v.allFinite(), "attention", "v", "must be finite with ", q.rows(),
          " rows and >= 1 column, has shape [", v.rows(), ", ", v.cols(), "]");
  const RowMatrixX<T> s = attention_scores(q, k, spec, realisation);
  const RowMatrixX<T> values = v;
  RowMatrixX<T> out(q.rows(), v.cols());
  for (Index i = 0; i < q.rows(); ++i) softmax_times_values(&s(i, 0), i + 1, values, &out(i, 0));
  return out;
}

template RowMatrixX<float> attention_scores<float>(const ConstRowMatrixRef<float>&, const ConstRowMatrixRef<float>&,
                                                   const AttentionSpec&, Realisation);
template RowMatrixX<double> attention_scores<double>(const ConstRowMatrixRef<double>&,
                                                     const ConstRowMatrixRef<double>&, const AttentionSpec&,
                                                     Realisation);
template RowMatrixX<float> attention<float>(const ConstRowMatrixRef<float>&, const ConstRowMatrixRef<float>&,
                                            const ConstRowMatrixRef<float>&, const AttentionSpec&, Realisation);
template RowMatrixX<double> attention<double>(const ConstRowMatrixRef<double>&, const ConstRowMatrixRef<double>&,
                                              const ConstRowMatrixRef<double>&, const AttentionSpec&, Realisation);

}  // namespace detail

template <Real T>
KVCache<T>::KVCache(AttentionSpec spec, CacheKind kind, Index value_dim) : spec_(std::move(spec)), kind_(kind) {
  spec_.validate("KVCache");
  require(kind == CacheKind::RawKeys || kind == CacheKind::RotatedKeys, "KVCache", "kind", "is not a CacheKind: ",
          static_cast<int>(kind));
  require(value_dim >= 1, "KVCache", "value_dim", "must be >= 1, got ", value_dim);
  const Index d = spec_.rope.head_size();
  keys_.resize(0, d);
  keys2_.resize(0, kind_ == CacheKind::RotatedKeys && spec_.scheme.two_pass() ? d : 0);
  values_.resize(0, value_dim);
}

template <Real T> void KVCache<T>::append(const ConstVectorRef<T>& key, const ConstVectorRef<T>& value) {
  const Index d = spec_.rope.head_size();
  require(key.size() == d && key.allFinite(), "KVCache::append", "key", "must hold ", d, " finite entries, has ",
          key.size());
  require(value.size() == values_.cols() && value.allFinite(), "KVCache::append", "value", "must hold ",
          values_.cols(), " finite entries, has ", value.size());
  if (size_ == keys_.rows()) {  // grow geometrically
    const Index capacity = std::max<Index>(16, 2 * size_);
    keys_.conservativeResize(capacity, Eigen::NoChange);
    keys2_.conservativeResize(keys2_.cols() > 0 ? capacity : 0, Eigen::NoChange);
    values_.conservativeResize(capacity, Eigen::NoChange);
  }
  const RotaryEmbedding rope = unit_rope(spec_);
  const PositionScheme& scheme = spec_.scheme;
  keys_.row(size_) = kind_ == CacheKind::RawKeys ? VectorX<T>(key) : rotated(key, scheme.pass1_position(size_), rope);
  if (keys2_.cols() > 0) keys2_.row(size_) = rotated(key, scheme.pass2_key_position(size_), rope);
  values_.row(size_) = value;
  ++size_;
}

template <Real T> VectorX<T> KVCache<T>::scores(const ConstVectorRef<T>& query) const {
  require(size_ >= 1, "KVCache::scores", "cache", "is empty: append the current token's key first");
  const Index d = spec_.rope.head_size(), i = size_ - 1;
  require(query.size() == d && query.allFinite(), "KVCache::scores", "query", "must hold ", d,
          " finite entries, has ", query.size());
  const VectorX<T> q = query * static_cast<T>(query_factor(spec_, i));
  VectorX<T> s(size_);
  if (kind_ == CacheKind::RawKeys) {
    direct_row<T>(q, keys_, size_, i, spec_, s.data());
    return s;
  }
  const RotaryEmbedding rope = unit_rope(spec_);
  const PositionScheme& scheme = spec_.scheme;
  const VectorX<T> q1 = rotated(q, scheme.pass1_position(i), rope);
  if (!scheme.two_pass()) {
    two_pass_row<T>(q1, q1, keys_, keys_, size_, i, spec_, s.data());
  } else {
    two_pass_row<T>(q1, rotated(q, scheme.pass2_query_position(i), rope), keys_, keys2_, size_, i, spec_, s.data());
  }
  return s;
}

template <Real T> VectorX<T> KVCache<T>::attend(const ConstVectorRef<T>& query) const {
  const VectorX<T> s = scores(query);
  VectorX<T> out(values_.cols());
  softmax_times_values(s.data(), size_, values_, out.data());
  return out;
}

template class KVCache<float>;
template class KVCache<double>;

}  // namespace probspace::rope
