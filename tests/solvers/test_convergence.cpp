// Rates and agreement (spec probability.md §7, §11.10): FW's O(1/t) bounds and sparsity, mirror
// descent's √(2 ln n)·L_∞/√t, linear convergence of away/pairwise FW, FISTA vs projected gradient,
// and every solver reaching the same p* on a strictly convex objective.
#include "problems.hpp"

#include <probspace/solvers/ceres_solver.hpp>
#include <probspace/solvers/frank_wolfe.hpp>
#include <probspace/solvers/mirror_descent.hpp>
#include <probspace/solvers/projected_gradient.hpp>
#include <probspace/solvers/water_filling.hpp>

#include <Eigen/Eigenvalues>
#include <gtest/gtest.h>

namespace probspace::solvers {
namespace {

using namespace testing;

/// F* to within a certified bracket [F(p) − G(p), F(p)] at a FISTA answer.
struct Optimum {
  double lower, upper;
};
Optimum optimum(const Quadratic& f, Index n) {
  Options o;
  o.tolerance = 1e-14;
  o.max_iterations = 20000;
  VectorX<double> p = uniform(n);
  const Summary s = accelerated_projected_gradient(f, p, o);
  EXPECT_LE(s.kkt_residual, 1e-12) << s.brief_report();
  return {s.objective - s.kkt_residual, s.objective};
}

TEST(FrankWolfeRates, OpenLoopBoundsAndSparsityOnASmoothConvexQuadratic) {
  std::mt19937_64 rng(7);
  const Index n = 30;
  const Quadratic quadratic = random_quadratic(rng, n, 1e-2, 1.0);
  const double L = Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(quadratic.Q).eigenvalues().maxCoeff();
  const auto [f_star, f_star_upper] = optimum(quadratic, n);
  const double slack = f_star_upper - f_star;  // F* is known to within the reference's gap
  Recording f{quadratic};
  Options o;
  o.max_iterations = 500;
  o.tolerance = 0;
  VectorX<double> p = VectorX<double>::Unit(n, 3);  // a vertex
  const Summary s = frank_wolfe(f, p, o);
  ASSERT_EQ(s.history.size(), 501u) << s.brief_report();
  for (const auto& r : s.history) {
    const double t = r.iteration;
    EXPECT_LE(r.objective - f_star, 2 * (2 * L) / (t + 2)) << t;  // 2C_F/(t+2), C_F ≤ L·diam² = 2L
    EXPECT_LE(r.objective - f_star, r.kkt_residual + slack) << t;  // F − F* ≤ G_t
    EXPECT_LE((f.points[size_t(r.iteration)].array() > 0).count(), r.iteration + 1);
  }
  EXPECT_LE(s.objective - f_star, s.duality_gap + slack);
}

TEST(MirrorDescentRates, FixedHorizonStepMeetsTheBeckTeboulleBound) {
  // F = ‖p − z‖₁, ‖g‖_∞ ≤ 1, F* = 0; η = √(2 ln n)/(L_∞ √T) for T steps from uniform gives
  // min_{s<T} F(p_s) − F* ≤ √(2 ln n)·L_∞/√T (spec §7.3).
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> uniform01(0.1, 1.0);
  for (const Index n : {10, 200}) {
    VectorX<double> z(n);
    for (auto& v : z) v = uniform01(rng);
    z /= z.sum();
    for (const int T : {100, 1000}) {
      Options o;
      o.step_rule = StepRule::Constant;
      o.step_size = std::sqrt(2 * std::log(double(n))) / std::sqrt(double(T));
      o.max_iterations = T - 1;  // gradients at p_0 … p_{T−1}
      o.tolerance = 0;
      VectorX<double> p = uniform(n);
      const Summary s = mirror_descent(L1Distance{z}, p, o);
      double best = INFINITY;
      for (const auto& r : s.history) best = std::min(best, r.objective);
      EXPECT_LE(best, std::sqrt(2 * std::log(double(n)) / T)) << "n " << n << " T " << T;
      EXPECT_EQ(s.objective, best);  // the answer is the best iterate
    }
  }
}

TEST(MirrorDescentRates, DecayingStepMeetsTheVaryingStepBound) {
  // η_s = c/√(s+1): min_{s≤t} F(p_s) − F* ≤ (KL(p*‖p₀) + ½ L_∞² Σ_{s<t} η_s²) / Σ_{s<t} η_s with
  // KL(p*‖uniform) ≤ ln n (Beck & Teboulle 2003, Thm 4.1). The spec's √(2 ln n)·L_∞/√t is the
  // fixed-horizon form (previous test); with decaying steps a log t factor appears.
  const Index n = 50;
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> uniform01(0.1, 1.0);
  VectorX<double> z(n);
  for (auto& v : z) v = uniform01(rng);
  z /= z.sum();
  Options o;
  o.step_rule = StepRule::Decaying;
  o.step_size = std::sqrt(2 * std::log(double(n)));
  o.max_iterations = 2000;
  o.tolerance = 0;
  VectorX<double> p = uniform(n);
  const Summary s = mirror_descent(L1Distance{z}, p, o);
  double best = INFINITY, sum_eta = 0, sum_eta2 = 0;
  for (const auto& r : s.history) {
    best = std::min(best, r.objective);
    if (r.iteration > 0) {
      EXPECT_LE(best, (std::log(double(n)) + 0.5 * sum_eta2) / sum_eta) << r.iteration;
    }
    const double eta = o.step_size / std::sqrt(r.iteration + 1.0);
    sum_eta += eta;
    sum_eta2 += eta * eta;
  }
}

TEST(FrankWolfeRates, AwayAndPairwiseConvergeLinearlyOnAStronglyConvexQuadratic) {
  std::mt19937_64 rng(11);
  const Index n = 40;
  const Quadratic f = random_quadratic(rng, n, 0.5, 0.3);
  Options o;
  o.tolerance = 1e-10;
  o.max_iterations = 20000;
  o.step_rule = StepRule::LineSearch;
  VectorX<double> p_vanilla = uniform(n), p_away = uniform(n), p_pairwise = uniform(n);
  const Summary vanilla = frank_wolfe(f, p_vanilla, o, FrankWolfeVariant::Vanilla);
  const Summary away = frank_wolfe(f, p_away, o, FrankWolfeVariant::Away);
  const Summary pairwise = frank_wolfe(f, p_pairwise, o, FrankWolfeVariant::Pairwise);
  ASSERT_TRUE(away.converged()) << away.brief_report();
  ASSERT_TRUE(pairwise.converged()) << pairwise.brief_report();
  const Index support = (p_away.array() > 0).count();
  ASSERT_LT(support, n / 2) << "the test needs a sparse optimum (vanilla FW zig-zags towards the face)";
  ASSERT_GT(support, 2);
  EXPECT_GT(vanilla.iterations, 10 * away.iterations) << vanilla.brief_report() << "\n" << away.brief_report();
  EXPECT_GT(vanilla.iterations, 10 * pairwise.iterations) << pairwise.brief_report();
  // Away steps drop vertices: the answer's support is the optimum's.
  EXPECT_EQ((p_pairwise.array() > 0).count(), support);
  EXPECT_LE((p_away - p_pairwise).norm(), std::sqrt(2 * away.kkt_residual / 0.5) + std::sqrt(2 * pairwise.kkt_residual / 0.5));
  // Linear: the gap falls geometrically, so halving the tolerance's exponent halves the count roughly;
  // here simply: reaching 1e-10 takes less than twice the iterations of reaching 1e-5.
  Options loose = o;
  loose.tolerance = 1e-5;
  VectorX<double> p = uniform(n);
  const Summary pairwise_loose = frank_wolfe(f, p, loose, FrankWolfeVariant::Pairwise);
  EXPECT_LT(pairwise.iterations, 2 * pairwise_loose.iterations + 2 * support) << pairwise_loose.brief_report();
}

TEST(ProjectedGradientRates, FistaBeatsThePlainMethodAndRestartsKeepItMonotone) {
  std::mt19937_64 rng(13);
  const Index n = 60;
  const Quadratic f = random_quadratic(rng, n, 1e-4, 0.02);  // ill-conditioned, optimum near the centre
  const double L = Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(f.Q).eigenvalues().maxCoeff();
  Options o;
  o.lipschitz = L;
  o.tolerance = 1e-10;
  o.max_iterations = 50000;
  VectorX<double> p_plain = uniform(n), p_fista = uniform(n), p_gradient = uniform(n), p_none = uniform(n);
  const Summary plain = projected_gradient(f, p_plain, o);
  const Summary fista = accelerated_projected_gradient(f, p_fista, o, MomentumRestart::FunctionValue);
  const Summary gradient = accelerated_projected_gradient(f, p_gradient, o, MomentumRestart::Gradient);
  const Summary none = accelerated_projected_gradient(f, p_none, o, MomentumRestart::None);
  for (const Summary* s : {&plain, &fista, &gradient, &none}) EXPECT_TRUE(s->converged()) << s->brief_report();
  EXPECT_LT(2 * fista.iterations, plain.iterations) << fista.brief_report() << "\n" << plain.brief_report();
  EXPECT_LT(2 * gradient.iterations, plain.iterations) << gradient.brief_report();
  // η = 1/L: the plain method and the function-value restart are monotone (spec §11.10).
  for (const Summary* s : {&plain, &fista})
    for (size_t t = 1; t < s->history.size(); ++t)  // to rounding: a few ε on the stopping test's scale max(1, |F|)
      EXPECT_LE(s->history[t].objective, s->history[t - 1].objective + 4e-16 * std::max(1.0, std::abs(s->history[t - 1].objective)));
  // The plain method's O(1/t) bound F(p_t) − F* ≤ L‖p₀ − p*‖²/(2t).
  const double f_star = plain.objective - plain.kkt_residual;
  const double r2 = (uniform(n) - p_plain).squaredNorm() + 1e-8;
  for (const auto& r : plain.history) {
    if (r.iteration > 0) {
      EXPECT_LE(r.objective - f_star, L * r2 / (2.0 * r.iteration) + 1e-12) << r.iteration;
    }
  }
}

TEST(SolverAgreement, EverySolverReachesTheSameOptimum) {
  // A separable strictly convex objective with an interior optimum: water-filling (f′ inverted
  // numerically) gives p*; each iterative solver's answer lies within √(2G/μ) of it (strong
  // convexity: μ/2 ‖p − p*‖² ≤ F(p) − F* ≤ G).
  std::mt19937_64 rng(17);
  std::uniform_real_distribution<double> u(1.0, 3.0);
  std::normal_distribution<double> normal;
  const Index n = 12;
  SeparableStrictlyConvex f{VectorX<double>(n), VectorX<double>(n), 0.5};
  for (Index i = 0; i < n; ++i) f.q[i] = u(rng), f.b[i] = 0.3 * normal(rng);
  const double mu = f.q.minCoeff();
  SeparableTerms terms;
  terms.size = n;
  terms.derivative = [&f](Index i, double q) { return f.q[i] * q + f.b[i] + f.kappa * (std::log(q) + 1); };
  terms.value = [&f](Index i, double q) { return 0.5 * f.q[i] * q * q + f.b[i] * q + f.kappa * q * std::log(q); };
  VectorX<double> p_star;
  const auto wf = water_filling(terms, p_star);
  ASSERT_TRUE(wf.converged()) << wf.brief_report();
  ASSERT_GT(p_star.minCoeff(), 0.0);

  Options o;
  o.tolerance = 1e-12;
  o.max_iterations = 20000;
  Options line = o;
  line.step_rule = StepRule::LineSearch;
  struct Run {
    const char* name;
    std::function<Summary(VectorX<double>&)> solve;
  };
  const std::vector<Run> runs = {
      {"frank_wolfe line search", [&](VectorX<double>& p) { return frank_wolfe(f, p, line); }},
      {"frank_wolfe away", [&](VectorX<double>& p) { return frank_wolfe(f, p, line, FrankWolfeVariant::Away); }},
      {"frank_wolfe pairwise", [&](VectorX<double>& p) { return frank_wolfe(f, p, line, FrankWolfeVariant::Pairwise); }},
      {"mirror_descent", [&](VectorX<double>& p) { return mirror_descent(f, p, o); }},
      {"projected_gradient", [&](VectorX<double>& p) { return projected_gradient(f, p, o); }},
      {"fista", [&](VectorX<double>& p) { return accelerated_projected_gradient(f, p, o); }},
      {"ceres autodiff", [&](VectorX<double>& p) { return ceres_minimize(f, p, o); }},
  };
  for (const auto& run : runs) {
    VectorX<double> p = uniform(n);
    const Summary s = run.solve(p);
    EXPECT_TRUE(s.converged()) << run.name << ": " << s.brief_report();
    EXPECT_LE(s.kkt_residual, o.tolerance * std::max(1.0, std::abs(s.objective))) << run.name;
    EXPECT_LE((p - p_star).norm(), std::sqrt(2 * s.kkt_residual / mu) + std::sqrt(2 * wf.kkt_residual / mu) + 1e-14)
        << run.name;
    EXPECT_NEAR(s.objective, wf.objective, s.kkt_residual + wf.kkt_residual) << run.name;
  }
}

}  // namespace
}  // namespace probspace::solvers
