// One NBCE decoder step (spec nbce.md §8) on [n+1, V] float32 logits, with and without top-p, in
// GB/s of logits read; memcpy of the same buffer as the in-run bandwidth reference. The logits are
// read from $PROBSPACE_NBCE_LOGITS_DIR/logits_<rows>x<V>.f32 (written by bench/run.sh, shared with
// the PyTorch peer) or drawn here as 2.5·N(0, 1).
#include <probspace/nbce/decoder.hpp>

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <string>

namespace {

using probspace::Index;
using probspace::RowMatrixX;

const RowMatrixX<float>& logits(Index rows, Index vocab) {
  static std::map<std::pair<Index, Index>, RowMatrixX<float>> cache;
  auto& z = cache[{rows, vocab}];
  if (z.size() == 0) {
    z.resize(rows, vocab);
    if (const char* dir = std::getenv("PROBSPACE_NBCE_LOGITS_DIR")) {
      const std::string file = std::string(dir) + "/logits_" + std::to_string(rows) + "x" + std::to_string(vocab) + ".f32";
      std::ifstream f(file, std::ios::binary);
      f.read(reinterpret_cast<char*>(z.data()), std::streamsize(z.size() * Index(sizeof(float))));
      if (!f) throw std::runtime_error("cannot read " + file);
    } else {
      std::mt19937_64 rng(0);
      std::normal_distribution<float> normal(0.0f, 2.5f);
      for (Index i = 0; i < z.size(); ++i) z.data()[i] = normal(rng);
    }
  }
  return z;
}

void BM_NbceStep(benchmark::State& state) {
  const Index rows = state.range(0), vocab = state.range(1);
  const bool top_p = state.range(2) != 0;
  const auto& z = logits(rows, vocab);
  probspace::nbce::Options o;  // min-entropy, β = 0.25, η = 0.1
  o.truncation = top_p ? probspace::nbce::Truncation::TopP(0.95) : probspace::nbce::Truncation::None();
  probspace::nbce::Decoder<float> decoder(o);
  for (auto _ : state) benchmark::DoNotOptimize(decoder.step(z).log_probs.data());
  state.SetLabel(top_p ? "top-p 0.95" : "no truncation");
  state.SetBytesProcessed(state.iterations() * z.size() * Index(sizeof(float)));
}

void BM_Memcpy(benchmark::State& state) {
  const auto& z = logits(state.range(0), state.range(1));
  RowMatrixX<float> out = RowMatrixX<float>::Zero(z.rows(), z.cols());
  for (auto _ : state) {
    std::memcpy(out.data(), z.data(), std::size_t(z.size()) * sizeof(float));
    benchmark::ClobberMemory();
  }
  state.SetLabel("memcpy of the logits");
  state.SetBytesProcessed(state.iterations() * z.size() * Index(sizeof(float)));
}

BENCHMARK(BM_NbceStep)
    ->Args({17, 32000, 1})
    ->Args({17, 32000, 0})
    ->Args({65, 152064, 1})
    ->Args({65, 152064, 0})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_Memcpy)->Args({17, 32000})->Args({65, 152064})->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
