// Simplex benchmarks (issue 2): the three projection methods against memcpy, and the batched maps
// on [1024, 32000] float in GB/s (bytes read + written). Inputs are drawn from pools of distinct
// random vectors cycled per iteration, so no method is flattered by a branch predictor that has
// learned one input.
//
// PROBSPACE_LOGITS_FILE, if set, names a raw float32 [1024, 32000] file (written by bench/run.sh
// and shared with the PyTorch peer); otherwise the logits are drawn here.
#include <probspace/simplex/batched.hpp>
#include <probspace/simplex/projection.hpp>

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <stdexcept>

namespace {

using probspace::Index;
using probspace::simplex::ProjectionMethod;

enum Distribution { kUniform, kNormal, kNearDegenerate };
const char* distribution_name(int d) { return d == kUniform ? "uniform" : d == kNormal ? "normal" : "near-degenerate"; }

/// A pool of distinct inputs of size n, about 3e7 doubles in total (at least 3 vectors).
const std::vector<Eigen::VectorXd>& pool(Index n, int distribution) {
  static std::map<std::pair<Index, int>, std::vector<Eigen::VectorXd>> cache;
  auto& vectors = cache[{n, distribution}];
  if (vectors.empty()) {
    std::mt19937_64 rng(Index(1000) * n + distribution);
    std::uniform_real_distribution<double> uniform;
    std::normal_distribution<double> normal;
    const Index count = std::max<Index>(3, std::min<Index>(256, Index(30'000'000) / n));
    for (Index k = 0; k < count; ++k) {
      Eigen::VectorXd v(n);
      for (auto& x : v)
        x = distribution == kUniform ? uniform(rng) : distribution == kNormal ? normal(rng) : 1.0 + 1e-9 * uniform(rng);
      vectors.push_back(std::move(v));
    }
  }
  return vectors;
}

void BM_Projection(benchmark::State& state) {
  const auto method = static_cast<ProjectionMethod>(state.range(0));
  const int distribution = int(state.range(1));
  const Index n = state.range(2);
  const auto& inputs = pool(n, distribution);
  Eigen::VectorXd out(n);
  out.setZero();  // first touch outside the timed loop
  std::size_t k = 0;
  for (auto _ : state) {
    const auto t = probspace::simplex::project_simplex(inputs[k++ % inputs.size()], out, 1.0, method);
    benchmark::DoNotOptimize(t);
    benchmark::ClobberMemory();
  }
  state.SetLabel(std::string(probspace::simplex::to_string(method)) + "/" + distribution_name(distribution));
  state.SetBytesProcessed(state.iterations() * n * Index(2 * sizeof(double)));
  state.counters["ns/element"] =
      benchmark::Counter(double(state.iterations() * n), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void BM_Memcpy(benchmark::State& state) {
  const Index n = state.range(0);
  const auto& inputs = pool(n, kUniform);
  Eigen::VectorXd out(n);
  out.setZero();
  std::size_t k = 0;
  for (auto _ : state) {
    std::memcpy(out.data(), inputs[k++ % inputs.size()].data(), std::size_t(n) * sizeof(double));
    benchmark::ClobberMemory();
  }
  state.SetLabel("memcpy");
  state.SetBytesProcessed(state.iterations() * n * Index(2 * sizeof(double)));
  state.counters["ns/element"] =
      benchmark::Counter(double(state.iterations() * n), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void projection_args(benchmark::internal::Benchmark* b) {
  for (const auto method : {ProjectionMethod::Condat, ProjectionMethod::Sort, ProjectionMethod::Bisection})
    for (const int d : {kUniform, kNormal, kNearDegenerate})
      for (const Index n : {Index(1000), Index(100000), Index(10'000'000)})
        b->Args({Index(method), d, n});
}
BENCHMARK(BM_Projection)->Apply(projection_args)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_Memcpy)->Arg(1000)->Arg(100000)->Arg(10'000'000)->Unit(benchmark::kMicrosecond)->UseRealTime();

constexpr Index kRows = 1024, kVocab = 32000;

const probspace::RowMatrixX<float>& logits() {
  static const probspace::RowMatrixX<float> z = [] {
    probspace::RowMatrixX<float> m(kRows, kVocab);
    if (const char* file = std::getenv("PROBSPACE_LOGITS_FILE")) {
      std::ifstream f(file, std::ios::binary);
      f.read(reinterpret_cast<char*>(m.data()), std::streamsize(m.size() * sizeof(float)));
      if (!f) throw std::runtime_error(std::string("cannot read [1024, 32000] float32 from ") + file);
    } else {
      std::mt19937_64 rng(0);
      std::normal_distribution<float> normal;
      for (Index i = 0; i < m.size(); ++i) m.data()[i] = normal(rng);
    }
    return m;
  }();
  return z;
}

template <class Map> void batched(benchmark::State& state, const char* label, Map&& map) {
  const auto& z = logits();
  probspace::RowMatrixX<float> p = probspace::RowMatrixX<float>::Zero(kRows, kVocab);  // allocated once
  for (auto _ : state) {
    map(z, p);
    benchmark::ClobberMemory();
  }
  state.SetLabel(label);
  state.SetBytesProcessed(state.iterations() * kRows * kVocab * Index(2 * sizeof(float)));
}

void BM_SoftmaxRows(benchmark::State& s) {
  batched(s, "softmax [1024,32000] f32", [](const auto& z, auto& p) { probspace::simplex::softmax_rows(z, p); });
}
void BM_SparsemaxRows(benchmark::State& s) {
  batched(s, "sparsemax [1024,32000] f32", [](const auto& z, auto& p) { probspace::simplex::sparsemax_rows(z, p); });
}
void BM_Entmax15Rows(benchmark::State& s) {
  batched(s, "entmax-1.5 exact [1024,32000] f32", [](const auto& z, auto& p) { probspace::simplex::entmax_rows(z, p, 1.5f); });
}
void BM_Entmax15BisectionRows(benchmark::State& s) {
  batched(s, "entmax-1.5 bisection [1024,32000] f32", [](const auto& z, auto& p) {
    probspace::simplex::entmax_rows(z, p, 1.5f, probspace::simplex::EntmaxMethod::Bisection);
  });
}
BENCHMARK(BM_SoftmaxRows)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_SparsemaxRows)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Entmax15Rows)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Entmax15BisectionRows)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
