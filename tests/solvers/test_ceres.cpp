// The Ceres-backed solver (autodiff + L-BFGS over softmax(θ) + polish) and the gradient checker.
#include "../support/testing.hpp"
#include "problems.hpp"

#include <probspace/solvers/ceres_solver.hpp>
#include <probspace/solvers/gradient_checker.hpp>
#include <probspace/solvers/projected_gradient.hpp>

#include <gtest/gtest.h>

namespace probspace::solvers {
namespace {

using namespace testing;

/// F(p) = ½pᵀQp + bᵀp + κ KL(p‖q) as a templated functor: non-separable, strictly convex.
struct QuadraticPlusKlFunctor {
  QuadraticFunctor quadratic;
  VectorX<double> q;
  double kappa;
  template <class T> T operator()(const T* p) const {
    T kl(0);
    for (Index i = 0; i < q.size(); ++i) kl += p[i] * log(p[i] / q[i]);
    return quadratic(p) + kappa * kl;
  }
};

TEST(CeresSolver, AutoDiffGradientMatchesTheAnalyticOne) {
  std::mt19937_64 rng(21);
  const Quadratic f = random_quadratic(rng, 9, 0.1, 1.0);
  const AutoDiffObjective<QuadraticFunctor> autodiff(QuadraticFunctor{f.Q, f.b}, 9);
  static_assert(DifferentiableObjective<AutoDiffObjective<QuadraticFunctor>>);
  VectorX<double> p = probspace::testing::normal_vector<double>(rng, 9), g(9), expected(9);
  EXPECT_NEAR(value_and_gradient(autodiff, p, g), f.value(p), 1e-13);
  f.gradient(p, expected);
  EXPECT_LE((g - expected).cwiseAbs().maxCoeff(), 1e-13);
  EXPECT_NEAR(autodiff.value(p), f.value(p), 1e-13);
}

TEST(CeresSolver, NonSeparableQuadraticMatchesFista) {
  std::mt19937_64 rng(23);
  const Index n = 20;
  const Quadratic f = random_quadratic(rng, n, 0.2, 1.0);  // sparse optimum: the polish finds the face
  Options o;
  o.tolerance = 1e-11;
  o.max_iterations = 2000;
  VectorX<double> p_fista = uniform(n), p_ceres = uniform(n);
  const Summary fista = accelerated_projected_gradient(f, p_fista, o);
  const Summary ceres = ceres_minimize(QuadraticFunctor{f.Q, f.b}, p_ceres, o);
  ASSERT_TRUE(fista.converged()) << fista.brief_report();
  ASSERT_TRUE(ceres.converged()) << ceres.brief_report();
  EXPECT_NE(ceres.message.find("L-BFGS"), std::string::npos) << ceres.message;
  EXPECT_LE(ceres.kkt_residual, o.tolerance * std::max(1.0, std::abs(ceres.objective)));
  // Strong convexity μ = 0.2: ‖p − p*‖ ≤ √(2G/μ) for each.
  EXPECT_LE((p_ceres - p_fista).norm(), std::sqrt(2 * ceres.kkt_residual / 0.2) + std::sqrt(2 * fista.kkt_residual / 0.2));
  EXPECT_NEAR(ceres.objective, fista.objective, ceres.kkt_residual + fista.kkt_residual);
  // The history runs through both stages with consecutive iteration numbers.
  for (size_t t = 1; t < ceres.history.size(); ++t) EXPECT_GE(ceres.history[t].iteration, ceres.history[t - 1].iteration);
  EXPECT_EQ(ceres.history.back().iteration, ceres.iterations);
}

TEST(CeresSolver, KlPlusQuadraticMatchesFista) {
  // An interior optimum. L-BFGS over θ stops when |ΔF|/F reaches rounding (its θ-gradient
  // p ⊙ (g − p·g) is tiny on small p_i); the projected-gradient polish then meets the FW-gap tolerance.
  std::mt19937_64 rng(29);
  const Index n = 15;
  const Quadratic quad = random_quadratic(rng, n, 0.0, 1.0);
  VectorX<double> q = uniform(n) + 0.02 * probspace::testing::normal_vector<double>(rng, n).cwiseAbs();
  q /= q.sum();
  const QuadraticPlusKlFunctor functor{{quad.Q, quad.b}, q, 0.3};
  const AutoDiffObjective<QuadraticPlusKlFunctor> objective(functor, n);
  Options o;
  o.tolerance = 1e-10;
  o.max_iterations = 5000;  // κ/min p* ≈ 200: FISTA needs ~1100 iterations
  VectorX<double> p_ceres = uniform(n), p_fista = uniform(n);
  const Summary ceres = ceres_minimize(functor, p_ceres, o);
  const Summary fista = accelerated_projected_gradient(objective, p_fista, o);
  ASSERT_TRUE(ceres.converged()) << ceres.brief_report();
  ASSERT_TRUE(fista.converged()) << fista.brief_report();
  EXPECT_NE(ceres.message.find("L-BFGS"), std::string::npos) << ceres.message;
  // KL is 1-strongly convex in ℓ1 ⊇ ℓ2 on Δ: μ ≥ κ.
  EXPECT_LE((p_ceres - p_fista).norm(), std::sqrt(2 * ceres.kkt_residual / 0.3) + std::sqrt(2 * fista.kkt_residual / 0.3));
}

TEST(CeresSolver, CallbackStopsTheLbfgsStage) {
  Options o;
  o.callbacks.push_back([](const IterationRecord& r) { return r.iteration == 2 ? CallbackResult::Stop : CallbackResult::Continue; });
  VectorX<double> p = uniform(4);
  const Summary s = ceres_minimize(HalfSquaredDistance{reference_z()}, p, o);
  EXPECT_EQ(s.termination, Termination::UserStop) << s.brief_report();
  EXPECT_EQ(s.iterations, 2);
}

TEST(GradientChecker, AcceptsACorrectGradientAndFlagsAWrongOne) {
  std::mt19937_64 rng(31);
  const Quadratic f = random_quadratic(rng, 6, 0.1, 1.0);
  const VectorX<double> p = uniform(6);
  const GradientCheckReport good = check_gradient(f, p);
  EXPECT_TRUE(good.ok) << good.report();
  EXPECT_LE(good.max_rel_error, 1e-8);
  ASSERT_EQ(good.entries.size(), 6u);

  // A deliberately wrong gradient: coordinate 4 off by 1e-3 (e.g. a missing term).
  struct Wrong {
    Quadratic f;
    double value(const VectorX<double>& q) const { return f.value(q); }
    void gradient(const VectorX<double>& q, VectorX<double>& g) const {
      f.gradient(q, g);
      g[4] += 1e-3;
    }
  };
  const GradientCheckReport bad = check_gradient(Wrong{f}, p);
  EXPECT_FALSE(bad.ok);
  EXPECT_EQ(bad.worst_index, 4);
  EXPECT_NEAR(bad.max_abs_error, 1e-3, 1e-8);
  for (const auto& e : bad.entries) EXPECT_EQ(e.ok, e.index != 4) << e.index;
  EXPECT_NE(bad.report().find("<-- mismatch"), std::string::npos);
  EXPECT_NE(bad.report().find("MISMATCH"), std::string::npos);
  // A NaN gradient is a mismatch too.
  struct NanGradient {
    double value_and_gradient(const VectorX<double>& q, VectorX<double>& g) const {
      g = q;
      g[0] = std::numeric_limits<double>::quiet_NaN();
      return 0.5 * q.squaredNorm();
    }
  };
  const auto nan = check_gradient(NanGradient{}, p);
  EXPECT_FALSE(nan.ok);
  EXPECT_FALSE(nan.entries[0].ok);
  EXPECT_TRUE(nan.entries[1].ok);
}

}  // namespace
}  // namespace probspace::solvers
