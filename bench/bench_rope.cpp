// RoPE rotation throughput (issue 5): in-place rotation of q-like data [tokens, heads=32, d=128] float
// from a cos/sin table, both layouts, in GB/s (bytes read + written), against a naive scalar loop over
// the same table in the same run; plus the table-free path that forms every angle in double.
// tokens = 4096 (64 MiB, memory-bound) and 64 (1 MiB, cache-resident).
#include <probspace/rope/rotation.hpp>

#include <benchmark/benchmark.h>

#include <random>

namespace {

using probspace::Index;
using probspace::RowMatrixX;
using namespace probspace::rope;

constexpr Index kHeads = 32, kHeadDim = 128;

RowMatrixX<float> random_data(Index tokens) {
  RowMatrixX<float> x(tokens, kHeads * kHeadDim);
  std::mt19937_64 rng(0);
  std::normal_distribution<float> normal;
  for (Index i = 0; i < x.size(); ++i) x.data()[i] = normal(rng);
  return x;
}

RotaryEmbedding rope_of(Layout layout) { return {default_inv_freq(kHeadDim, 1e4), layout, kHeadDim}; }

void set_rate(benchmark::State& state, Layout layout, const char* what) {
  state.SetLabel(std::string(what) + "/" + std::string(to_string(layout)));
  state.SetBytesProcessed(state.iterations() * state.range(1) * kHeads * kHeadDim * Index(2 * sizeof(float)));
}

void BM_RotateTable(benchmark::State& state) {
  const auto layout = static_cast<Layout>(state.range(0));
  const Index tokens = state.range(1);
  const auto rope = rope_of(layout);
  const auto table = cos_sin_table<float>(rope, tokens);
  RowMatrixX<float> x = random_data(tokens);
  for (auto _ : state) {
    rotate(x, table, 0, rope);
    benchmark::ClobberMemory();
  }
  set_rate(state, layout, "probspace table");
}

/// The in-run peer: one scalar loop over tokens, heads and pairs, indices computed per element, kept
/// scalar (GCC would otherwise vectorise parts of it).
#if defined(__GNUC__) && !defined(__clang__)
[[gnu::optimize("no-tree-vectorize")]]
#endif
void naive_rotate(float* x, Index tokens, const CosSinTable<float>& table, Layout layout) {
  const Index h = kHeadDim / 2;
  for (Index t = 0; t < tokens; ++t)
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
  const Index tokens = state.range(1);
  const auto table = cos_sin_table<float>(rope_of(layout), tokens);
  RowMatrixX<float> x = random_data(tokens);
  for (auto _ : state) {
    naive_rotate(x.data(), tokens, table, layout);
    benchmark::ClobberMemory();
  }
  set_rate(state, layout, "naive scalar loop");
}

void BM_RotatePositions(benchmark::State& state) {
  const auto layout = static_cast<Layout>(state.range(0));
  const Index tokens = state.range(1);
  const auto rope = rope_of(layout);
  const Eigen::VectorXd positions = Eigen::VectorXd::LinSpaced(tokens, 0, double(tokens - 1));
  RowMatrixX<float> x = random_data(tokens);
  for (auto _ : state) {
    rotate(x, positions, rope);
    benchmark::ClobberMemory();
  }
  set_rate(state, layout, "probspace angles in double");
}

void shapes(benchmark::internal::Benchmark* b) {
  for (const Index tokens : {Index(4096), Index(64)})
    for (const auto layout : {Layout::Interleaved, Layout::Half}) b->Args({Index(layout), tokens});
}
BENCHMARK(BM_RotateTable)->Apply(shapes)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_RotateNaive)->Apply(shapes)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_RotatePositions)->Apply(shapes)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
