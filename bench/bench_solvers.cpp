// Discrete solver benchmarks (issue 3): iterations and time to a 1e-8 KKT residual (the FW gap,
// relative to max(1, |F|)) for every solver on two shared problems of size n = 1e2 … 1e5:
//   quadratic+KL   F(p) = ½‖p − z‖² + κ KL(p‖u), u uniform, κ = 0.1 (strongly convex, interior p*)
//   entropy-linear F(p) = −x·p + Σ p log p (p* = softmax(x); water-filling solves it directly)
// Each case runs once per benchmark iteration from the uniform start, capped by max_iterations(n);
// counters: iterations, residual (the answer's FW gap) and converged (1 when it reached 1e-8).
#include <probspace/solvers/ceres_solver.hpp>
#include <probspace/solvers/frank_wolfe.hpp>
#include <probspace/solvers/mirror_descent.hpp>
#include <probspace/solvers/projected_gradient.hpp>
#include <probspace/solvers/water_filling.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <type_traits>

namespace {

using probspace::Index;
using probspace::VectorX;
namespace solvers = probspace::solvers;

/// The iteration cap: 2000, or fewer so that n·cap ≤ 2e7 (200 at n = 1e5) to keep each case bounded.
int max_iterations(Index n) { return int(std::clamp<Index>(Index(20'000'000) / n, 200, 2000)); }
constexpr double kTolerance = 1e-8;

/// Exact line search for a separable convex F along d: safeguarded Newton on φ′(η) in [0, 1].
template <class Slope, class Curvature> double newton_line_search(Slope slope, Curvature curvature) {
  if (slope(1.0) <= 0) return 1;
  double lo = 0, hi = 1, eta = 0;
  for (int k = 0; k < 60 && hi - lo > 1e-15; ++k) {
    const double s = slope(eta);
    (s < 0 ? lo : hi) = eta;
    const double newton = eta - s / curvature(eta);
    eta = std::isfinite(newton) && newton > lo && newton < hi ? newton : 0.5 * (lo + hi);
    if (std::abs(s) < 1e-16) break;
  }
  return eta;
}

struct QuadraticPlusKl {
  VectorX<double> z;
  double kappa, log_u;
  double value_and_gradient(const VectorX<double>& p, VectorX<double>& g) const {
    const auto log_p = p.array().log();
    g = (p - z).array() + kappa * (log_p - log_u + 1);
    return 0.5 * (p - z).squaredNorm() + kappa * (p.array() * (log_p - log_u)).sum();
  }
  double line_search(const VectorX<double>& p, const VectorX<double>& d) const {
    const auto at = [&](double eta) { return (p + eta * d).array(); };
    return newton_line_search(
        [&](double eta) { return (d.array() * (at(eta) - z.array() + kappa * (at(eta).log() - log_u + 1))).sum(); },
        [&](double eta) { return d.squaredNorm() + kappa * (d.array().square() / at(eta)).sum(); });
  }
};

struct EntropyLinear {
  VectorX<double> x;
  double value_and_gradient(const VectorX<double>& p, VectorX<double>& g) const {
    const auto log_p = p.array().log();
    g = -x.array() + log_p + 1;
    return -x.dot(p) + (p.array() * log_p).sum();
  }
  double line_search(const VectorX<double>& p, const VectorX<double>& d) const {
    const auto at = [&](double eta) { return (p + eta * d).array(); };
    return newton_line_search([&](double eta) { return (d.array() * (-x.array() + at(eta).log() + 1)).sum(); },
                              [&](double eta) { return (d.array().square() / at(eta)).sum(); });
  }
};

VectorX<double> scores(Index n) {
  std::mt19937_64 rng{std::uint64_t(n)};
  std::normal_distribution<double> normal;
  VectorX<double> x(n);
  for (auto& v : x) v = normal(rng);
  return x;
}

enum Solver { kWaterFilling, kFrankWolfe, kAway, kPairwise, kMirror, kProjected, kFista, kCeres, kSolvers };
const char* solver_name(int s) {
  static const char* names[] = {"water_filling", "frank_wolfe_line_search", "frank_wolfe_away", "frank_wolfe_pairwise",
                                "mirror_descent", "projected_gradient", "fista", "ceres_lbfgs"};
  return names[s];
}

template <class F> solvers::Summary solve(int solver, const F& f, VectorX<double>& p, const solvers::Options& o) {
  solvers::Options line = o;
  line.step_rule = solvers::StepRule::LineSearch;
  switch (solver) {
  case kWaterFilling:
    if constexpr (std::is_same_v<F, EntropyLinear>) return solvers::water_filling(solvers::entropy_terms(f.x), p, o);
    break;
  case kFrankWolfe: return solvers::frank_wolfe(f, p, line);
  case kAway: return solvers::frank_wolfe(f, p, line, solvers::FrankWolfeVariant::Away);
  case kPairwise: return solvers::frank_wolfe(f, p, line, solvers::FrankWolfeVariant::Pairwise);
  case kMirror: return solvers::mirror_descent(f, p, o);
  case kProjected: return solvers::projected_gradient(f, p, o);
  case kFista: return solvers::accelerated_projected_gradient(f, p, o);
  case kCeres: return solvers::ceres_minimize(f, p, o);
  }
  throw std::logic_error("no such solver for this problem");
}

/// One case: state.range(0) is the solver, state.range(1) the size n.
template <class F> void run_case(benchmark::State& state, const F& f, const char* problem) {
  const int solver = int(state.range(0));
  const Index n = state.range(1);
  solvers::Options o;
  o.max_iterations = max_iterations(n);
  o.tolerance = kTolerance;
  o.record_history = false;
  solvers::Summary s;
  for (auto _ : state) {
    VectorX<double> p = VectorX<double>::Constant(n, 1.0 / double(n));
    s = solve(solver, f, p, o);
    benchmark::DoNotOptimize(p.data());
  }
  state.counters["iterations"] = s.iterations;
  state.counters["residual"] = s.kkt_residual;
  state.counters["converged"] = s.converged() ? 1 : 0;
  state.SetLabel(std::string(problem) + "/" + solver_name(solver) + (s.converged() ? "" : " (did not reach 1e-8)"));
}

void BM_QuadraticPlusKl(benchmark::State& state) {
  const Index n = state.range(1);
  run_case(state, QuadraticPlusKl{scores(n) / std::sqrt(double(n)), 0.1, -std::log(double(n))}, "quadratic+KL");
}

void BM_EntropyLinear(benchmark::State& state) { run_case(state, EntropyLinear{scores(state.range(1))}, "entropy-linear"); }

void args(benchmark::internal::Benchmark* b, bool with_water_filling) {
  for (int s = with_water_filling ? 0 : 1; s < kSolvers; ++s)
    for (const Index n : {100, 1000, 10000, 100000}) b->Args({s, n});
}

BENCHMARK(BM_QuadraticPlusKl)->Apply([](auto* b) { args(b, false); })->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_EntropyLinear)->Apply([](auto* b) { args(b, true); })->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
