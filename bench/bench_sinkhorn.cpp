// Sinkhorn time per iteration (spec probability.md §7.4) at n = m = 1000 and 2000, log domain and
// kernel scaling, float and double. The problem — a, b and C = squared distances of random points in
// [0, 1]², ε = 0.01 — is read from $PROBSPACE_OT_DIR/ot_<n>_{a,b,C}.f64 (written by bench/run.sh,
// shared with the POT peer) or drawn here. A run does kIterations sweeps from f = g = 0; a callback
// stamps every iteration, so the setup (kernel, certificates) is left out of the reported time.
// The marginal error after the run is the "err" counter, for comparison at equal accuracy. Each
// repetition times 5 runs (a run is ~0.1 s of setup and certificates around the timed sweeps).
#include <probspace/solvers/sinkhorn.hpp>

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <string>

namespace {

using probspace::Index;
using probspace::RowMatrixX;
using probspace::VectorX;
namespace solvers = probspace::solvers;

constexpr double kEpsilon = 0.01;
constexpr int kIterations = 20;

struct Problem {
  Eigen::VectorXd a, b;
  RowMatrixX<double> cost;
};

void read(const std::string& file, double* out, Index count) {
  std::ifstream f(file, std::ios::binary);
  f.read(reinterpret_cast<char*>(out), std::streamsize(count * Index(sizeof(double))));
  if (!f) throw std::runtime_error("cannot read " + file);
}

const Problem& problem(Index n) {
  static std::map<Index, Problem> cache;
  Problem& p = cache[n];
  if (p.a.size() == 0) {
    p.a.resize(n), p.b.resize(n), p.cost.resize(n, n);
    if (const char* dir = std::getenv("PROBSPACE_OT_DIR")) {
      const std::string stem = std::string(dir) + "/ot_" + std::to_string(n) + "_";
      read(stem + "a.f64", p.a.data(), n);
      read(stem + "b.f64", p.b.data(), n);
      read(stem + "C.f64", p.cost.data(), n * n);
    } else {
      std::mt19937_64 rng(0);
      std::uniform_real_distribution<double> u(0, 1);
      Eigen::MatrixXd x(n, 2), y(n, 2);
      for (auto& v : x.reshaped()) v = u(rng);
      for (auto& v : y.reshaped()) v = u(rng);
      for (auto& v : p.a) v = 0.5 + u(rng);
      for (auto& v : p.b) v = 0.5 + u(rng);
      p.a /= p.a.sum(), p.b /= p.b.sum();
      for (Index i = 0; i < n; ++i)
        for (Index j = 0; j < n; ++j) p.cost(i, j) = (x.row(i) - y.row(j)).squaredNorm();
    }
  }
  return p;
}

template <class T> void BM_Sinkhorn(benchmark::State& state) {
  const Index n = state.range(0);
  const auto method = state.range(1) == 0 ? solvers::SinkhornMethod::Log : solvers::SinkhornMethod::Scaling;
  const Problem& p = problem(n);
  const VectorX<T> a = p.a.cast<T>(), b = p.b.cast<T>();
  const RowMatrixX<T> cost = p.cost.cast<T>();
  using clock = std::chrono::steady_clock;
  clock::time_point first, last;
  solvers::SinkhornOptions o;
  o.method = method;
  o.tolerance = 0;
  o.max_iterations = kIterations;
  o.record_history = false;
  o.callbacks.push_back([&](const solvers::IterationRecord& r) {
    (r.iteration == 1 ? first : last) = clock::now();
    return solvers::CallbackResult::Continue;
  });
  double error = 0;
  for (auto _ : state) {
    const auto r = solvers::sinkhorn(a, b, cost, T(kEpsilon), o);
    error = r.summary.kkt_residual;
    state.SetIterationTime(std::chrono::duration<double>(last - first).count() / (kIterations - 1));
  }
  state.counters["err"] = error;
  state.SetLabel(std::string(method == solvers::SinkhornMethod::Log ? "log domain " : "kernel scaling ") +
                 (std::is_same_v<T, double> ? "double" : "float") + ", time per iteration");
}

BENCHMARK(BM_Sinkhorn<double>)->ArgsProduct({{1000, 2000}, {0, 1}})->UseManualTime()->Iterations(5)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Sinkhorn<float>)->ArgsProduct({{1000, 2000}, {0, 1}})->UseManualTime()->Iterations(5)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
