// CPU ↔ CUDA comparison of the fused attention (issue 8; docs/attention.md, "CUDA"): prefill for RoPE,
// ReRoPE (w < L and w ≥ L) and Leaky k = 2 with GQA (8 query heads over 2 kv heads), d = 64 (partial
// rotary, 32 channels) and 128, L ∈ {1, 63, 64, 65, 128, 129, 300, 1024}, with and without log-n†, both layouts,
// bfloat16-representable inputs stored as float32 and as bfloat16; decode after appends against the
// CPU cache (also groups of 1, 6, 8 and 16 query heads per kv head and a 1500-token cache); bad input
// on a CUDA context. Prints the max abs error of every case; skips without a device.
//
// Prefill tolerance (the criterion of flash-attention's own tests): the CUDA kernel rounds the rotated
// q (with its logit factor) and k to bfloat16 (relative 2^-8 each: a logit error ~2^-8·|q̃|·|k̃|), and
// the softmax weights P to bfloat16 before P·V (≤ 2^-8·max|v| on the output, since Σ p_j η_j v_j / Σ p_j
// with |η_j| ≤ 2^-8); everything else is float32, as the CPU path. A host emulation that commits
// exactly these roundings (bf16_emulation) measures how far they move the output from the CPU's float32
// result on the same data, e_emul; the kernel must stay within 2·e_emul, plus a floor for float32
// summation order (4(L + 8)·2^-24·max|v|, the CPU bound's term) and, for bfloat16 outputs, the output
// rounding 2^-8·max|out|. For inputs of order 1 e_emul is ~1e-2 relative; a wrong select, mask, head
// or layout moves outputs by O(0.1–1) and fails by a wide margin.
#include <probspace/inference/attention.hpp>
#include <probspace/inference/eigen_view.hpp>
#include <probspace/rope/frequencies.hpp>
#include <probspace/rope/log_n.hpp>

#include "../support/inference.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <type_traits>
#include <vector>

namespace probspace::inference {
namespace {

using rope::PositionScheme;

constexpr Index kQHeads = 8, kKvHeads = 2;
constexpr double kUnit = 0x1p-24, kBf16Unit = 0x1p-8;

/// d = 64 rotates 32 channels only (pass-through channels), d = 128 all of them.
AttentionConfig config_for(const PositionScheme& scheme, Index d, Index log_n, rope::Layout layout, Index q_heads = kQHeads,
                           Index kv_heads = kKvHeads) {
  const Index rotary = d == 64 ? 32 : d;
  return {scheme, rope::RotaryEmbedding(rope::default_inv_freq(rotary, 1e4), layout, d), q_heads, kv_heads, log_n};
}

RowMatrixX<float> bf16_rounded(const RowMatrixX<float>& x) {
  return testing::widened(testing::stored_as<bfloat16>(x), x.rows(), x.cols());
}

/// x [rows, cols] of storage T in device memory.
template <class T> struct OnDevice {
  DeviceBuffer<T> buffer;
  Index rows, cols;
  explicit OnDevice(const RowMatrixX<float>& x) : buffer(x.size()), rows(x.rows()), cols(x.cols()) {
    const std::vector<T> host = testing::stored_as<T>(x);
    buffer.copy_from_host(host.data(), x.size());
  }
  explicit OnDevice(Index rows_, Index cols_) : buffer(rows_ * cols_), rows(rows_), cols(cols_) {}
  RowsView<T> view() const { return buffer.rows(rows, cols); }
  /// The columns from 1 on (a stored first column of zeros added by `shifted`): a view whose data is
  /// not 16-byte aligned and whose stride is odd.
  RowsView<T> shifted_view() const {
    RowsView<T> v = buffer.rows(rows, cols);
    v.data += 1, v.cols -= 1;
    return v;
  }
  static OnDevice shifted(const RowMatrixX<float>& x) {
    RowMatrixX<float> padded = RowMatrixX<float>::Zero(x.rows(), x.cols() + 1);
    padded.rightCols(x.cols()) = x;
    return OnDevice(padded);
  }
  RowMatrixX<float> to_host() const {
    std::vector<T> host(std::size_t(rows * cols));
    buffer.copy_to_host(host.data(), rows * cols);
    RowMatrixX<float> x(rows, cols);
    for (Index i = 0; i < x.size(); ++i) x.data()[i] = to_float(host[std::size_t(i)]);
    return x;
  }
};

/// The CUDA kernel's roundings on the host: q·f_i (f_i = logit scale · log-n†, in float as the CPU
/// path) and k rotated in float by rope::rotate, rounded to bfloat16; scores in float with the select
/// of spec §6.2 and the causal mask; P = exp(s − max) rounded to bfloat16 for P·V, divided by the float
/// sum of the unrounded P.
RowMatrixX<float> bf16_emulation(const RowMatrixX<float>& q, const RowMatrixX<float>& k, const RowMatrixX<float>& v,
                                 const AttentionConfig& c) {
  const Index length = q.rows(), d = c.head_dim(), group = c.group_size();
  const PositionScheme& scheme = c.scheme;
  const double logit_scale = c.head_spec().logit_scale();
  const auto rotated = [&](RowMatrixX<float> x, auto&& position, bool is_query) {
    Eigen::VectorXd positions(length);
    for (Index i = 0; i < length; ++i) {
      positions[i] = position(i);
      const double log_n = c.log_n_train_length > 0 ? rope::log_n_dagger(i, c.log_n_train_length) : 1.0;
      if (is_query) x.row(i) *= static_cast<float>(logit_scale * log_n);
    }
    rope::rotate(x, positions, c.rope);
    return bf16_rounded(x);
  };
  const auto p1 = [&](Index i) { return scheme.pass1_position(i); };
  const RowMatrixX<float> q1 = rotated(q, p1, true), k1 = rotated(k, p1, false);
  RowMatrixX<float> q2, k2;
  if (scheme.two_pass()) {
    q2 = rotated(q, [&](Index i) { return scheme.pass2_query_position(i); }, true);
    k2 = rotated(k, [&](Index j) { return scheme.pass2_key_position(j); }, false);
  }
  RowMatrixX<float> out(length, c.q_heads * d);
  for (Index h = 0; h < c.q_heads; ++h) {
    const Index g = h / group;
    RowMatrixX<float> s = q1.middleCols(h * d, d) * k1.middleCols(g * d, d).transpose();
    RowMatrixX<float> s2;
    if (scheme.two_pass()) s2 = q2.middleCols(h * d, d) * k2.middleCols(g * d, d).transpose();
    RowMatrixX<float> p = RowMatrixX<float>::Zero(length, length);
    Eigen::VectorXf sums(length);
    for (Index i = 0; i < length; ++i) {
      for (Index j = 0; j <= i; ++j)
        if (scheme.two_pass() && i - j >= scheme.window) s(i, j) = s2(i, j);
      const float m = s.row(i).head(i + 1).maxCoeff();
      for (Index j = 0; j <= i; ++j) p(i, j) = std::exp(s(i, j) - m);
      sums[i] = p.row(i).sum();
    }
    out.middleCols(h * d, d) = (sums.cwiseInverse().asDiagonal() * (bf16_rounded(p) * v.middleCols(g * d, d))).eval();
  }
  return out;
}

double max_abs(const RowMatrixX<float>& a, const RowMatrixX<float>& b) {
  return a.allFinite() ? double((a - b).cwiseAbs().maxCoeff()) : std::numeric_limits<double>::infinity();
}

/// Prefill of one configuration: the CUDA backend (float32 and bfloat16 storage) against the CPU's float32.
/// `shifted`: q, k and v through views with odd strides and data off 16-byte alignment.
void compare_prefill(const PositionScheme& scheme, Index length, Index d, Index log_n, rope::Layout layout,
                     std::uint64_t seed, bool shifted = false) {
  const AttentionConfig c = config_for(scheme, d, log_n, layout);
  const RowMatrixX<float> q = bf16_rounded(testing::normal_rows(length, kQHeads * d, seed, 1.0)),
                          k = bf16_rounded(testing::normal_rows(length, kKvHeads * d, seed + 1, 1.0)),
                          v = bf16_rounded(testing::normal_rows(length, kKvHeads * d, seed + 2, 1.0));
  Context cpu(Device::Cpu), gpu(Device::Cuda);
  RowMatrixX<float> want(length, kQHeads * d);
  attention_prefill<float>(cpu, rows_view(q), rows_view(k), rows_view(v), rows_view(want), c);
  const double emulation = max_abs(bf16_emulation(q, k, v, c), want);
  const double max_v = double(v.cwiseAbs().maxCoeff()), max_out = double(want.cwiseAbs().maxCoeff());
  const double floor = 4 * double(length + 8) * kUnit * max_v;
  const auto run = [&](auto storage) {
    using T = decltype(storage);
    const OnDevice<T> out(length, kQHeads * d);
    if (shifted) {
      const auto qd = OnDevice<T>::shifted(q), kd = OnDevice<T>::shifted(k), vd = OnDevice<T>::shifted(v);
      attention_prefill<T>(gpu, qd.shifted_view(), kd.shifted_view(), vd.shifted_view(), out.view(), c);
    } else {
      const OnDevice<T> qd(q), kd(k), vd(v);
      attention_prefill<T>(gpu, qd.view(), kd.view(), vd.view(), out.view(), c);
    }
    const double err = max_abs(out.to_host(), want);
    const double allowed = 2 * emulation + floor + (std::is_same_v<T, bfloat16> ? kBf16Unit * max_out : 0.0);
    std::printf("  prefill %-14s L=%5ld d=%3ld log-n %2ld %-11s %-8s max abs err %.3e (bf16 emulation %.3e, allowed %.3e)\n",
                scheme.name().c_str(), long(length), long(d), long(log_n), std::string(rope::to_string(layout)).c_str(),
                std::is_same_v<T, float> ? "float32" : "bfloat16", err, emulation, allowed);
    EXPECT_LE(err, allowed) << scheme.name() << " L = " << length << " d = " << d << " log-n " << log_n;
  };
  run(float{});
  run(bfloat16{});
}

TEST(CudaAttention, PrefillMatchesTheCpuBackend) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device (or CUDA not compiled in)";
  std::uint64_t seed = 80;
  int cases = 0;
  for (const Index length : {Index(1), Index(63), Index(64), Index(65), Index(128), Index(129), Index(300), Index(1024)}) {
    const Index w = std::max<Index>(1, length / 3);  // tiles wholly inside, wholly outside and across the band
    for (const auto& scheme : {PositionScheme::rope(), PositionScheme::rerope(w), PositionScheme::rerope(2 * length),
                               PositionScheme::leaky(w, 2)})
      for (const Index d : {Index(64), Index(128)})
        for (const Index log_n : {Index(0), Index(16)}) {
          const auto layout = cases % 2 == 0 ? rope::Layout::Half : rope::Layout::Interleaved;
          compare_prefill(scheme, length, d, log_n, layout, seed += 3);
          ++cases;
        }
  }
  EXPECT_EQ(cases, 8 * 4 * 2 * 2);
}

TEST(CudaAttention, PrefillOnUnalignedViews) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device (or CUDA not compiled in)";
  std::uint64_t seed = 700;
  for (const auto layout : {rope::Layout::Half, rope::Layout::Interleaved})
    for (const Index d : {Index(64), Index(128)})  // d = 64: 32 rotary channels, 32 passed through
      for (const auto& scheme : {PositionScheme::rope(), PositionScheme::rerope(40), PositionScheme::leaky(40, 2)})
        compare_prefill(scheme, 129, d, 16, layout, seed += 3, true);
}

TEST(CudaAttention, PrefillWindowsOnTileEdges) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device (or CUDA not compiled in)";
  // w a multiple of the 16-row warp blocks and the 32- or 64-key tiles: a tile's or a warp's range
  // ends exactly on the band i − j = w, where the near/far decisions must still read loaded tiles.
  std::uint64_t seed = 500;
  for (const Index w : {Index(16), Index(32), Index(64), Index(96), Index(128)})
    for (const auto& scheme : {PositionScheme::rerope(w), PositionScheme::leaky(w, 2)})
      compare_prefill(scheme, 300, 128, 0, rope::Layout::Half, seed += 3);
}

TEST(CudaAttention, PrefillOnTheMmaSyncKernel) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device (or CUDA not compiled in)";
  // On Hopper the prefill runs the wgmma kernel; PROBSPACE_ATTENTION_KERNEL=mma.sync selects the kernel
  // every other device runs, checked here on the same cases' shapes.
  struct Select {
    Select() { setenv("PROBSPACE_ATTENTION_KERNEL", "mma.sync", 1); }
    ~Select() { unsetenv("PROBSPACE_ATTENTION_KERNEL"); }
  } select;
  std::uint64_t seed = 900;
  for (const Index length : {Index(65), Index(300), Index(1024)}) {
    const Index w = std::max<Index>(1, length / 3);
    for (const auto& scheme : {PositionScheme::rope(), PositionScheme::rerope(w), PositionScheme::leaky(w, 2)})
      for (const Index d : {Index(64), Index(128)}) compare_prefill(scheme, length, d, 16, rope::Layout::Half, seed += 3);
  }
}

/// The heads and appends of a decode comparison: `length` tokens, appended one by one except 5 at
/// token 3 and `bulk` at token 8.
struct DecodeCase {
  Index q_heads = kQHeads, kv_heads = kKvHeads, length = 300, bulk = 1;
};

/// Decode: a CPU and a CUDA cache fed the same appends (multi-row ones, growth past capacity 16 and the
/// 256-key decode chunks); each step's CUDA output against the CPU's. Both caches round the rotated keys
/// to T the same way (float32 rotation of the same values), so they differ by float32 summation order,
/// __expf and rare one-ulp key differences that flip a bfloat16 rounding: the CPU test's bound with both
/// sides' float32 terms, (e^{2Δ} − 1 + 4(L + 8)·2^-24 + 2^-18)·max|v| with Δ = (d + 8)·2^-24·s·max‖q‖·max‖k‖,
/// plus for bfloat16 the one-rounding key bound 2^-8·s·max‖q‖·max‖k‖ in Δ and both outputs' rounding.
template <class T>
void compare_decode(const PositionScheme& scheme, Index d, Index log_n, std::uint64_t seed, const DecodeCase& shape = {}) {
  const Index length = shape.length, hq = shape.q_heads, hk = shape.kv_heads;
  const AttentionConfig c = config_for(scheme, d, log_n, rope::Layout::Half, hq, hk);
  const RowMatrixX<float> q = bf16_rounded(testing::normal_rows(length, hq * d, seed, 1.0)),
                          k = bf16_rounded(testing::normal_rows(length, hk * d, seed + 1, 1.0)),
                          v = bf16_rounded(testing::normal_rows(length, hk * d, seed + 2, 1.0));
  const auto norm = [d](const RowMatrixX<float>& x) {
    const RowMatrixX<double> wide = x.cast<double>();
    return wide.reshaped<Eigen::RowMajor>(wide.size() / d, d).rowwise().norm().maxCoeff();
  };
  double s = c.head_spec().logit_scale();
  if (log_n > 0) s *= rope::log_n_dagger(length - 1, log_n);
  const bool bf16 = std::is_same_v<T, bfloat16>;
  const double delta = (2 * double(d + 8) * kUnit + (bf16 ? kBf16Unit : 0.0)) * s * norm(q) * norm(k);
  const double max_v = double(v.cwiseAbs().maxCoeff());
  const double tol = max_v * (std::expm1(2 * delta) + 4 * double(length + 8) * kUnit + 0x1p-18) +
                     (bf16 ? 2 * kBf16Unit * max_v : 0.0);

  Context cpu(Device::Cpu), gpu(Device::Cuda);
  AttentionCache<T> host_cache(c, d, 16), device_cache(c, d, 16, Device::Cuda);
  const std::vector<T> qs = testing::stored_as<T>(q), ks = testing::stored_as<T>(k), vs = testing::stored_as<T>(v);
  const OnDevice<T> qd(q), kd(k), vd(v), out_d(1, hq * d);
  std::vector<T> out_h(std::size_t(hq * d));
  const auto row = [](const auto& view, Index first, Index n) {
    auto r = view;
    r.data += first * r.stride;
    r.rows = n;
    return r;
  };
  double worst = 0;
  for (Index i = 0; i < length;) {
    const Index n = i == 3 ? 5 : i == 8 ? shape.bulk : 1;
    host_cache.append(cpu, {ks.data() + i * k.cols(), n, k.cols(), k.cols(), Memory::Host},
                      {vs.data() + i * v.cols(), n, v.cols(), v.cols(), Memory::Host});
    device_cache.append(gpu, RowsView<const T>(row(kd.view(), i, n)), RowsView<const T>(row(vd.view(), i, n)));
    i += n;
    ASSERT_EQ(device_cache.size(), i);
    host_cache.attend(cpu, {qs.data() + (i - 1) * q.cols(), 1, q.cols(), q.cols(), Memory::Host},
                      {out_h.data(), 1, hq * d, hq * d, Memory::Host});
    device_cache.attend(gpu, RowsView<const T>(row(qd.view(), i - 1, 1)), out_d.view());
    const RowMatrixX<float> got = out_d.to_host();
    for (Index e = 0; e < got.size(); ++e) {
      const double diff = std::abs(double(got.data()[e]) - double(to_float(out_h[std::size_t(e)])));
      worst = std::isfinite(diff) ? std::max(worst, diff) : std::numeric_limits<double>::infinity();
    }
  }
  std::printf("  decode  %-14s d=%3ld log-n %2ld %-8s heads %2ld/%ld, %4ld tokens: max abs diff to the CPU cache %.3e "
              "(allowed %.3e)\n",
              scheme.name().c_str(), long(d), long(log_n), bf16 ? "bfloat16" : "float32", long(hq), long(hk), long(length),
              worst, tol);
  EXPECT_LE(worst, tol) << scheme.name() << " d = " << d << " log-n " << log_n;
  EXPECT_EQ(device_cache.bytes(), host_cache.bytes());
}

TEST(CudaAttention, DecodeMatchesTheCpuCache) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device (or CUDA not compiled in)";
  std::uint64_t seed = 800;
  for (const auto& scheme : {PositionScheme::rope(), PositionScheme::rerope(40), PositionScheme::leaky(40, 2)})
    for (const Index d : {Index(64), Index(128)})
      for (const Index log_n : {Index(0), Index(16)}) {
        compare_decode<float>(scheme, d, log_n, seed += 3);
        compare_decode<bfloat16>(scheme, d, log_n, seed += 3);
      }
}

/// The decode kernel's other block shapes: group 1, 8 (all heads of a kv head in one block), 6 and 16
/// (several blocks per kv head), and a cache of 1500 tokens (1200 appended at once: six 256-key chunks,
/// the last partial, and the pass-1/pass-2 split inside a chunk).
TEST(CudaAttention, DecodeGroupsAndLongCaches) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device (or CUDA not compiled in)";
  std::uint64_t seed = 900;
  const DecodeCase cases[] = {{2, 2, 300, 1}, {16, 2, 300, 1}, {12, 2, 300, 1}, {16, 1, 300, 1}, {kQHeads, kKvHeads, 1500, 1200}};
  for (const auto& scheme : {PositionScheme::rope(), PositionScheme::rerope(40)})
    for (const Index d : {Index(64), Index(128)})
      for (const DecodeCase& shape : cases) {
        compare_decode<float>(scheme, d, 0, seed += 3, shape);
        compare_decode<bfloat16>(scheme, d, 0, seed += 3, shape);
      }
}

TEST(CudaAttention, BadInputNamesTheArgument) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device (or CUDA not compiled in)";
  Context gpu(Device::Cuda), cpu(Device::Cpu);
  const Index length = 70, d = 64;
  const AttentionConfig good = config_for(PositionScheme::rerope(8), d, 0, rope::Layout::Half);
  RowMatrixX<float> q = testing::normal_rows(length, kQHeads * d, 1, 1.0), k = testing::normal_rows(length, kKvHeads * d, 2, 1.0),
                    v = testing::normal_rows(length, kKvHeads * d, 3, 1.0);
  OnDevice<float> out(length, kQHeads * d);
  const auto prefill = [&](const AttentionConfig& c) {
    const OnDevice<float> qd(q), kd(k), vd(v);
    attention_prefill<float>(gpu, qd.view(), kd.view(), vd.view(), out.view(), c);
  };
  EXPECT_NO_THROW(prefill(good));
  {
    // d = 32: valid on the CPU, not a CUDA kernel size; dv = 16 ≠ d = 64.
    const AttentionConfig small{good.scheme, rope::RotaryEmbedding(rope::default_inv_freq(32, 1e4), rope::Layout::Half), 4, 2};
    const OnDevice<float> q32(testing::normal_rows(4, 4 * 32, 4, 1.0)), k32(testing::normal_rows(4, 2 * 32, 5, 1.0)),
        o32(4, 4 * 32);
    EXPECT_INVALID_ARGUMENT(attention_prefill<float>(gpu, q32.view(), k32.view(), k32.view(), o32.view(), small),
                            "rope.head_dim");
    const OnDevice<float> q64(testing::normal_rows(4, kQHeads * d, 7, 1.0)), k64(testing::normal_rows(4, kKvHeads * d, 8, 1.0)),
        v16(testing::normal_rows(4, kKvHeads * 16, 9, 1.0)), o16(4, kQHeads * 16);
    EXPECT_INVALID_ARGUMENT(attention_prefill<float>(gpu, q64.view(), k64.view(), v16.view(), o16.view(), good), "v");
  }
  EXPECT_INVALID_ARGUMENT(attention_prefill<float>(gpu, rows_view(q), rows_view(k), rows_view(v), out.view(), good), "q");
  k(3, 5) = std::numeric_limits<float>::quiet_NaN();
  EXPECT_INVALID_ARGUMENT(prefill(good), "k[3]");
  k(3, 5) = 1;
  v(69, 0) = std::numeric_limits<float>::infinity();
  EXPECT_INVALID_ARGUMENT(prefill(good), "v[69]");
  v(69, 0) = 1;
  q(0, 0) = -std::numeric_limits<float>::infinity();
  EXPECT_INVALID_ARGUMENT(prefill(good), "q[0]");
  q(0, 0) = 1;

  EXPECT_INVALID_ARGUMENT(AttentionCache<float>(good, 32, 0, Device::Cuda), "value_dim");
  AttentionCache<float> cache(good, d, 0, Device::Cuda);
  const OnDevice<float> kd(k), vd(v), qd(q), o1(1, kQHeads * d);
  const auto rows = [](RowsView<float> view, Index n) {
    view.rows = n;
    return RowsView<const float>(view);
  };
  EXPECT_INVALID_ARGUMENT(cache.append(cpu, {k.data(), 1, kKvHeads * d, kKvHeads * d, Memory::Host},
                                       {v.data(), 1, kKvHeads * d, kKvHeads * d, Memory::Host}),
                          "context");
  EXPECT_INVALID_ARGUMENT(cache.attend(gpu, rows(qd.view(), 1), o1.view()), "cache");
  v(1, 2) = std::numeric_limits<float>::quiet_NaN();
  {
    const OnDevice<float> bad_v(v);
    EXPECT_INVALID_ARGUMENT(cache.append(gpu, rows(kd.view(), 2), rows(bad_v.view(), 2)), "values[1]");
  }
  v(1, 2) = 1;
  EXPECT_EQ(cache.size(), 0);  // a rejected append leaves the cache unchanged
  cache.append(gpu, rows(kd.view(), 2), rows(vd.view(), 2));
  EXPECT_EQ(cache.size(), 2);
  q(0, 1) = std::numeric_limits<float>::quiet_NaN();
  const OnDevice<float> bad_q(q);
  EXPECT_INVALID_ARGUMENT(cache.attend(gpu, rows(bad_q.view(), 1), o1.view()), "query[0]");
}

}  // namespace
}  // namespace probspace::inference
