// inference::attention_prefill and AttentionCache (CPU) against the rope module's reference attention
// (rope::attention, Direct, double, per head) for every scheme, with GQA, log-n†, float32 and bfloat16;
// decode at every step against prefill; bad input (docs/attention.md, spec rope.md §6).
#include <probspace/inference/attention.hpp>
#include <probspace/inference/eigen_view.hpp>
#include <probspace/rope/frequencies.hpp>
#include <probspace/rope/log_n.hpp>

#include "../support/testing.hpp"

#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

namespace probspace::inference {
namespace {

using rope::PositionScheme;

constexpr Index kQHeads = 8, kKvHeads = 2, kHeadDim = 32, kValueDim = 16;
constexpr double kUnit = 0x1p-24;      // float32 unit roundoff
constexpr double kBf16Unit = 0x1p-8;   // bfloat16 unit roundoff (8 significand bits, round to nearest)

/// Every scheme at window w, plus ReRoPE with a window past every length used (w ≥ L: pass 1 only).
std::vector<PositionScheme> schemes(Index w) {
  return {PositionScheme::rope(),      PositionScheme::linear(3),     PositionScheme::rerope(w),
          PositionScheme::rerope(400), PositionScheme::leaky(w, 2),   PositionScheme::leaky(w, 16),
          PositionScheme::inverse_leaky(w, 0.5)};
}

/// Partial rotary (24 of 32 channels) with a YaRN attention factor, so both enter every check.
AttentionConfig config_for(const PositionScheme& scheme, rope::Layout layout, Index log_n) {
  return {scheme, rope::RotaryEmbedding(rope::yarn_frequencies(24, 1e4, 4, 64), layout, kHeadDim), kQHeads, kKvHeads,
          log_n};
}

RowMatrixX<double> random_rows(std::mt19937_64& rng, Index rows, Index cols) {
  RowMatrixX<double> m(rows, cols);
  for (Index r = 0; r < rows; ++r) m.row(r) = testing::normal_vector<double>(rng, cols).transpose();
  return m;
}

/// The values storage T holds: bfloat16 rounds (the reference then runs on the rounded inputs).
template <class T> RowMatrixX<double> representable(const RowMatrixX<double>& x) {
  return x.unaryExpr([](double e) { return double(to_float(from_float<T>(float(e)))); });
}
template <class T> std::vector<T> stored(const RowMatrixX<double>& x) {
  std::vector<T> s(std::size_t(x.size()));
  for (Index i = 0; i < x.size(); ++i) s[std::size_t(i)] = from_float<T>(float(x.data()[i]));
  return s;
}
template <class T> RowsView<const T> view(const std::vector<T>& s, Index rows, Index cols) {
  return {s.data(), rows, cols, cols, Memory::Host};
}
template <class T> RowMatrixX<double> to_double(const std::vector<T>& s, Index rows, Index cols) {
  RowMatrixX<double> m(rows, cols);
  for (Index i = 0; i < m.size(); ++i) m.data()[i] = to_float(s[std::size_t(i)]);
  return m;
}

/// rope::attention (Direct: the oracle of spec §6.1), double, head by head; query head h reads kv
/// head h / (q_heads/kv_heads).
RowMatrixX<double> reference(const RowMatrixX<double>& q, const RowMatrixX<double>& k, const RowMatrixX<double>& v,
                             const AttentionConfig& c) {
  const Index d = c.head_dim(), dv = v.cols() / c.kv_heads;
  RowMatrixX<double> out(q.rows(), c.q_heads * dv);
  for (Index h = 0; h < c.q_heads; ++h) {
    const Index g = h / c.group_size();
    out.middleCols(h * dv, dv) = rope::attention(q.middleCols(h * d, d), k.middleCols(g * d, d),
                                                 v.middleCols(g * dv, dv), c.head_spec(), rope::Realisation::Direct);
  }
  return out;
}

/// Worst-case float32 rounding bound on |out − exact| (docs/attention.md, "Accuracy"): a logit error
/// Δ ≤ (d + 8)·u·s·max‖q_i‖·max‖k_j‖ (widening, scale, rotations, a d-term dot product; s the largest
/// logit scale incl. log-n†), plus `key_rounding`·s·max‖q‖·max‖k‖ when the cache rounds rotated keys;
/// it moves each softmax weight by at most a factor e^{±2Δ}, so the output by (e^{2Δ} − 1)·max|v|;
/// the sums over L keys (and exp's few ulp) add 2(L + 8)·u·max|v|.
double tolerance(const RowMatrixX<double>& q, const RowMatrixX<double>& k, const RowMatrixX<double>& v,
                 const AttentionConfig& c, double key_rounding = 0) {
  const Index d = c.head_dim(), length = q.rows();
  double s = c.head_spec().logit_scale();
  if (c.log_n_train_length > 0) s *= rope::log_n_dagger(length - 1, c.log_n_train_length);
  const double norms = q.reshaped<Eigen::RowMajor>(q.size() / d, d).rowwise().norm().maxCoeff() *
                       k.reshaped<Eigen::RowMajor>(k.size() / d, d).rowwise().norm().maxCoeff();
  const double delta = (double(d + 8) * kUnit + key_rounding) * s * norms;
  return v.cwiseAbs().maxCoeff() * (std::expm1(2 * delta) + 2 * double(length + 8) * kUnit);
}

/// Element-wise |got − want| ≤ tol (+ bfloat16's output rounding 2^-8·|want|); returns the worst excess
/// ratio error/allowed (≤ 1 passes).
template <class T> double worst_ratio(const RowMatrixX<double>& got, const RowMatrixX<double>& want, double tol) {
  double worst = 0;
  for (Index i = 0; i < got.size(); ++i) {
    const double allowed = tol + (std::is_same_v<T, bfloat16> ? kBf16Unit * std::abs(want.data()[i]) : 0.0);
    worst = std::max(worst, std::abs(got.data()[i] - want.data()[i]) / allowed);
  }
  return got.allFinite() ? worst : std::numeric_limits<double>::infinity();
}

template <class T> class InferenceAttention : public ::testing::Test {};
using Storage = ::testing::Types<float, bfloat16>;
TYPED_TEST_SUITE(InferenceAttention, Storage);

TYPED_TEST(InferenceAttention, PrefillEqualsTheReferenceForEveryScheme) {
  using T = TypeParam;
  std::mt19937_64 rng(8);
  Context cpu(Device::Cpu);
  int cases = 0;
  // Lengths around the 64-token tile (1, below, at, above, three tiles); w = 20 gives tiles wholly in,
  // wholly out of and across the window; ReRoPE(400) has w ≥ L.
  for (const Index length : {Index(1), Index(37), Index(64), Index(65), Index(150)}) {
    const RowMatrixX<double> q = representable<T>(random_rows(rng, length, kQHeads * kHeadDim)),
                             k = representable<T>(random_rows(rng, length, kKvHeads * kHeadDim)),
                             v = representable<T>(random_rows(rng, length, kKvHeads * kValueDim));
    const auto qs = stored<T>(q), ks = stored<T>(k), vs = stored<T>(v);
    std::vector<T> out(std::size_t(length * kQHeads * kValueDim));
    for (const auto& scheme : schemes(20)) {
      for (const Index log_n : {Index(0), Index(16)}) {
        const auto layout = (cases % 2 == 0) ? rope::Layout::Half : rope::Layout::Interleaved;
        const AttentionConfig c = config_for(scheme, layout, log_n);
        attention_prefill<T>(cpu, view(qs, length, q.cols()), view(ks, length, k.cols()), view(vs, length, v.cols()),
                             {out.data(), length, kQHeads * kValueDim, kQHeads * kValueDim, Memory::Host}, c);
        const double ratio = worst_ratio<T>(to_double(out, length, kQHeads * kValueDim), reference(q, k, v, c),
                                            tolerance(q, k, v, c));
        EXPECT_LE(ratio, 1.0) << scheme.name() << " L = " << length << " log-n " << log_n << " "
                              << rope::to_string(layout);
        ++cases;
      }
    }
  }
  EXPECT_EQ(cases, 5 * 7 * 2);
}

TYPED_TEST(InferenceAttention, DecodeEqualsPrefillAtEveryStepAndTheReference) {
  using T = TypeParam;
  std::mt19937_64 rng(9);
  Context cpu(Device::Cpu);
  const Index length = 150;
  const RowMatrixX<double> q = representable<T>(random_rows(rng, length, kQHeads * kHeadDim)),
                           k = representable<T>(random_rows(rng, length, kKvHeads * kHeadDim)),
                           v = representable<T>(random_rows(rng, length, kKvHeads * kValueDim));
  const auto qs = stored<T>(q), ks = stored<T>(k), vs = stored<T>(v);
  const Index out_cols = kQHeads * kValueDim;
  for (const auto& scheme : schemes(20)) {
    for (const Index log_n : {Index(0), Index(16)}) {
      const AttentionConfig c = config_for(scheme, rope::Layout::Half, log_n);
      std::vector<T> prefill(std::size_t(length * out_cols));
      attention_prefill<T>(cpu, view(qs, length, q.cols()), view(ks, length, k.cols()), view(vs, length, v.cols()),
                           {prefill.data(), length, out_cols, out_cols, Memory::Host}, c);
      const RowMatrixX<double> want = reference(q, k, v, c);
      // A bfloat16 cache rounds each rotated key once: 2^-8 relative (header of attention.hpp).
      const double tol = tolerance(q, k, v, c, std::is_same_v<T, bfloat16> ? kBf16Unit : 0.0);
      AttentionCache<T> cache(c, kValueDim, 16);  // grows past its capacity
      std::vector<T> out(static_cast<std::size_t>(out_cols));
      double worst = 0;
      for (Index i = 0; i < length;) {
        const Index n = i == 3 ? 5 : 1;  // one multi-row append: positions continue from size()
        cache.append(cpu, {ks.data() + i * k.cols(), n, k.cols(), k.cols(), Memory::Host},
                     {vs.data() + i * v.cols(), n, v.cols(), v.cols(), Memory::Host});
        i += n;
        ASSERT_EQ(cache.size(), i);
        cache.attend(cpu, {qs.data() + (i - 1) * q.cols(), 1, q.cols(), q.cols(), Memory::Host},
                     {out.data(), 1, out_cols, out_cols, Memory::Host});
        // decode of query i − 1 = causal prefill row i − 1
        worst = std::max(worst, worst_ratio<T>(to_double(out, 1, out_cols), want.row(i - 1), tol));
      }
      EXPECT_LE(worst, 1.0) << scheme.name() << " log-n " << log_n;
      // The last decode step against the fused prefill's last row: both within their bounds of the exact
      // value (bfloat16: each also rounded to 2^-8·max|v|).
      const double both = tol + tolerance(q, k, v, c) +
                          (std::is_same_v<T, bfloat16> ? 2 * kBf16Unit * v.cwiseAbs().maxCoeff() : 0.0);
      EXPECT_LE((to_double(out, 1, out_cols) - to_double(prefill, length, out_cols).bottomRows(1)).cwiseAbs().maxCoeff(),
                both)
          << scheme.name() << " log-n " << log_n;
      const std::size_t key_copies = scheme.two_pass() ? 2 : 1;
      EXPECT_EQ(cache.bytes(), std::size_t(length) * sizeof(T) *
                                   (key_copies * std::size_t(k.cols()) + std::size_t(v.cols())));
    }
  }
}

TEST(InferenceAttention, StridedViewsAndOutputInPlaceOfQ) {
  std::mt19937_64 rng(10);
  Context cpu(Device::Cpu);
  const Index length = 70, d = 16;  // value_dim = head_dim, so out can overwrite q
  const AttentionConfig c{PositionScheme::leaky(9, 4), rope::RotaryEmbedding(rope::default_inv_freq(d, 1e4),
                                                                             rope::Layout::Interleaved),
                          4, 1, 0, 0.3};
  // q, k, v share one [L, 4d + d + d + 3] buffer (stride 3 past the last column).
  RowMatrixX<float> packed = random_rows(rng, length, 6 * d + 3).cast<float>();
  const RowMatrixX<float> q = packed.leftCols(4 * d), k = packed.middleCols(4 * d, d), v = packed.middleCols(5 * d, d);
  const auto stride = packed.cols();
  RowMatrixX<float> want(length, 4 * d);
  attention_prefill<float>(cpu, rows_view(q), rows_view(k), rows_view(v), rows_view(want), c);
  RowMatrixX<float> got(length, 4 * d);
  attention_prefill<float>(cpu, {packed.data(), length, 4 * d, stride, Memory::Host},
                           {packed.data() + 4 * d, length, d, stride, Memory::Host},
                           {packed.data() + 5 * d, length, d, stride, Memory::Host}, rows_view(got), c);
  EXPECT_EQ(got, want);
  attention_prefill<float>(cpu, {packed.data(), length, 4 * d, stride, Memory::Host},
                           {packed.data() + 4 * d, length, d, stride, Memory::Host},
                           {packed.data() + 5 * d, length, d, stride, Memory::Host},
                           {packed.data(), length, 4 * d, stride, Memory::Host}, c);
  EXPECT_EQ(RowMatrixX<float>(packed.leftCols(4 * d)), want);
  // L = 0 is a no-op.
  EXPECT_NO_THROW(attention_prefill<float>(cpu, {q.data(), 0, 4 * d, 4 * d, Memory::Host},
                                           {k.data(), 0, d, d, Memory::Host}, {v.data(), 0, d, d, Memory::Host},
                                           {got.data(), 0, 4 * d, 4 * d, Memory::Host}, c));
}

TEST(InferenceAttention, BadInputNamesTheArgument) {
  Context cpu(Device::Cpu);
  const Index length = 5, d = 8;
  const AttentionConfig good{PositionScheme::rerope(2), rope::RotaryEmbedding(rope::default_inv_freq(d, 1e4),
                                                                              rope::Layout::Half),
                             4, 2};
  RowMatrixX<float> q = RowMatrixX<float>::Ones(length, 4 * d), k = RowMatrixX<float>::Ones(length, 2 * d),
                    v = RowMatrixX<float>::Ones(length, 2 * 3), out(length, 4 * 3);
  const auto prefill = [&](const AttentionConfig& c) {
    attention_prefill<float>(cpu, rows_view(q), rows_view(k), rows_view(v), rows_view(out), c);
  };
  EXPECT_NO_THROW(prefill(good));
  AttentionConfig c = good;
  c.kv_heads = 3;  // does not divide 4
  EXPECT_INVALID_ARGUMENT(prefill(c), "config.kv_heads");
  c = good;
  c.kv_heads = 0;
  EXPECT_INVALID_ARGUMENT(prefill(c), "config.kv_heads");
  c = good;
  c.q_heads = 0;
  EXPECT_INVALID_ARGUMENT(prefill(c), "config.q_heads");
  c = good;
  c.log_n_train_length = 1;
  EXPECT_INVALID_ARGUMENT(prefill(c), "config.log_n_train_length");
  c = good;
  c.scale = std::numeric_limits<double>::quiet_NaN();
  EXPECT_INVALID_ARGUMENT(prefill(c), "config.scale");
  c = good;
  c.scheme.window = 0;  // hand-built
  EXPECT_INVALID_ARGUMENT(prefill(c), "scheme.window");
  c = good;
  c.rope.head_dim = 2 * d;  // q has 4·8 columns, not 4·16
  EXPECT_INVALID_ARGUMENT(prefill(c), "q");
  c = good;
  c.rope.head_dim = 6;  // below rotary_dim
  EXPECT_INVALID_ARGUMENT(prefill(c), "rope.head_dim");

  const auto call = [&](RowsView<const float> qv, RowsView<const float> kv, RowsView<const float> vv,
                        RowsView<float> ov) { attention_prefill<float>(cpu, qv, kv, vv, ov, good); };
  EXPECT_INVALID_ARGUMENT(call({q.data(), length, 4 * d, 4 * d - 1, Memory::Host}, rows_view(k), rows_view(v),
                               rows_view(out)),
                          "q");  // stride < cols
  EXPECT_INVALID_ARGUMENT(call(rows_view(q), {nullptr, length, 2 * d, 2 * d, Memory::Host}, rows_view(v),
                               rows_view(out)),
                          "k");
  EXPECT_INVALID_ARGUMENT(call(rows_view(q), {k.data(), length, 2 * d, 2 * d, Memory::Cuda}, rows_view(v),
                               rows_view(out)),
                          "k");  // device memory on a CPU context
  EXPECT_INVALID_ARGUMENT(call(rows_view(q), {k.data(), length - 1, 2 * d, 2 * d, Memory::Host}, rows_view(v),
                               rows_view(out)),
                          "k");
  EXPECT_INVALID_ARGUMENT(call(rows_view(q), rows_view(k), {v.data(), length, 5, 6, Memory::Host}, rows_view(out)),
                          "v");  // 5 columns: not a multiple of kv_heads
  EXPECT_INVALID_ARGUMENT(call(rows_view(q), rows_view(k), rows_view(v), {out.data(), length, 4 * 2, 12, Memory::Host}),
                          "out");
  k(3, 5) = std::numeric_limits<float>::quiet_NaN();
  EXPECT_INVALID_ARGUMENT(prefill(good), "k[3]");
  k(3, 5) = 1;
  v(4, 0) = std::numeric_limits<float>::infinity();
  EXPECT_INVALID_ARGUMENT(prefill(good), "v[4]");
  v(4, 0) = 1;
  q(0, 0) = -std::numeric_limits<float>::infinity();
  EXPECT_INVALID_ARGUMENT(prefill(good), "q[0]");
  q(0, 0) = 1;

  EXPECT_INVALID_ARGUMENT(AttentionCache<float>(good, 0), "value_dim");
  EXPECT_INVALID_ARGUMENT(AttentionCache<float>(good, 3, -1), "capacity");
  c = good;
  c.kv_heads = 3;
  EXPECT_INVALID_ARGUMENT(AttentionCache<float>(c, 3), "config.kv_heads");
  AttentionCache<float> cache(good, 3);
  RowMatrixX<float> o1(1, 4 * 3);
  EXPECT_INVALID_ARGUMENT(cache.attend(cpu, {q.data(), 1, 4 * d, 4 * d, Memory::Host}, rows_view(o1)), "cache");
  EXPECT_INVALID_ARGUMENT(cache.append(cpu, {k.data(), 2, 2 * d, 2 * d, Memory::Host}, {v.data(), 1, 6, 6, Memory::Host}),
                          "values");  // 1 value row for 2 keys
  EXPECT_INVALID_ARGUMENT(cache.append(cpu, {k.data(), 1, d, d, Memory::Host}, {v.data(), 1, 6, 6, Memory::Host}),
                          "keys");
  k(1, 0) = std::numeric_limits<float>::quiet_NaN();
  EXPECT_INVALID_ARGUMENT(cache.append(cpu, {k.data(), 2, 2 * d, 2 * d, Memory::Host}, {v.data(), 2, 6, 6, Memory::Host}),
                          "keys[1]");
  EXPECT_EQ(cache.size(), 0);  // a rejected append leaves the cache unchanged
  EXPECT_EQ(cache.bytes(), 0u);
  k(1, 0) = 1;
  cache.append(cpu, {k.data(), 2, 2 * d, 2 * d, Memory::Host}, {v.data(), 2, 6, 6, Memory::Host});
  EXPECT_INVALID_ARGUMENT(cache.attend(cpu, {q.data(), 1, 2 * d, 2 * d, Memory::Host}, rows_view(o1)), "query");
  EXPECT_INVALID_ARGUMENT(cache.attend(cpu, {q.data(), 2, 4 * d, 4 * d, Memory::Host}, rows_view(o1)), "query");
  EXPECT_INVALID_ARGUMENT(cache.attend(cpu, {q.data(), 1, 4 * d, 4 * d, Memory::Host}, {o1.data(), 1, 6, 12, Memory::Host}),
                          "out");
  q(0, 1) = std::numeric_limits<float>::quiet_NaN();
  EXPECT_INVALID_ARGUMENT(cache.attend(cpu, {q.data(), 1, 4 * d, 4 * d, Memory::Host}, rows_view(o1)), "query[0]");
}

}  // namespace
}  // namespace probspace::inference
