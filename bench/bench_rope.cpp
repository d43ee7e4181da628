// RoPE rotation throughput (issue 5): in-place rotation of q-like data [tokens=4096, heads=32, d=128]
// float from a cos/sin table, both layouts, in GB/s (bytes read + written), against a naive scalar
// loop over the same table in the same run; plus the table-free path that forms every angle in double.
#include <probspace/rope/rotation.hpp>

#include <benchmark/benchmark.h>

#include <random>

namespace {

using probspace::Index;
using probspace::RowMatrixX;
using namespace probspace::rope;

constexpr Index kTokens = 4096, kHeads = 32, kHeadDim = 128;

RowMatrixX<float> random_data() {
  RowMatrixX<float> x(kTokens, kHeads * kHeadDim);
  std::mt19937_64 rng(0);
  std::normal_distribution<float> normal;
  for (Index i = 0; i < x.size(); ++i) x.data()[i] = normal(rng);
  return x;
}

RotaryEmbedding rope_of(Layout layout) { return {default_inv_freq(kHeadDim, 1e4), layout, kHeadDim}; }

void set_rate(benchmark::State& state, Layout layout, const char* what) {
  state.SetLabel(std::string(what) + "/" + std::string(to_string(layout)));
  state.SetBytesProcessed(state.iterations() * kTokens * kHeads * kHeadDim * Index(2 * sizeof(float)));
}

void BM_RotateTable(benchmark::State& state) {
  const auto layout = static_cast<Layout>(state.range(0));
  const auto rope = rope_of(layout);
  const auto table = cos_sin_table<float>(rope, kTokens);
  RowMatrixX<float> x = random_data();
  for (auto _ : state) {
    rotate(x, table, 0, rope);
    benchmark::ClobberMemory();
  }
  set_rate(state, layout, "probspace table");
}

/// The in-run peer: one scalar loop over tokens, heads and pairs, indices computed per element.
void naive_rotate(float* x, const CosSinTable<float>& table, Layout layout) {
  const Index h = kHeadDim / 2;
  for (Index t = 0; t < kTokens; ++t)
    for (Index head = 0; head < kHeads; ++head)
      for (Index i = 0; i < h; ++i) {
        const Index base = (t * kHeads + head) * kHeadDim;
        const Index a = base + (layout == Layout::Half ? i : 2 * i);
        const Index b = base + (layout == Layout::Half ? i + h : 2 * i + 1);
        const float c = table.cos(t, i), s = table.sin(t, i), xa = x[a], xb = x[b];
        x[a] = xa * c - xb * s;
        x[b] = xa * s + xb * c;
      }
}

void BM_RotateNaive(benchmark::State& state) {
  const auto layout = static_cast<Layout>(state.range(0));
  const auto table = cos_sin_table<float>(rope_of(layout), kTokens);
  RowMatrixX<float> x = random_data();
  for (auto _ : state) {
    naive_rotate(x.data(), table, layout);
    benchmark::ClobberMemory();
  }
  set_rate(state, layout, "naive scalar loop");
}

void BM_RotatePositions(benchmark::State& state) {
  const auto layout = static_cast<Layout>(state.range(0));
  const auto rope = rope_of(layout);
  const Eigen::VectorXd positions = Eigen::VectorXd::LinSpaced(kTokens, 0, double(kTokens - 1));
  RowMatrixX<float> x = random_data();
  for (auto _ : state) {
    rotate(x, positions, rope);
    benchmark::ClobberMemory();
  }
  set_rate(state, layout, "probspace angles in double");
}

const auto kInterleaved = Index(Layout::Interleaved), kHalf = Index(Layout::Half);
BENCHMARK(BM_RotateTable)->Arg(kInterleaved)->Arg(kHalf)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_RotateNaive)->Arg(kInterleaved)->Arg(kHalf)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_RotatePositions)->Arg(kInterleaved)->Arg(kHalf)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
