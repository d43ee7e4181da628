// Embedding benchmarks (issue 6): Monte Carlo (input, target) samples per second at n = 32000,
// d = 4096 against the full vocabulary. One iteration is a whole estimate: drawing the table
// (n·d Gaussians; twice for untied), RMSNorm, the [256, n] float GEMM per block, the reductions.
// TiedOrthogonal is left out at d = 4096: its Householder QR of a 4096² Gaussian dominates.
#include <probspace/embedding/monte_carlo.hpp>

#include <benchmark/benchmark.h>

namespace {

using probspace::Index;
using probspace::embedding::Parametrisation;

void BM_EstimateInitialLoss(benchmark::State& state) {
  probspace::embedding::MonteCarloOptions o{.n = 32000,
                                            .d = 4096,
                                            .sigma = 0.02,
                                            .parametrisation = static_cast<Parametrisation>(state.range(0)),
                                            .tables = 1,
                                            .inputs_per_table = state.range(1),
                                            .targets_per_input = state.range(2),
                                            .seed = 1};
  for (auto _ : state) {
    const auto r = probspace::embedding::estimate_initial_loss(o);
    benchmark::DoNotOptimize(r.mean_loss);
    ++o.seed;
  }
  state.SetLabel(std::string(to_string(o.parametrisation)) + ", " + std::to_string(o.inputs_per_table) + " inputs x " +
                 std::to_string(o.targets_per_input) + " targets");
  state.SetItemsProcessed(state.iterations() * o.tables * o.inputs_per_table * o.targets_per_input);  // pairs
}

BENCHMARK(BM_EstimateInitialLoss)
    ->Args({int(Parametrisation::Tied), 1000, 1})
    ->Args({int(Parametrisation::Untied), 1000, 1})
    ->Args({int(Parametrisation::TiedSwap), 1000, 1})
    ->Args({int(Parametrisation::Tied), 100, 100})  // 10⁴ pairs from 100 inputs
    ->Unit(benchmark::kSecond)
    ->UseRealTime();
BENCHMARK(BM_EstimateInitialLoss)->Args({int(Parametrisation::Tied), 10000, 1})->Iterations(1)->Unit(benchmark::kSecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
