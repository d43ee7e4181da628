// CPU ↔ CUDA comparison of the batched NBCE step: the same selections, nuclei (the −inf pattern of
// the merged row) and, within float32 rounding, entropies and log-probs, over several steps, for
// every truncation and pooling, float32 and bfloat16, including rows whose crossing bin overflows
// the shared buffer (ties over the row chunks), a top-p cut inside a tie spread over the row chunks
// (among the first 1024 sorted keys and past them), pools listing rows over several warps, steps
// after one that reported an invalid row, tail chunks of one access per thread (rows 0 and the
// previous selection loaded before the wait) or more, its fallback (more rows per sequence than its
// shared pool) and more sequences than resident blocks, rows of few finite tokens, rows spread over ~120 nats (the crossing in the last level-1
// bin), and NaN, +inf and all-masked rows reported. A token within float32 rounding of a row's
// top-p boundary may be decided either way (its merged support or its §4 branch), and so may a row's
// cut within float32 rounding of a prefix's mass (its entropy); such tokens and rows are counted
// apart. Skips without a CUDA device.
#include <probspace/inference/eigen_view.hpp>
#include <probspace/inference/nbce_batch.hpp>

#include "../support/inference.hpp"

#include <algorithm>
#include <functional>

namespace probspace::inference {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

/// keep_every > 1: only every keep_every-th token of each row is finite (top-k beyond a row's finite
/// tokens; chunks, threads and load groups that see no finite logit); sigma: the logits' spread.
RowMatrixX<float> logits(Index rows, Index vocab, std::uint64_t seed, bool ties, Index keep_every = 1, double sigma = 2.5) {
  RowMatrixX<float> z = probspace::testing::normal_rows(rows, vocab, seed, sigma);
  z(0, 1) = -kInf;
  for (Index v = 0; v < vocab && keep_every > 1; ++v)
    if (v % keep_every != 0) z.col(v).setConstant(-kInf);
  if (ties) {
    z.row(1).setConstant(0.0f);  // every token tied: the refinement reaches the index bits
    for (Index v = 0; v < vocab; v += 3) z(2, v) = 1.0f;  // a third tied at the top
    z.row(3).setConstant(0.0f);  // the top-p cut inside a tie of every 37th token, spread over the
    for (Index v = 0; v < vocab; v += 37) z(3, v) = 8.0f;  // row chunks, within the shared buffer
    z.row(4).setConstant(0.0f);  // the same with every 19th token: the cut past the first 1024 keys
    for (Index v = 0; v < vocab; v += 19) z(4, v) = 8.0f;  // (two groups of the block's scan)
  }
  return z;
}

/// |mass before token t − top_p| in a row (double; tokens ranked by value, ties by index): how close
/// t sits to the top-p boundary, where float32 sums in another order may decide either way.
double boundary_distance(const float* z, Index vocab, Index t, double top_p) {
  const double max = *std::max_element(z, z + vocab);
  double sum = 0, before = 0;
  for (Index u = 0; u < vocab; ++u) {
    const double e = std::exp(double(z[u]) - max);
    sum += e;
    if (z[u] > z[t] || (z[u] == z[t] && u < t)) before += e;
  }
  return std::abs(before / sum - top_p);
}

/// Whether a row's top-p cut lies within float32 rounding (1e-6) of the mass of a prefix of its
/// ranked tokens (double): sums in another order may then keep one token more or fewer, which moves
/// the row's nucleus entropy (by up to ~1e-3 at V = 5000) without changing any merged log-prob.
bool cut_ambiguous(std::vector<float> z, double top_p) {
  std::sort(z.begin(), z.end(), std::greater<>());
  double sum = 0;
  for (const float x : z) sum += std::exp(double(x) - double(z[0]));
  double before = 0;
  for (const float x : z) {
    if (std::abs(before / sum - top_p) <= 1e-6) return true;
    before += std::exp(double(x) - double(z[0]));
  }
  return false;
}

/// bad_row ≥ 0: a first CUDA step with NaN in that row must report it; then both sides reset.
/// repeat: the same logits at every step (a min-entropy selection that stays, as in decoding).
template <class In>
void compare(nbce::Pooling pooling, nbce::Truncation truncation, Index batch, Index rows, Index vocab, bool ties,
             Index bad_row = -1, Index keep_every = 1, bool repeat = false, double sigma = 2.5) {
  nbce::Options o;
  o.pooling = pooling;
  o.truncation = truncation;
  o.empty_support = nbce::EmptySupport::Report;
  Context cpu(Device::Cpu), gpu(Device::Cuda);
  NbceBatch on_cpu(cpu, o, batch, rows, vocab), on_gpu(gpu, o, batch, rows, vocab);
  DeviceBuffer<In> zd(batch * rows * vocab);
  DeviceBuffer<float> lpd(batch * vocab), ed(batch * rows);
  DeviceBuffer<std::int32_t> sd(batch);
  if (bad_row >= 0) {  // the kernels count a reported row towards its sequence's pool all the same
    RowMatrixX<float> z = logits(batch * rows, vocab, 7, ties);
    z(bad_row, 0) = std::nanf("");
    const std::vector<In> host = probspace::testing::stored_as<In>(z);
    zd.copy_from_host(host.data(), batch * rows * vocab);
    EXPECT_INVALID_ARGUMENT(on_gpu.step<In>(zd.rows(batch * rows, vocab), lpd.rows(batch, vocab), sd.data(), ed.data()),
                            "logits[" + std::to_string(bad_row) + "]");
    on_gpu.reset();
  }
  double worst_lp = 0, worst_h = 0;
  Index pattern_differs = 0, boundary_flips = 0, worst_at = -1, far_off = 0;
  float worst_got = 0, worst_want = 0;
  for (int t = 0; t < 3; ++t) {
    const std::uint64_t seed = std::uint64_t(1000 * (repeat ? 0 : t) + vocab + rows);
    const RowMatrixX<float> z = logits(batch * rows, vocab, seed, ties, keep_every, sigma);
    const std::vector<In> host = probspace::testing::stored_as<In>(z);
    RowMatrixX<float> want(batch, vocab), got(batch, vocab);
    std::vector<std::int32_t> sel_want(batch), sel_got(batch);
    std::vector<float> h_want(std::size_t(batch * rows)), h_got(std::size_t(batch * rows));
    on_cpu.step<In>({host.data(), batch * rows, vocab, vocab, Memory::Host}, rows_view(want), sel_want.data(), h_want.data());
    zd.copy_from_host(host.data(), batch * rows * vocab);
    on_gpu.step<In>(zd.rows(batch * rows, vocab), lpd.rows(batch, vocab), sd.data(), ed.data());
    lpd.copy_to_host(got.data(), batch * vocab);
    sd.copy_to_host(sel_got.data(), batch);
    ed.copy_to_host(h_got.data(), batch * rows);
    EXPECT_EQ(sel_got, sel_want) << "step " << t;
    const auto row_of = [&](Index r) {  // row r of the logits as the kernels read them
      std::vector<float> row(static_cast<std::size_t>(vocab));
      for (Index v = 0; v < vocab; ++v) {
        const In x = host[std::size_t(r * vocab + v)];
        if constexpr (std::is_same_v<In, float>) row[std::size_t(v)] = x;
        else row[std::size_t(v)] = to_float(x);
      }
      return row;
    };
    for (std::size_t i = 0; i < h_want.size(); ++i) {
      const double d = std::abs(double(h_got[i]) - double(h_want[i]));
      // A row whose top-p cut is ambiguous in float32: counted as a flip, not an error.
      if (d >= 2e-4 && truncation.kind == nbce::Truncation::Kind::TopP && cut_ambiguous(row_of(Index(i)), truncation.top_p)) {
        ++boundary_flips;
        continue;
      }
      worst_h = std::max(worst_h, d);
    }
    // Whether token i of the merged rows lies within float32 rounding (1e-6) of some row's top-p
    // boundary, where sums in another order may decide either way.
    const auto at_boundary = [&](Index i) {
      const Index b_seq = i / vocab, token = i % vocab;
      bool near = false;
      for (Index r = 0; r < rows && truncation.kind == nbce::Truncation::Kind::TopP && !near; ++r)
        near = boundary_distance(row_of(b_seq * rows + r).data(), vocab, token, truncation.top_p) <= 1e-6;
      return near;
    };
    for (Index i = 0; i < want.size(); ++i) {
      const float a = got.data()[i], b = want.data()[i];
      if ((a == -kInf) != (b == -kInf)) {  // the merged support differs: allowed only at a boundary
        (at_boundary(i) ? boundary_flips : pattern_differs) += 1;
        continue;
      }
      if (b != -kInf) {
        const double d = std::abs(double(a) - double(b));
        // A boundary token of row 0 (or of a pooled row under a sum) flips its branch of §4 without
        // changing the merged support: y moves by β·(l_k − l_0); counted as a flip, not an error.
        if (d >= 2e-4 && at_boundary(i)) {
          ++boundary_flips;
          continue;
        }
        if (d > worst_lp) worst_lp = d, worst_at = i, worst_got = a, worst_want = b;
        far_off += d > 1e-3 ? 1 : 0;
      }
    }
  }
  std::printf("  %-11s %-8s k/p %-6g %-9s [%ld x %ld, %ld]%s%s%s%s  max abs log-prob %.2e, entropy %.2e, support differs %ld (+%ld at the boundary)\n",
              pooling == nbce::Pooling::MinEntropy ? "min-entropy" : pooling == nbce::Pooling::Average ? "average"
                                                   : pooling == nbce::Pooling::Max ? "max" : "soft",
              truncation.kind == nbce::Truncation::Kind::None ? "none" : truncation.kind == nbce::Truncation::Kind::TopP ? "top-p" : "top-k",
              truncation.kind == nbce::Truncation::Kind::TopK ? double(truncation.top_k) : truncation.top_p,
              std::is_same_v<In, float> ? "float32" : "bfloat16", long(batch), long(rows), long(vocab), ties ? " ties" : "", bad_row >= 0 ? " after a bad row" : "",
              keep_every > 1 ? " sparse" : repeat ? " repeated" : "", sigma != 2.5 ? " wide" : "",
              worst_lp, worst_h, long(pattern_differs), long(boundary_flips));
  EXPECT_EQ(pattern_differs, 0);
  EXPECT_LT(worst_lp, 2e-4);  // log-probs up to ~30 in magnitude, float32 sums in another order
  if (worst_lp >= 2e-4)
    std::printf("    worst log-prob at token %ld: %.6g vs the CPU's %.6g; %ld log-probs off by > 1e-3\n", long(worst_at),
                double(worst_got), double(worst_want), long(far_off));
  EXPECT_LT(worst_h, 2e-4);
}

TEST(CudaNbce, BatchedStepMatchesTheCpuBackend) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device (or CUDA not compiled in)";
  using nbce::Pooling;
  using nbce::Truncation;
  for (const auto pooling : {Pooling::MinEntropy, Pooling::Average, Pooling::SoftEntropy, Pooling::Max})
    for (const auto truncation : {Truncation::None(), Truncation::TopP(0.95), Truncation::TopP(0.5), Truncation::TopK(50)}) {
      compare<float>(pooling, truncation, 2, 5, 1000, false);
      compare<bfloat16>(pooling, truncation, 2, 5, 1000, false);
    }
  compare<float>(Pooling::MinEntropy, Truncation::TopP(0.95), 1, 65, 152064, false);
  compare<bfloat16>(Pooling::MinEntropy, Truncation::TopP(0.95), 1, 65, 152064, false);
  compare<float>(Pooling::MinEntropy, Truncation::None(), 1, 257, 32000, false);
  // The same logits at every step: the min-entropy selection stays.
  compare<float>(Pooling::MinEntropy, Truncation::None(), 1, 257, 32000, false, -1, 1, true);
  compare<bfloat16>(Pooling::MinEntropy, Truncation::None(), 1, 257, 32000, false, -1, 1, true);
  compare<float>(Pooling::MinEntropy, Truncation::TopP(0.95), 1, 257, 32000, false, -1, 1, true);  // the tail's previous
  compare<float>(Pooling::MinEntropy, Truncation::TopP(0.9003), 3, 4, 32000, true);  // 0.9·32000 would tie
  compare<bfloat16>(Pooling::MinEntropy, Truncation::TopP(0.9003), 3, 4, 32000, true);
  compare<float>(Pooling::Average, Truncation::TopK(5000), 3, 4, 32000, true);
  compare<float>(Pooling::MinEntropy, Truncation::TopP(0.95), 2, 3, 4097, false);  // not a multiple of 8
  compare<float>(Pooling::MinEntropy, Truncation::None(), 2, 3, 4097, false);  // scalar loads, several per thread
  compare<bfloat16>(Pooling::MinEntropy, Truncation::None(), 2, 3, 4097, false);
  compare<float>(Pooling::MinEntropy, Truncation::None(), 2, 3, 509, false);  // scalar loads, one per thread: preloaded
  compare<bfloat16>(Pooling::MinEntropy, Truncation::None(), 2, 3, 509, false);
  // 16-byte loads, chunks of more than one access per thread (an H200's 264 resident blocks / 64
  // sequences: 4 chunks of 8192), without and with truncation. The truncated case is top-k:
  // with top-p here (192 rows of 32768) a row-0 boundary token decided the other way switches its
  // §4 branch and moves the sequence's normaliser, so every log-prob by up to 5.9e-4 on the H200
  // (docs/inference.md), which the per-token boundary allowance above does not cover.
  compare<float>(Pooling::SoftEntropy, Truncation::None(), 64, 3, 32768, false);
  compare<float>(Pooling::Average, Truncation::TopK(50), 64, 3, 32768, false);
  compare<bfloat16>(Pooling::MinEntropy, Truncation::None(), 64, 3, 32768, false);
  for (const auto truncation : {Truncation::None(), Truncation::TopP(0.95)})  // more rows than the tail's shared pool
    compare<float>(Pooling::Max, truncation, 1, 2100, 5000, false);
  for (const auto truncation : {Truncation::None(), Truncation::TopP(0.95)})  // more sequences than resident tail blocks
    compare<float>(Pooling::Average, truncation, 600, 3, 64, false);
  for (const auto pooling : {Pooling::Average, Pooling::SoftEntropy, Pooling::Max})  // 69 context rows: 3 warps
    for (const auto truncation : {Truncation::None(), Truncation::TopP(0.95)}) compare<float>(pooling, truncation, 2, 70, 3000, false);
  for (const auto truncation : {Truncation::None(), Truncation::TopP(0.95), Truncation::TopK(50)})
    compare<float>(Pooling::MinEntropy, truncation, 2, 3, 1000, false, 4);
  // 40 finite tokens of 1000 per row (top-k 50 keeps them all: its target is the finite count) and
  // of 32768 (whole load groups, threads and warps masked).
  for (const auto truncation : {Truncation::None(), Truncation::TopP(0.95), Truncation::TopK(50)}) {
    compare<float>(Pooling::Average, truncation, 2, 3, 1000, false, -1, 25);
    compare<bfloat16>(Pooling::Average, truncation, 2, 3, 1000, false, -1, 25);
  }
  compare<float>(Pooling::MinEntropy, Truncation::None(), 1, 3, 32768, false, -1, 800);
  // Logits spread over ~120 nats (sigma 20): top-k's crossing in the last level-1 bin (d ≥ 2047/64),
  // top-p's within a few tokens of the max.
  for (const auto truncation : {Truncation::TopK(500), Truncation::TopP(0.95)}) {
    compare<float>(Pooling::MinEntropy, truncation, 2, 3, 1000, false, -1, 1, false, 20.0);
    compare<bfloat16>(Pooling::Average, truncation, 2, 3, 32000, false, -1, 1, false, 20.0);
  }
  compare<float>(Pooling::MinEntropy, Truncation::TopK(50), 1, 3, 32768, false, -1, 800);
}

/// A step whose row 1 of 3 is spoiled by `spoil` reports logits[1] under every truncation.
template <class In> void expect_reported(const char* what, void (*spoil)(RowMatrixX<float>&)) {
  using nbce::Truncation;
  constexpr Index vocab = 32768;
  for (const auto truncation : {Truncation::None(), Truncation::TopP(0.9), Truncation::TopK(10)}) {
    SCOPED_TRACE(what);
    nbce::Options o;
    o.truncation = truncation;
    o.empty_support = nbce::EmptySupport::Report;
    Context gpu(Device::Cuda);
    NbceBatch step(gpu, o, 1, 3, vocab);
    RowMatrixX<float> z = logits(3, vocab, 5, false);
    spoil(z);
    const std::vector<In> host = probspace::testing::stored_as<In>(z);
    DeviceBuffer<In> zd(3 * vocab);
    DeviceBuffer<float> lp(vocab), h(3);
    DeviceBuffer<std::int32_t> sel(1);
    zd.copy_from_host(host.data(), 3 * vocab);
    EXPECT_INVALID_ARGUMENT(step.step<In>(zd.rows(3, vocab), lp.rows(1, vocab), sel.data(), h.data()), "logits[1]");
  }
}

// The input check of the one pass: NaN where a thread has seen only −inf so far (its load group's
// max would drop the NaN), +inf, a row of −inf only.
TEST(CudaNbce, EveryKindOfInvalidRowIsReported) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device (or CUDA not compiled in)";
  const auto nan_after_masked = [](RowMatrixX<float>& z) {
    z.row(1).head(16384).setConstant(-kInf);
    z(1, 5) = std::nanf("");
  };
  const auto plus_inf = [](RowMatrixX<float>& z) { z(1, 777) = kInf; };
  const auto all_masked = [](RowMatrixX<float>& z) { z.row(1).setConstant(-kInf); };
  expect_reported<float>("NaN after -inf", nan_after_masked);
  expect_reported<bfloat16>("NaN after -inf", nan_after_masked);
  expect_reported<float>("+inf", plus_inf);
  expect_reported<bfloat16>("+inf", plus_inf);
  expect_reported<float>("all -inf", all_masked);
  expect_reported<bfloat16>("all -inf", all_masked);
}

TEST(CudaNbce, InvalidRowsAreReportedByBatchIndex) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device (or CUDA not compiled in)";
  Context gpu(Device::Cuda);
  nbce::Options o;
  o.empty_support = nbce::EmptySupport::Report;
  NbceBatch step(gpu, o, 2, 3, 64);
  RowMatrixX<float> z = logits(6, 64, 1, false);
  z(4, 9) = std::nanf("");
  DeviceBuffer<float> zd(6 * 64), lp(2 * 64), h(6);
  DeviceBuffer<std::int32_t> sel(2);
  zd.copy_from_host(z.data(), 6 * 64);
  EXPECT_INVALID_ARGUMENT(step.step<float>(zd.rows(6, 64), lp.rows(2, 64), sel.data(), h.data()), "logits[4]");
  RowMatrixX<float> host(2, 64);
  EXPECT_INVALID_ARGUMENT(step.step<float>(zd.rows(6, 64), rows_view(host), sel.data(), h.data()), "log_probs");
}

}  // namespace
}  // namespace probspace::inference
