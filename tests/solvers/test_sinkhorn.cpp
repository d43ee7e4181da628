// Sinkhorn (spec probability.md §7.4, §10, §11 item 11; rollback: embedding.md §8.3).
#include <probspace/solvers/sinkhorn.hpp>

#include "../support/testing.hpp"

#include <algorithm>
#include <numeric>
#include <random>

namespace probspace::solvers {
namespace {

using probspace::testing::Scalars;
using probspace::testing::tol;
using probspace::testing::vec;

template <class T> class SinkhornTyped : public ::testing::Test {};
TYPED_TEST_SUITE(SinkhornTyped, Scalars);

template <class T> SinkhornOptions tight() {
  SinkhornOptions o;
  o.tolerance = std::is_same_v<T, double> ? 1e-13 : 2e-6;
  o.max_iterations = 20000;
  return o;
}

template <class T> RowMatrixX<T> matrix(Index rows, Index cols, std::initializer_list<double> values) {
  RowMatrixX<T> m(rows, cols);
  Index k = 0;
  for (double x : values) m(k / cols, k % cols) = T(x), ++k;
  return m;
}

/// A random distribution with entries in [0.5, 1.5]/Σ.
template <class T> VectorX<T> random_distribution(std::mt19937_64& rng, Index n) {
  std::uniform_real_distribution<double> u(0.5, 1.5);
  Eigen::VectorXd p(n);
  for (auto& x : p) x = u(rng);
  return (p / p.sum()).cast<T>();
}

/// Squared distances between random points in [0, 1]².
template <class T> RowMatrixX<T> random_cost(std::mt19937_64& rng, Index n, Index m) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  Eigen::MatrixXd x(n, 2), y(m, 2);
  for (auto& v : x.reshaped()) v = u(rng);
  for (auto& v : y.reshaped()) v = u(rng);
  RowMatrixX<T> c(n, m);
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < m; ++j) c(i, j) = T((x.row(i) - y.row(j)).squaredNorm());
  return c;
}

/// Random marginals and cost of an n×m problem drawn from `seed`.
template <class T> struct RandomProblem {
  VectorX<T> a, b;
  RowMatrixX<T> c;
  RandomProblem(std::uint64_t seed, Index n, Index m) {
    std::mt19937_64 rng(seed);
    a = random_distribution<T>(rng, n), b = random_distribution<T>(rng, m), c = random_cost<T>(rng, n, m);
  }
};

template <class T> void expect_marginals(const RowMatrixX<T>& plan, const VectorX<T>& a, const VectorX<T>& b, double t) {
  EXPECT_LE((plan.rowwise().sum() - a).template lpNorm<1>() + (plan.colwise().sum().transpose() - b).template lpNorm<1>(), t);
}

TYPED_TEST(SinkhornTyped, TwoByTwoClosedForm) {
  using T = TypeParam;
  const VectorX<T> half = vec<T>({0.5, 0.5});
  const RowMatrixX<T> c = matrix<T>(2, 2, {0, 1, 1, 0});
  for (const auto& [eps, expected] : {std::pair{1.0, 0.36552928931500245}, std::pair{0.1, 0.4999773010656488}}) {
    ASSERT_EQ(expected, 1 / (2 * (1 + std::exp(-1 / eps))));  // spec §10 P₁₁ = 1/(2(1 + e^{−1/ε}))
    for (const auto method : {SinkhornMethod::Log, SinkhornMethod::Scaling}) {
      SinkhornOptions o = tight<T>();
      o.method = method;
      const auto r = sinkhorn(half, half, c, T(eps), o);
      ASSERT_TRUE(r.summary.converged()) << r.summary.brief_report();
      EXPECT_LE(r.summary.kkt_residual, o.tolerance);
      const RowMatrixX<T> p = transport_plan(c, r.f, r.g, T(eps));
      EXPECT_NEAR(p(0, 0), expected, tol<T>(1e-13));
      EXPECT_NEAR(p(1, 1), expected, tol<T>(1e-13));
      EXPECT_NEAR(p(0, 1), 0.5 - expected, tol<T>(1e-13));
      EXPECT_NEAR(r.transport_cost, 1 - 2 * expected, tol<T>(1e-12));
    }
  }
}

TYPED_TEST(SinkhornTyped, ThreeByThreeReference) {
  using T = TypeParam;
  const VectorX<T> a = vec<T>({0.2, 0.5, 0.3}), b = vec<T>({0.4, 0.4, 0.2});
  const RowMatrixX<T> c = matrix<T>(3, 3, {0, 1, 4, 1, 0, 1, 4, 1, 0});
  const RowMatrixX<double> expected =
      matrix<double>(3, 3, {0.19496303369, 0.005033981509, 2.984801e-6, 0.203635172208, 0.287071488917, 0.009293338875,
                            0.001401794103, 0.107894529574, 0.190703676323});
  const auto o = tight<T>();
  const auto r = sinkhorn(a, b, c, T(0.5), o);
  ASSERT_TRUE(r.summary.converged()) << r.summary.brief_report();
  const RowMatrixX<T> p = transport_plan(c, r.f, r.g, T(0.5));
  EXPECT_LE((p.template cast<double>() - expected).cwiseAbs().maxCoeff(), tol<T>(1e-11));
  expect_marginals<T>(p, a, b, tol<T>(1e-12) * 10);
  EXPECT_NEAR(r.transport_cost, 0.3314761377816795, tol<T>(1e-12));
  EXPECT_NEAR(r.primal, -0.9868741614868382, tol<T>(1e-12));
  EXPECT_NEAR(r.dual, -0.9868741614868382, tol<T>(1e-12));
  EXPECT_EQ(r.summary.objective, r.primal);
  EXPECT_EQ(r.summary.duality_gap, r.primal - r.dual);
}

TYPED_TEST(SinkhornTyped, LogDomainEqualsScalingWhereItDoesNotUnderflow) {
  using T = TypeParam;
  const RandomProblem<T> problem(7, 30, 40);
  const auto& [a, b, c] = problem;
  SinkhornOptions o = tight<T>();
  const auto log = sinkhorn(a, b, c, T(0.05), o);
  o.method = SinkhornMethod::Scaling;
  const auto scaling = sinkhorn(a, b, c, T(0.05), o);
  ASSERT_TRUE(log.summary.converged() && scaling.summary.converged());
  EXPECT_TRUE(scaling.summary.restarts.empty());
  const RowMatrixX<T> p_log = transport_plan(c, log.f, log.g, T(0.05)), p_scaling = transport_plan(c, scaling.f, scaling.g, T(0.05));
  EXPECT_LE((p_log - p_scaling).cwiseAbs().maxCoeff(), tol<T>(1e-13) * 10);
  EXPECT_NEAR(log.primal, scaling.primal, tol<T>(1e-12));
  // Same iterates: both stop at the same sweep.
  EXPECT_EQ(log.summary.iterations, scaling.summary.iterations);
}

TYPED_TEST(SinkhornTyped, LogDomainSurvivesSmallEpsilonWhereScalingUnderflows) {
  using T = TypeParam;
  std::mt19937_64 rng(11);
  const VectorX<T> a = random_distribution<T>(rng, 12), b = random_distribution<T>(rng, 15);
  // C + 1: the same plans (a constant shift), but K = e^{−C/ε} underflows to exact zeros everywhere.
  const RowMatrixX<T> c = (random_cost<T>(rng, 12, 15).array() + T(1)).matrix();
  const T eps = T(1e-3);
  const RowMatrixX<T> kernel = (-c / eps).unaryExpr([](T x) { return std::exp(x); });
  ASSERT_TRUE((kernel.array() == T(0)).all());
  SinkhornOptions o = tight<T>();
  // Float resolves exponents (f_i + g_j − C_ij)/ε of size ‖C‖/ε = 2000 only to ulp(2000) ≈ 1.2e-4.
  o.tolerance = std::is_same_v<T, double> ? 1e-11 : 5e-4;
  o.max_iterations = 200000;
  const auto log = sinkhorn(a, b, c, eps, o);
  ASSERT_TRUE(log.summary.converged()) << log.summary.brief_report();
  EXPECT_TRUE(log.f.allFinite() && log.g.allFinite());
  expect_marginals<T>(transport_plan(c, log.f, log.g, eps), a, b, 2 * o.tolerance);
  // The scaling form breaks down, rolls back and finishes in the log domain with the same answer.
  o.method = SinkhornMethod::Scaling;
  const auto scaling = sinkhorn(a, b, c, eps, o);
  ASSERT_EQ(scaling.summary.restarts.size(), 1u);
  EXPECT_NE(scaling.summary.restarts[0].reason.find("log domain"), std::string::npos);
  EXPECT_EQ(scaling.summary.message, "finished in the log domain");
  ASSERT_TRUE(scaling.summary.converged()) << scaling.summary.brief_report();
  EXPECT_NEAR(scaling.transport_cost, log.transport_cost, 10 * o.tolerance);
}

TYPED_TEST(SinkhornTyped, DualityGapIsNonNegativeAndVanishes) {
  using T = TypeParam;
  const RandomProblem<T> problem(3, 20, 25);
  const auto& [a, b, c] = problem;
  double previous_error = INFINITY, last_gap = INFINITY;
  for (int iterations : {1, 3, 10, 30, 100, 300}) {
    SinkhornOptions o;
    o.tolerance = 0;
    o.max_iterations = iterations;
    const auto r = sinkhorn(a, b, c, T(0.02), o);
    EXPECT_EQ(r.summary.termination, Termination::MaxIterations);
    EXPECT_GE(r.summary.duality_gap, -tol<T>(1e-14)) << iterations;
    EXPECT_LE(r.summary.kkt_residual, previous_error * (1 + tol<T>(1e-12)));  // ‖P1 − a‖₁ does not grow
    previous_error = r.summary.kkt_residual;
    last_gap = r.summary.duality_gap;
  }
  EXPECT_LE(last_gap, tol<T>(1e-10) * 10);
}

/// Exact OT with uniform marginals on n ≤ 6 points: the best permutation (Birkhoff).
double best_permutation_cost(const RowMatrixX<double>& c) {
  std::vector<int> perm(std::size_t(c.rows()));
  std::iota(perm.begin(), perm.end(), 0);
  double best = INFINITY;
  do {
    double s = 0;
    for (Index i = 0; i < c.rows(); ++i) s += c(i, perm[std::size_t(i)]);
    best = std::min(best, s / double(c.rows()));
  } while (std::next_permutation(perm.begin(), perm.end()));
  return best;
}

TEST(Sinkhorn, SmallEpsilonApproachesExactOtByEnumeration) {
  std::mt19937_64 rng(5);
  for (const Index n : {4, 6}) {
    const RowMatrixX<double> c = random_cost<double>(rng, n, n);
    const Eigen::VectorXd u = Eigen::VectorXd::Constant(n, 1.0 / double(n));
    const double exact = best_permutation_cost(c);
    for (const double eps : {1e-1, 1e-2, 1e-3}) {
      SinkhornOptions o;
      o.tolerance = 1e-9;
      o.max_iterations = 20000;
      o.epsilon_start = 1;
      const auto r = sinkhorn(u, u, c, eps, o);
      // Near ties between permutations at the scale of ε Sinkhorn converges slowly (here at
      // ε = 0.01); the bound carries the marginal error the summary reports.
      ASSERT_LE(r.summary.kkt_residual, 1e-5) << r.summary.brief_report();
      EXPECT_TRUE(r.summary.converged() || r.summary.termination == Termination::MaxIterations);
      // ⟨P_ε,C⟩ − OT ≤ ε(H(P_ε) − H(P*)) ≤ ε·log n, less the marginal slack.
      EXPECT_GE(r.transport_cost, exact - c.maxCoeff() * r.summary.kkt_residual);
      EXPECT_LE(r.transport_cost - exact, eps * std::log(double(n)) + c.maxCoeff() * r.summary.kkt_residual)
          << "n " << n << " eps " << eps;
    }
  }
}

/// 1-D OT by the quantile formula ∫₀¹ |F⁻¹(t) − G⁻¹(t)|² dt (monotone coupling of sorted points).
double quantile_cost(const Eigen::VectorXd& x, const Eigen::VectorXd& a, const Eigen::VectorXd& y,
                     const Eigen::VectorXd& b) {
  double cost = 0, fa = a[0], gb = b[0], t = 0;
  for (Index i = 0, j = 0; i < x.size() && j < y.size();) {
    const double next = std::min(fa, gb);
    cost += (next - t) * (x[i] - y[j]) * (x[i] - y[j]);
    t = next;
    if (fa <= gb) {
      if (++i < x.size()) fa += a[i];
    } else if (++j < y.size()) {
      gb += b[j];
    }
  }
  return cost;
}

TEST(Sinkhorn, OneDimensionalCostMatchesQuantileFormula) {
  std::mt19937_64 rng(9);
  std::uniform_real_distribution<double> u(-1, 2);
  Eigen::VectorXd x(7), y(9);
  for (auto& v : x) v = u(rng);
  for (auto& v : y) v = u(rng);
  std::sort(x.begin(), x.end());
  std::sort(y.begin(), y.end());
  const Eigen::VectorXd a = random_distribution<double>(rng, 7), b = random_distribution<double>(rng, 9);
  RowMatrixX<double> c(7, 9);
  for (Index i = 0; i < 7; ++i)
    for (Index j = 0; j < 9; ++j) c(i, j) = (x[i] - y[j]) * (x[i] - y[j]);
  const double exact = quantile_cost(x, a, y, b);
  const double entropy_a = -(a.array() * a.array().log()).sum(), entropy_b = -(b.array() * b.array().log()).sum();
  for (const double eps : {1e-2, 1e-3, 1e-4}) {
    SinkhornOptions o;
    o.tolerance = 1e-12;
    o.max_iterations = 200000;
    o.epsilon_start = 1;
    const auto r = sinkhorn(a, b, c, eps, o);
    ASSERT_TRUE(r.summary.converged()) << r.summary.brief_report();
    const double slack = c.maxCoeff() * r.summary.kkt_residual;
    EXPECT_GE(r.transport_cost, exact - slack);
    EXPECT_LE(r.transport_cost - exact, eps * std::min(entropy_a, entropy_b) + slack) << eps;
  }
}

TEST(Sinkhorn, WarmStartAndEpsilonScaling) {
  const RandomProblem<double> problem(13, 25, 30);
  const auto& [a, b, c] = problem;
  SinkhornOptions o;
  o.tolerance = 1e-11;
  o.max_iterations = 100000;
  const auto cold = sinkhorn(a, b, c, 0.01, o);
  ASSERT_TRUE(cold.summary.converged());
  // Restarting from the answer converges at the first check.
  const auto again = sinkhorn(a, b, c, 0.01, cold.f, cold.g, o);
  ASSERT_TRUE(again.summary.converged());
  EXPECT_LE(again.summary.iterations, 1);
  // Warm start from the ε = 0.02 potentials beats a cold start.
  const auto coarse = sinkhorn(a, b, c, 0.02, o);
  const auto warm = sinkhorn(a, b, c, 0.01, coarse.f, coarse.g, o);
  ASSERT_TRUE(warm.summary.converged());
  EXPECT_LT(warm.summary.iterations, cold.summary.iterations);
  // ε-scaling reaches the same plan; the history shows the stages' ε decreasing to the target.
  o.epsilon_start = 1;
  const auto annealed = sinkhorn(a, b, c, 0.01, o);
  ASSERT_TRUE(annealed.summary.converged());
  EXPECT_LE((transport_plan(c, annealed.f, annealed.g, 0.01) - transport_plan(c, cold.f, cold.g, 0.01)).cwiseAbs().maxCoeff(),
            1e-10);
  EXPECT_EQ(annealed.summary.history.front().step, 1.0);
  EXPECT_EQ(annealed.summary.history.back().step, 0.01);
  for (std::size_t k = 1; k < annealed.summary.history.size(); ++k)
    EXPECT_LE(annealed.summary.history[k].step, annealed.summary.history[k - 1].step);
}

TEST(Sinkhorn, ChecksEveryMIterationsCallbacksAndBudget) {
  const RandomProblem<double> problem(17, 10, 12);
  const auto& [a, b, c] = problem;
  SinkhornOptions o;
  o.tolerance = 1e-12;
  o.check_every = 7;
  const auto r = sinkhorn(a, b, c, 0.05, o);
  ASSERT_TRUE(r.summary.converged());
  EXPECT_EQ(r.summary.iterations % 7, 0);
  ASSERT_FALSE(r.summary.history.empty());
  for (const auto& record : r.summary.history) EXPECT_EQ(record.iteration % 7, 0);
  EXPECT_LE(r.summary.kkt_residual, o.tolerance);
  // A callback stops the run: a status, not an exception.
  o.check_every = 1;
  o.callbacks.push_back([](const IterationRecord& rec) { return rec.iteration >= 3 ? CallbackResult::Stop : CallbackResult::Continue; });
  const auto stopped = sinkhorn(a, b, c, 0.05, o);
  EXPECT_EQ(stopped.summary.termination, Termination::UserStop);
  EXPECT_EQ(stopped.summary.iterations, 3);
  // Out of iterations: the certificate is honest about the miss.
  o.callbacks.clear();
  o.max_iterations = 2;
  const auto short_run = sinkhorn(a, b, c, 0.05, o);
  EXPECT_EQ(short_run.summary.termination, Termination::MaxIterations);
  EXPECT_GT(short_run.summary.kkt_residual, o.tolerance);
  // History objective is the dual, increasing towards the optimum.
  for (std::size_t k = 1; k < r.summary.history.size(); ++k)
    EXPECT_GE(r.summary.history[k].objective, r.summary.history[k - 1].objective - 1e-14);
}

TEST(Sinkhorn, LargeProblemRunsThreadedAndConverges) {
  std::mt19937_64 rng(19);
  const Index n = 800, m = 700;  // above the threading threshold (2¹⁹ entries)
  const VectorX<float> a = random_distribution<float>(rng, n), b = random_distribution<float>(rng, m);
  const RowMatrixX<float> c = random_cost<float>(rng, n, m);
  SinkhornOptions o;
  o.tolerance = 1e-4;
  o.max_iterations = 5000;
  const auto log = sinkhorn(a, b, c, 0.1f, o);
  o.method = SinkhornMethod::Scaling;
  const auto scaling = sinkhorn(a, b, c, 0.1f, o);
  ASSERT_TRUE(log.summary.converged() && scaling.summary.converged());
  EXPECT_NEAR(log.transport_cost, scaling.transport_cost, 1e-5);
  EXPECT_GE(log.summary.duality_gap, -1e-6);
}

TEST(Sinkhorn, BadInput) {
  const Eigen::VectorXd a = vec<double>({0.5, 0.5}), b = vec<double>({0.25, 0.75});
  const RowMatrixX<double> c = matrix<double>(2, 2, {0, 1, 1, 0});
  EXPECT_INVALID_ARGUMENT(sinkhorn(a, b, c, 0.0), "epsilon");
  EXPECT_INVALID_ARGUMENT(sinkhorn(a, b, c, -1.0), "epsilon");
  EXPECT_INVALID_ARGUMENT(sinkhorn(a, b, c, NAN), "epsilon");
  EXPECT_INVALID_ARGUMENT(sinkhorn(vec<double>({0.5, 0.6}), b, c, 1.0), "a");
  EXPECT_INVALID_ARGUMENT(sinkhorn(vec<double>({1.0, 0.0}), b, c, 1.0), "a");
  EXPECT_INVALID_ARGUMENT(sinkhorn(a, vec<double>({0.25, 0.7}), c, 1.0), "b");
  EXPECT_INVALID_ARGUMENT(sinkhorn(a, vec<double>({0.2, 0.3, 0.5}), c, 1.0), "cost");
  EXPECT_INVALID_ARGUMENT(sinkhorn(a, b, matrix<double>(2, 2, {0, NAN, 1, 0}), 1.0), "cost");
  EXPECT_INVALID_ARGUMENT(sinkhorn(a, b, matrix<double>(2, 2, {0, INFINITY, 1, 0}), 1.0), "cost");
  SinkhornOptions o;
  o.check_every = 0;
  EXPECT_INVALID_ARGUMENT(sinkhorn(a, b, c, 1.0, o), "options.check_every");
  o = {};
  o.epsilon_factor = 1;
  EXPECT_INVALID_ARGUMENT(sinkhorn(a, b, c, 1.0, o), "options.epsilon_factor");
  o = {};
  o.epsilon_start = -1;
  EXPECT_INVALID_ARGUMENT(sinkhorn(a, b, c, 1.0, o), "options.epsilon_start");
  o = {};
  o.step_rule = StepRule::OpenLoop;
  EXPECT_INVALID_ARGUMENT(sinkhorn(a, b, c, 1.0, o), "options.step_rule");
  o = {};
  o.stage_tolerance = -1;
  EXPECT_INVALID_ARGUMENT(sinkhorn(a, b, c, 1.0, o), "options.stage_tolerance");
  o = {};
  o.max_iterations = -1;
  EXPECT_INVALID_ARGUMENT(sinkhorn(a, b, c, 1.0, o), "options.max_iterations");
  o = {};
  o.tolerance = NAN;
  EXPECT_INVALID_ARGUMENT(sinkhorn(a, b, c, 1.0, o), "options.tolerance");
  EXPECT_INVALID_ARGUMENT(sinkhorn(a, b, c, 1.0, vec<double>({0, 0, 0}), vec<double>({0, 0}), {}), "f0");
  EXPECT_INVALID_ARGUMENT(sinkhorn(a, b, c, 1.0, vec<double>({0, 0}), vec<double>({NAN, 0}), {}), "g0");
  EXPECT_INVALID_ARGUMENT(transport_plan(c, vec<double>({0}), vec<double>({0, 0}), 1.0), "f");
  EXPECT_INVALID_ARGUMENT(transport_plan(c, vec<double>({0, 0}), vec<double>({0, 0, 1}), 1.0), "g");
  EXPECT_INVALID_ARGUMENT(transport_plan(c, vec<double>({0, 0}), vec<double>({0, 0}), 0.0), "epsilon");
}

}  // namespace
}  // namespace probspace::solvers
