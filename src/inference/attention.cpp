// Fused position-aware causal attention on the CPU (issue 8; spec rope.md §6.2, §6.3(b), §8). The
// inputs are widened to float and rotated once per pass (angles reduced in double by rope::rotate);
// then every (head, query tile) sweeps its key tiles with an online softmax. A tile computes the
// pass-1 product, the pass-2 product, or both with a per-element select (docs/attention.md). On a
// CUDA context the same algorithm runs in src/inference/cuda/attention.cu; this file builds its host
// tables (positions and log-n† factors in double) and holds the device cache rows.
#include "../core/parallel.hpp"
#include "../embedding/serial_eigen.hpp"
#include "cuda/backend.hpp"
#include "view_checks.hpp"

#include <probspace/core/error.hpp>
#include <probspace/inference/attention.hpp>
#include <probspace/rope/log_n.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string>
#include <type_traits>

namespace probspace::inference {

using probspace::detail::require;

void AttentionConfig::validate(std::string_view fn) const {
  scheme.validate(fn);
  rope.validate(fn);
  require(q_heads >= 1, fn, "config.q_heads", "must be >= 1, got ", q_heads);
  require(kv_heads >= 1 && q_heads % kv_heads == 0, fn, "config.kv_heads", "must be >= 1 and divide q_heads = ",
          q_heads, ", got ", kv_heads);
  require(log_n_train_length == 0 || log_n_train_length >= 2, fn, "config.log_n_train_length",
          "must be 0 (off) or >= 2, got ", log_n_train_length);
  require(std::isfinite(scale) && scale >= 0, fn, "config.scale",
          "must be finite and >= 0 (0: 1/sqrt(head_dim)), got ", scale);
}

rope::AttentionSpec AttentionConfig::head_spec() const { return {scheme, rope, log_n_train_length, scale}; }

namespace {

using FloatRows = RowMatrixX<float>;
using Tile = Eigen::Map<const FloatRows, 0, Eigen::OuterStride<>>;

/// Queries and keys per tile: a [64, d] float tile is 32 KiB at d = 128.
constexpr Index kTile = 64;

// --- The CUDA backend's host side: checks and host tables (docs/attention.md, "CUDA").

/// The CUDA kernels' restriction: head_dim 64 or 128 (a template parameter), value dim = head_dim.
void require_cuda_dims(const AttentionConfig& config, Index value_dim, std::string_view fn, std::string_view value_name) {
  const Index d = config.head_dim();
  require(d == 64 || d == 128, fn, "rope.head_dim", "must be 64 or 128 on CUDA, got ", d);
  require(value_dim == d, fn, value_name, "must have head_dim = ", d, " columns per kv head on CUDA, got ", value_dim);
}

cuda_backend::AttentionShape shape_of(const AttentionConfig& config) {
  return {static_cast<int>(config.q_heads),     static_cast<int>(config.kv_heads),
          static_cast<int>(config.head_dim()),  static_cast<int>(config.rope.rotary_dim()),
          config.rope.layout == rope::Layout::Interleaved, config.scheme.two_pass(),
          static_cast<std::int64_t>(config.scheme.window)};
}

template <class T> constexpr cuda_backend::InputType input_type() {
  return std::is_same_v<T, float> ? cuda_backend::InputType::Float32 : cuda_backend::InputType::BFloat16;
}

/// The rotations of spec §6.2: pass 1 (queries and keys), pass 2 of a query, pass 2 of a key.
enum class Pass { One, TwoQuery, TwoKey };

/// Host table of the CUDA kernels: for each pass, in order, the positions of rows first..first+n−1
/// (the scheme's own functions, in double; pass-2 entries of a one-pass scheme are 0 and unread).
std::vector<double> position_table(const rope::PositionScheme& scheme, Index first, Index n,
                                   std::initializer_list<Pass> passes) {
  std::vector<double> table;
  table.reserve(passes.size() * static_cast<std::size_t>(n));
  for (const Pass pass : passes)
    for (Index i = first; i < first + n; ++i)
      table.push_back(pass == Pass::One       ? scheme.pass1_position(i)
                      : !scheme.two_pass()    ? 0.0
                      : pass == Pass::TwoQuery ? scheme.pass2_query_position(i)
                                               : scheme.pass2_key_position(i));
  return table;
}

/// A CUDA kernel's report (tensor·rows + row, or −1) as the CPU path's InvalidArgument ("k[3]").
void require_finite(std::ptrdiff_t bad, Index rows, std::initializer_list<std::string_view> names, std::string_view fn) {
  if (bad >= 0)
    probspace::detail::throw_invalid(fn, kernels::row_name(names.begin()[bad / rows], bad % rows), "must be finite");
}

/// A cache's calls run on its own device.
void require_device(const Context& context, Device device, std::string_view fn) {
  require(context.device() == device, fn, "context", "must be a ", to_string(device), " context (the cache's device), got ",
          to_string(context.device()));
}

/// The rotation used inside attention: attention_factor moves to the logit scale (as rope::attention).
rope::RotaryEmbedding unit_rope(const AttentionConfig& config) {
  rope::RotaryEmbedding r = config.rope;
  r.attention_factor = 1;
  return r;
}

/// What multiplies q at position i before rotation: the logit scale (scale·a²) times log-n† (spec §8).
float query_factor(const AttentionConfig& config, double logit_scale, Index i) {
  const double log_n = config.log_n_train_length > 0 ? rope::log_n_dagger(i, config.log_n_train_length) : 1.0;
  return static_cast<float>(logit_scale * log_n);
}

/// dst [rows, cols] (dense) = factor(r)·src row r, widened to float; a non-finite entry of src throws
/// InvalidArgument naming its row ("q[5]").
template <class T, class Factor>
void widen_rows(RowsView<const T> src, FloatRows& dst, Factor&& factor, std::string_view fn, std::string_view name) {
  dst.resize(src.rows, src.cols);
  kernels::parallel_rows(src.rows, src.cols, [&](Index r) {
    const T* s = src.data + r * src.stride;
    float* d = &dst(r, 0);
    const float f = factor(r);
    bool finite = true;
    for (Index c = 0; c < src.cols; ++c) {
      const float x = to_float(s[c]);
      finite = finite && std::isfinite(x);
      d[c] = f * x;
    }
    require(finite, fn, kernels::row_name(name, r), "must be finite");
  });
}

/// In place: row r of x ← R_{position(first + r)} row r, every head alike (angles in double).
template <class Position>
void rotate_rows(FloatRows& x, Index first, const rope::RotaryEmbedding& unit, Position&& position) {
  Eigen::VectorXd positions(x.rows());
  for (Index r = 0; r < x.rows(); ++r) positions[r] = position(first + r);
  rope::rotate(x, positions, unit);
}

/// The pass-1 and (two-pass schemes) pass-2 rotated copies of rows at positions first.. (spec §6.2):
/// queries (is_query) at p1(i) and p2q(i), keys at p1(j) and p2k(j). x holds the widened rows and
/// becomes the pass-1 copy; the pass-2 copy is returned (empty for one-pass schemes).
FloatRows rotate_passes(FloatRows& x, Index first, const AttentionConfig& config, bool is_query) {
  const rope::RotaryEmbedding unit = unit_rope(config);
  const rope::PositionScheme& scheme = config.scheme;
  FloatRows pass2;
  if (scheme.two_pass()) {
    pass2 = x;
    if (is_query) rotate_rows(pass2, first, unit, [&](Index i) { return scheme.pass2_query_position(i); });
    else rotate_rows(pass2, first, unit, [&](Index j) { return scheme.pass2_key_position(j); });
  }
  rotate_rows(x, first, unit, [&](Index p) { return scheme.pass1_position(p); });
  return pass2;
}

/// A block of query rows (rotated, float) of one head group: row r at position first + r·step
/// (prefill: consecutive tokens of one head, step 1; decode: the heads of one kv group, step 0).
struct QueryBlock {
  const float* q1;
  const float* q2;  ///< pass 2 (null for one-pass schemes)
  Index stride, rows, first, step;
  Index position(Index r) const { return first + r * step; }
};

/// One kv head's cached keys (both passes) and values in storage S: row j at pointer + j·stride.
template <class S> struct KeyValues {
  const S* k1;
  const S* k2;  ///< pass 2 (null for one-pass schemes)
  const S* v;
  Index k_stride, v_stride, d, dv;
};

/// Per-thread scratch: scores of both passes, the running max / sum / output of the online softmax,
/// and float copies of a key and a value tile (bfloat16 storage).
struct Workspace {
  FloatRows s, s2, acc, key_tile, value_tile;
  Eigen::VectorXf m, l;
  Workspace(Index rows, Index d, Index dv)
      : s(rows, kTile), s2(rows, kTile), acc(rows, dv), key_tile(kTile, d), value_tile(kTile, dv), m(rows), l(rows) {}
};

/// rows × cols of storage S at p (row stride `stride`) as float: a map of the data itself (float) or
/// of `buffer`, filled by widening (bfloat16).
template <class S> Tile float_tile(const S* p, Index stride, Index rows, Index cols, FloatRows& buffer) {
  if constexpr (std::is_same_v<S, float>) {
    return Tile(p, rows, cols, Eigen::OuterStride<>(stride));
  } else {
    for (Index r = 0; r < rows; ++r)
      for (Index c = 0; c < cols; ++c) buffer(r, c) = to_float(p[r * stride + c]);
    return Tile(buffer.data(), rows, cols, Eigen::OuterStride<>(buffer.cols()));
  }
}

/// Which products a tile needs, from its smallest and largest distance i − j (spec §6.2: pass 1 for
/// i − j < w, pass 2 otherwise).
enum class Products { Pass1, Pass2, Both };
Products tile_products(const rope::PositionScheme& scheme, Index min_distance, Index max_distance) {
  if (!scheme.two_pass() || max_distance < scheme.window) return Products::Pass1;
  return min_distance >= scheme.window ? Products::Pass2 : Products::Both;
}

/// out row r = softmax over keys j ≤ position(r), j < key_end, of the block's scores, times V; the
/// online softmax carries (max m, sum l, unnormalised output) from key tile to key tile.
template <class S, class O>
void attend_block(const QueryBlock& q, const KeyValues<S>& kv, Index key_end, const rope::PositionScheme& scheme,
                  Workspace& ws, O* out, Index out_stride) {
  const Index n = q.rows, w = scheme.window;
  const Tile q1(q.q1, n, kv.d, Eigen::OuterStride<>(q.stride));
  const Tile q2(q.q2 ? q.q2 : q.q1, n, kv.d, Eigen::OuterStride<>(q.stride));
  auto m = ws.m.head(n);
  auto l = ws.l.head(n);
  auto acc = ws.acc.topRows(n);
  m.setConstant(-std::numeric_limits<float>::infinity());
  l.setZero();
  acc.setZero();
  const Index first = q.position(0), last = q.position(n - 1);
  for (Index j0 = 0; j0 < key_end; j0 += kTile) {
    const Index nk = std::min(kTile, key_end - j0);
    const Products products = tile_products(scheme, first - (j0 + nk - 1), last - j0);
    auto s = ws.s.topLeftCorner(n, nk);
    const bool pass2_only = products == Products::Pass2;
    s.noalias() = (pass2_only ? q2 : q1) *
                  float_tile(pass2_only ? kv.k2 + j0 * kv.k_stride : kv.k1 + j0 * kv.k_stride, kv.k_stride, nk, kv.d,
                             ws.key_tile)
                      .transpose();
    if (products == Products::Both) {
      auto s2 = ws.s2.topLeftCorner(n, nk);
      s2.noalias() = q2 * float_tile(kv.k2 + j0 * kv.k_stride, kv.k_stride, nk, kv.d, ws.key_tile).transpose();
      // Per element: pass 2 where i − j ≥ w, i.e. the first i − w − j0 + 1 keys of row i.
      for (Index r = 0; r < n; ++r) {
        const Index far = std::clamp(q.position(r) - w - j0 + 1, Index(0), nk);
        s.row(r).head(far) = s2.row(r).head(far);
      }
    }
    for (Index r = 0; r < n; ++r) {
      const Index visible = std::clamp(q.position(r) - j0 + 1, Index(0), nk);  // causal: keys j ≤ i
      s.row(r).tail(nk - visible).setZero();
      if (visible == 0) continue;
      auto row = s.row(r).head(visible);
      const float m_new = std::max(m[r], row.maxCoeff());
      const float correction = std::exp(m[r] - m_new);  // 0 on the row's first tile
      row = (row.array() - m_new).exp().matrix();
      l[r] = l[r] * correction + row.sum();
      acc.row(r) *= correction;
      m[r] = m_new;
    }
    acc.noalias() += s * float_tile(kv.v + j0 * kv.v_stride, kv.v_stride, nk, kv.dv, ws.value_tile);
  }
  for (Index r = 0; r < n; ++r) {
    const float inverse = 1 / l[r];
    for (Index c = 0; c < kv.dv; ++c) out[r * out_stride + c] = from_float<O>(acc(r, c) * inverse);
  }
}

template <class T>
void check_shape(const RowsView<T>& x, Index rows, Index cols, std::string_view fn, std::string_view name) {
  require(x.rows == rows && x.cols == cols, fn, name, "has shape [", x.rows, ", ", x.cols, "], expected [", rows,
          ", ", cols, "]");
}

}  // namespace

template <class T>
void attention_prefill(Context& context, RowsView<const T> q, RowsView<const T> k, RowsView<const T> v,
                       RowsView<T> out, const AttentionConfig& config) {
  constexpr std::string_view fn = "attention_prefill";
  config.validate(fn);
  check_view(q, context, fn, "q");
  check_view(k, context, fn, "k");
  check_view(v, context, fn, "v");
  check_view(out, context, fn, "out");
  const Index length = q.rows, d = config.head_dim(), hq = config.q_heads, hk = config.kv_heads;
  require(q.cols == hq * d, fn, "q", "has ", q.cols, " columns, expected q_heads·head_dim = ", hq, "·", d);
  check_shape(k, length, hk * d, fn, "k");
  require(v.rows == length && v.cols % hk == 0, fn, "v", "has shape [", v.rows, ", ", v.cols, "], expected ", length,
          " rows and a multiple of kv_heads = ", hk, " columns");
  const Index dv = v.cols / hk;
  check_shape(out, length, hq * dv, fn, "out");
  const double logit_scale = config.head_spec().logit_scale();
  if (context.device() == Device::Cuda) {
    require_cuda_dims(config, dv, fn, "v");
    if (length == 0) return;
    const std::vector<double> positions = position_table(config.scheme, 0, length, {Pass::One, Pass::TwoQuery, Pass::TwoKey});
    std::vector<double> factors(static_cast<std::size_t>(length));
    for (Index i = 0; i < length; ++i) factors[static_cast<std::size_t>(i)] = query_factor(config, logit_scale, i);
    require_finite(cuda_backend::attention_prefill(context.stream(), context.report(), input_type<T>(), shape_of(config),
                                                   length, q.data, q.stride, k.data, k.stride, v.data, v.stride, out.data,
                                                   out.stride, config.rope.inv_freq.data(), positions.data(),
                                                   factors.data()),
                   length, {"q", "k", "v"}, fn);
    return;
  }
  if (length == 0) return;

  FloatRows q1, k1, values;
  widen_rows(q, q1, [&](Index i) { return query_factor(config, logit_scale, i); }, fn, "q");
  widen_rows(k, k1, [](Index) { return 1.0f; }, fn, "k");
  widen_rows(v, values, [](Index) { return 1.0f; }, fn, "v");
  const FloatRows q2 = rotate_passes(q1, 0, config, true), k2 = rotate_passes(k1, 0, config, false);
  const bool two_pass = config.scheme.two_pass();

  // Tasks pair query tile t with tile T − 1 − t of one head: equal causal work per task.
  const Index tiles = (length + kTile - 1) / kTile, pairs = (tiles + 1) / 2, group = config.group_size();
  kernels::parallel_rows(hq * pairs, length * d, [&](Index task) {
    const Index h = task / pairs, g = h / group;
    embedding::kernels::eigen_serial_in_region();  // tile GEMMs on this thread, also when the loop runs serially
    Workspace ws(kTile, d, dv);
    const KeyValues<float> kv{k1.data() + g * d, two_pass ? k2.data() + g * d : nullptr, values.data() + g * dv,
                              hk * d, hk * dv, d, dv};
    const auto run = [&](Index tile) {
      const Index i0 = tile * kTile, rows = std::min(kTile, length - i0);
      const QueryBlock block{q1.data() + i0 * hq * d + h * d, two_pass ? q2.data() + i0 * hq * d + h * d : nullptr,
                             hq * d, rows, i0, 1};
      attend_block(block, kv, i0 + rows, config.scheme, ws, out.data + i0 * out.stride + h * dv, out.stride);
    };
    const Index t = task % pairs;
    run(t);
    if (tiles - 1 - t != t) run(tiles - 1 - t);
  });
}

template <class T>
AttentionCache<T>::AttentionCache(AttentionConfig config, Index value_dim, Index capacity, Device device)
    : config_(std::move(config)), value_dim_(value_dim), device_(resolve(device)) {
  constexpr std::string_view fn = "AttentionCache";
  config_.validate(fn);
  require(value_dim >= 1, fn, "value_dim", "must be >= 1, got ", value_dim);
  require(capacity >= 0, fn, "capacity", "must be >= 0, got ", capacity);
  if (device_ == Device::Cuda) {
    require_cuda_dims(config_, value_dim, fn, "value_dim");
    const Index key_cols = config_.kv_heads * config_.head_dim();
    if (capacity > 0) {
      device_keys1_ = std::make_unique<DeviceBuffer<T>>(capacity * key_cols);
      if (config_.scheme.two_pass()) device_keys2_ = std::make_unique<DeviceBuffer<T>>(capacity * key_cols);
      device_values_ = std::make_unique<DeviceBuffer<T>>(capacity * config_.kv_heads * value_dim);
      capacity_ = capacity;
    }
    return;
  }
  const auto key_row = static_cast<std::size_t>(config_.kv_heads * config_.head_dim());
  keys1_.reserve(static_cast<std::size_t>(capacity) * key_row);
  if (config_.scheme.two_pass()) keys2_.reserve(static_cast<std::size_t>(capacity) * key_row);
  values_.reserve(static_cast<std::size_t>(capacity * config_.kv_heads * value_dim));
}

template <class T> std::size_t AttentionCache<T>::bytes() const {
  const Index key_copies = config_.scheme.two_pass() ? 2 : 1;
  return static_cast<std::size_t>(size_ * config_.kv_heads * (key_copies * config_.head_dim() + value_dim_)) * sizeof(T);
}

template <class T> void AttentionCache<T>::reserve_device(Context& context, Index rows) {
  if (rows <= capacity_) return;
  const Index capacity = std::max(rows, 2 * capacity_), hk = config_.kv_heads;
  const auto grown = [&](const std::unique_ptr<DeviceBuffer<T>>& old, Index cols) {
    auto buffer = std::make_unique<DeviceBuffer<T>>(capacity * cols);
    if (size_ > 0)
      cuda_backend::copy_on_device(context.stream(), buffer->data(), old->data(),
                                   static_cast<std::size_t>(size_ * cols) * sizeof(T));
    return buffer;
  };
  auto keys1 = grown(device_keys1_, hk * config_.head_dim());
  auto keys2 = config_.scheme.two_pass() ? grown(device_keys2_, hk * config_.head_dim()) : nullptr;
  auto values = grown(device_values_, hk * value_dim_);
  cuda_backend::synchronize(context.stream());  // the copies read the old rows before they are freed
  device_keys1_ = std::move(keys1);
  device_keys2_ = std::move(keys2);
  device_values_ = std::move(values);
  capacity_ = capacity;
}

template <class T>
void AttentionCache<T>::append(Context& context, RowsView<const T> keys, RowsView<const T> values) {
  constexpr std::string_view fn = "AttentionCache::append";
  require_device(context, device_, fn);
  check_view(keys, context, fn, "keys");
  check_view(values, context, fn, "values");
  const Index n = keys.rows, hk = config_.kv_heads, d = config_.head_dim();
  check_shape(keys, n, hk * d, fn, "keys");
  check_shape(values, n, hk * value_dim_, fn, "values");
  if (device_ == Device::Cuda) {
    if (n == 0) return;
    reserve_device(context, size_ + n);
    const std::vector<double> positions = position_table(config_.scheme, size_, n, {Pass::One, Pass::TwoKey});
    T* keys2 = device_keys2_ ? device_keys2_->data() + size_ * hk * d : nullptr;
    require_finite(cuda_backend::attention_append(context.stream(), context.report(), input_type<T>(), shape_of(config_), n,
                                                  keys.data, keys.stride, values.data, values.stride,
                                                  device_keys1_->data() + size_ * hk * d, keys2,
                                                  device_values_->data() + size_ * hk * value_dim_,
                                                  config_.rope.inv_freq.data(), positions.data()),
                   n, {"keys", "values"}, fn);
    size_ += n;
    return;
  }
  FloatRows k1, widened_values;
  widen_rows(keys, k1, [](Index) { return 1.0f; }, fn, "keys");
  widen_rows(values, widened_values, [](Index) { return 1.0f; }, fn, "values");  // exact: widened from T
  const FloatRows k2 = rotate_passes(k1, size_, config_, false);
  const auto store = [](std::vector<T>& cache, const FloatRows& rows) {
    const std::size_t old = cache.size();
    cache.resize(old + static_cast<std::size_t>(rows.size()));
    std::transform(rows.data(), rows.data() + rows.size(), cache.begin() + static_cast<std::ptrdiff_t>(old),
                   [](float x) { return from_float<T>(x); });
  };
  store(keys1_, k1);
  if (config_.scheme.two_pass()) store(keys2_, k2);
  store(values_, widened_values);
  size_ += n;
}

template <class T>
void AttentionCache<T>::attend(Context& context, RowsView<const T> query, RowsView<T> out) const {
  constexpr std::string_view fn = "AttentionCache::attend";
  require_device(context, device_, fn);
  check_view(query, context, fn, "query");
  check_view(out, context, fn, "out");
  const Index d = config_.head_dim(), dv = value_dim_, hq = config_.q_heads, hk = config_.kv_heads;
  check_shape(query, 1, hq * d, fn, "query");
  check_shape(out, 1, hq * dv, fn, "out");
  require(size_ >= 1, fn, "cache", "is empty: append the current token's key and value first");
  const Index i = size_ - 1, group = config_.group_size();
  const float factor = query_factor(config_, config_.head_spec().logit_scale(), i);
  if (device_ == Device::Cuda) {
    const std::vector<double> positions = position_table(config_.scheme, i, 1, {Pass::One, Pass::TwoQuery});
    require_finite(cuda_backend::attention_decode(context.stream(), context.report(), input_type<T>(), shape_of(config_), size_,
                                                  query.data, device_keys1_->data(),
                                                  device_keys2_ ? device_keys2_->data() : nullptr,
                                                  device_values_->data(), out.data, config_.rope.inv_freq.data(),
                                                  positions.data(), factor),
                   1, {"query"}, fn);
    return;
  }
  FloatRows q1;
  widen_rows(query, q1, [&](Index) { return factor; }, fn, "query");
  const FloatRows q2 = rotate_passes(q1, i, config_, true);
  const bool two_pass = config_.scheme.two_pass();
  // One task per kv head: its group's query heads share every key and value tile read.
  kernels::parallel_rows(hk, size_ * d, [&](Index g) {
    embedding::kernels::eigen_serial_in_region();
    Workspace ws(group, d, dv);
    const QueryBlock block{q1.data() + g * group * d, two_pass ? q2.data() + g * group * d : nullptr, d, group, i, 0};
    const KeyValues<T> kv{keys1_.data() + g * d, two_pass ? keys2_.data() + g * d : nullptr, values_.data() + g * dv,
                          hk * d, hk * dv, d, dv};
    attend_block(block, kv, size_, config_.scheme, ws, out.data + g * group * dv, dv);
  });
}

template void attention_prefill<float>(Context&, RowsView<const float>, RowsView<const float>, RowsView<const float>,
                                       RowsView<float>, const AttentionConfig&);
template void attention_prefill<bfloat16>(Context&, RowsView<const bfloat16>, RowsView<const bfloat16>,
                                          RowsView<const bfloat16>, RowsView<bfloat16>, const AttentionConfig&);
template class AttentionCache<float>;
template class AttentionCache<bfloat16>;

}  // namespace probspace::inference
