// Spec probability.md §10 "Solvers on F(p) = ½‖p − z‖²" and §11.9 (water-filling reproduces the
// closed forms to 1e-12).
#include "problems.hpp"

#include <probspace/simplex/entmax.hpp>
#include <probspace/simplex/softmax.hpp>
#include <probspace/simplex/sparsemax.hpp>
#include <probspace/solvers/frank_wolfe.hpp>
#include <probspace/solvers/mirror_descent.hpp>
#include <probspace/solvers/projected_gradient.hpp>
#include <probspace/solvers/water_filling.hpp>

#include <gtest/gtest.h>

namespace probspace::solvers {
namespace {

using namespace testing;

void expect_near(const VectorX<double>& actual, const VectorX<double>& expected, double tolerance) {
  ASSERT_EQ(actual.size(), expected.size());
  EXPECT_LE((actual - expected).cwiseAbs().maxCoeff(), tolerance) << actual.transpose() << "\nvs\n"
                                                                  << expected.transpose();
}

/// Every summary's certificate is within the tolerance it claims when it says Converged.
void expect_certified(const Summary& s, const Options& o) {
  if (s.converged()) {
    EXPECT_LE(s.kkt_residual, o.tolerance * std::max(1.0, std::abs(s.objective))) << s.brief_report();
  }
  EXPECT_GE(s.duality_gap, 0.0);
}

/// A constant step η for a fixed number of iterations (tolerance 0: no early stop short of G = 0).
Options constant_step(double eta, int iterations) {
  Options o;
  o.step_rule = StepRule::Constant;
  o.step_size = eta;
  o.max_iterations = iterations;
  o.tolerance = 0;
  return o;
}

constexpr double kFStar = 0.1125;
const VectorX<double> kPStar = vec({0.75, 0.25, 0, 0});

TEST(FrankWolfeReference, OpenLoopIteratesAndGaps) {
  Recording f{HalfSquaredDistance{reference_z()}};
  Options o;
  o.tolerance = 0;
  VectorX<double> p = uniform(4);
  const Summary s = frank_wolfe(f, p, o);
  expect_near(f.points[1], vec({1, 0, 0, 0}), 1e-15);
  expect_near(f.points[2], vec({1.0 / 3, 2.0 / 3, 0, 0}), 1e-15);
  expect_near(f.points[3], vec({2.0 / 3, 1.0 / 3, 0, 0}), 1e-15);
  expect_near(f.points[4], vec({0.8, 0.2, 0, 0}), 1e-15);
  expect_near(f.points[5], vec({8.0 / 15, 7.0 / 15, 0, 0}), 1e-15);
  const double gaps[] = {0.675, 0.5, 5.0 / 9, 1.0 / 18, 0.08};
  for (int t = 0; t < 5; ++t) {
    EXPECT_EQ(s.history[size_t(t)].iteration, t);
    EXPECT_NEAR(s.history[size_t(t)].kkt_residual, gaps[t], 1e-15) << "G_" << t;
    EXPECT_NEAR(s.history[size_t(t)].objective, 0.5 * (f.points[size_t(t)] - reference_z()).squaredNorm(), 1e-15);
  }
  EXPECT_DOUBLE_EQ(s.history[1].step, 1.0);  // η_0 = 2/(0+2)
  // The §10 pitfall: p_7 = p* exactly (G_7 = 0, the oracle tie g_0 = g_1), so even with tolerance 0
  // the run stops there, certified; the rational iterates p_10, p_100 lie beyond that tie.
  EXPECT_TRUE(s.converged()) << s.brief_report();
  EXPECT_EQ(s.iterations, 7);
  expect_near(p, kPStar, 1e-15);
  EXPECT_EQ(s.kkt_residual, 0.0);
  EXPECT_EQ(s.duality_gap, 0.0);
  // The bounds of §7.1 along the way: F − F* ≤ 2C_F/(t+2) with C_F ≤ 2L, and F − F* ≤ G_t.
  for (const auto& r : s.history) {
    EXPECT_LE(r.objective - kFStar, 4.0 / (r.iteration + 2.0) + 1e-15) << r.iteration;
    EXPECT_LE(r.objective - kFStar, r.kkt_residual + 1e-15) << r.iteration;
  }
}

TEST(FrankWolfeReference, OpenLoopFromAVertexKeepsSparsityAndBound) {
  // nnz(p_t) ≤ t + 1 from a vertex and F(p_t) − F* ≤ 2C_F/(t+2) (spec §7.1, §11.10).
  Recording f{HalfSquaredDistance{reference_z()}};
  Options o;
  o.tolerance = 0;
  o.max_iterations = 300;
  VectorX<double> p = vec({0, 0, 0, 1});
  const Summary s = frank_wolfe(f, p, o);
  for (size_t t = 0; t < f.points.size(); ++t) {
    EXPECT_LE((f.points[t].array() > 0).count(), Index(t + 1));
    EXPECT_LE(0.5 * (f.points[t] - reference_z()).squaredNorm() - kFStar, 4.0 / (double(t) + 2.0) + 1e-15);
  }
  EXPECT_LE(s.objective - kFStar, s.duality_gap + 1e-15);
  EXPECT_LE(s.duality_gap, s.kkt_residual + 1e-15);
}

TEST(FrankWolfeReference, ExactLineSearchFirstStep) {
  Recording f{HalfSquaredDistance{reference_z()}};
  static_assert(!LineSearchObjective<Recording<HalfSquaredDistance>>);
  const HalfSquaredDistance g{reference_z()};
  Options o;
  o.step_rule = StepRule::LineSearch;
  o.max_iterations = 1;
  o.tolerance = 0;
  VectorX<double> p = uniform(4);
  const Summary s = frank_wolfe(g, p, o);
  expect_near(p, vec({0.925, 0.025, 0.025, 0.025}), 1e-15);  // monotone: the best is the last
  EXPECT_NEAR(s.history[1].kkt_residual, 0.4, 1e-15);
  EXPECT_NEAR(s.history[1].step, 0.9, 1e-15);
}

TEST(FrankWolfeReference, LineSearchAndShortStepAgreeOnAQuadraticWithLEqualToItsCurvature) {
  // For ½‖p − z‖² the exact line search is clip(G/‖d‖²), the short step with L = 1; both descend.
  Options line, shortstep;
  line.step_rule = StepRule::LineSearch;
  shortstep.step_rule = StepRule::ShortStep;
  shortstep.lipschitz = 1;
  line.max_iterations = shortstep.max_iterations = 200;
  VectorX<double> a = uniform(4), b = uniform(4);
  const Summary sa = frank_wolfe(HalfSquaredDistance{reference_z()}, a, line);
  const Summary sb = frank_wolfe(HalfSquaredDistance{reference_z()}, b, shortstep);
  ASSERT_EQ(sa.history.size(), sb.history.size());
  for (size_t t = 0; t < sa.history.size(); ++t) {
    EXPECT_NEAR(sa.history[t].objective, sb.history[t].objective, 1e-15);
    if (t > 0) {
      EXPECT_LE(sa.history[t].objective, sa.history[t - 1].objective);
    }
    EXPECT_LE(sa.history[t].objective - kFStar, sa.history[t].kkt_residual + 1e-15);
  }
  expect_near(a, b, 1e-14);
  EXPECT_LE(sa.objective - kFStar, sa.duality_gap + 1e-15);
}

TEST(MirrorDescentReference, ConstantStepIterates) {
  Recording f{HalfSquaredDistance{reference_z()}};
  VectorX<double> p = uniform(4);
  mirror_descent(f, p, constant_step(1, 3));
  ASSERT_EQ(f.points.size(), 4u);
  expect_near(f.points[1], vec({0.437515729035, 0.265366703766, 0.177880621085, 0.119236946114}), 1e-12);
  expect_near(f.points[1], simplex::softmax(reference_z()), 1e-15);
  expect_near(f.points[2], vec({0.570320985445, 0.24922307027, 0.122221435259, 0.058234509026}), 1e-12);
  expect_near(f.points[3], vec({0.645899813558, 0.236014051811, 0.088091765641, 0.02999436899}), 1e-12);
}

TEST(MirrorDescentReference, LogDomainEqualsDirectForm) {
  // p_{t+1,i} ∝ p_{t,i} exp(−η g_{t,i}), computed directly, against the solver's log-space iterates.
  Recording f{HalfSquaredDistance{reference_z()}};
  VectorX<double> p = uniform(4);
  mirror_descent(f, p, constant_step(0.7, 20));
  VectorX<double> q = uniform(4);
  for (size_t t = 1; t < f.points.size(); ++t) {
    q = q.cwiseProduct((-0.7 * (q - reference_z())).array().exp().matrix());
    q /= q.sum();
    expect_near(f.points[t], q, 1e-15);
    EXPECT_GT(f.points[t].minCoeff(), 0.0);
  }
}

TEST(ProjectedGradientReference, UnitStepIsExact) {
  Options o;
  o.lipschitz = 1;  // Default: η = 1/L
  VectorX<double> p = uniform(4);
  const Summary s = projected_gradient(HalfSquaredDistance{reference_z()}, p, o);
  EXPECT_TRUE(s.converged()) << s.brief_report();
  EXPECT_EQ(s.iterations, 1);
  expect_near(p, kPStar, 1e-15);
  EXPECT_NEAR(s.objective, kFStar, 1e-15);
  EXPECT_EQ(s.kkt_residual, 0.0);
  expect_certified(s, o);
}

TEST(ProjectedGradientReference, HalfStepIterates) {
  Recording f{HalfSquaredDistance{reference_z()}};
  VectorX<double> p = uniform(4);
  const Summary s = projected_gradient(f, p, constant_step(0.5, 3));
  expect_near(f.points[1], vec({0.566666666667, 0.316666666667, 0.116666666667, 0}), 1e-12);
  expect_near(f.points[3], vec({0.71875, 0.28125, 0, 0}), 1e-15);
  // η = 1/L and below: F is non-increasing (spec §11.10).
  for (size_t t = 1; t < s.history.size(); ++t) EXPECT_LE(s.history[t].objective, s.history[t - 1].objective);
}

// §11.9: water-filling reproduces softmax, sparsemax and entmax to 1e-12.
class WaterFillingClosedForms : public ::testing::TestWithParam<VectorX<double>> {};

TEST_P(WaterFillingClosedForms, Entropy) {
  const VectorX<double>& x = GetParam();
  for (const double tau : {1.0, 0.5, 3.0}) {
    VectorX<double> p;
    const auto s = water_filling(entropy_terms(x, tau), p);
    EXPECT_TRUE(s.converged()) << s.brief_report();
    expect_near(p, simplex::softmax(x, tau), 1e-12);
    // λ = −c; the minimum value is −τ·LSE(x/τ) (spec §3 row 2).
    EXPECT_NEAR(s.objective, -tau * logsumexp(VectorX<double>(x / tau)), 1e-12);
    EXPECT_LE(s.kkt_residual, 1e-12);
  }
}

TEST_P(WaterFillingClosedForms, QuadraticIsSparsemax) {
  const VectorX<double>& x = GetParam();
  VectorX<double> p;
  const auto s = water_filling(quadratic_terms(x), p);
  EXPECT_TRUE(s.converged()) << s.brief_report();
  expect_near(p, simplex::sparsemax(x), 1e-12);
  // c = −τ of sparsemax: p_i = x_i + c on the support.
  VectorX<double> q(x.size());
  const auto threshold = simplex::sparsemax(x, q);
  EXPECT_NEAR(s.multiplier, -threshold.tau, 1e-12);
  VectorX<double> p2;
  water_filling(quadratic_terms(x, 2.5), p2);
  expect_near(p2, simplex::sparsemax(VectorX<double>(x / 2.5)), 1e-12);
}

TEST_P(WaterFillingClosedForms, TsallisIsEntmax) {
  const VectorX<double>& x = GetParam();
  for (const double alpha : {1.25, 1.5, 2.0, 3.0}) {
    VectorX<double> p;
    const auto s = water_filling(tsallis_terms(x, alpha), p);
    EXPECT_TRUE(s.converged()) << s.brief_report();
    expect_near(p, simplex::entmax(x, alpha), 1e-12);
  }
}

TEST_P(WaterFillingClosedForms, UserTermsWithAndWithoutInverse) {
  const VectorX<double>& x = GetParam();
  // The entropy term given by hand: f′ and its inverse, then f′ alone (inverted numerically).
  SeparableTerms terms;
  terms.size = x.size();
  terms.derivative = [&x](Index i, double q) { return -x[i] + std::log(q) + 1; };
  terms.inverse = [&x](Index i, double c) { return std::exp(c + x[i] - 1); };
  VectorX<double> p;
  EXPECT_TRUE(water_filling(terms, p).converged());
  expect_near(p, simplex::softmax(x), 1e-12);
  terms.inverse = nullptr;
  const auto s = water_filling(terms, p);
  EXPECT_TRUE(s.converged()) << s.brief_report();
  EXPECT_TRUE(std::isnan(s.objective));  // no value term
  expect_near(p, simplex::softmax(x), 1e-12);
  // The quadratic term by f′ alone: finite f′(0), a sparse answer.
  terms.derivative = [&x](Index i, double q) { return -x[i] + q; };
  EXPECT_TRUE(water_filling(terms, p).converged());
  expect_near(p, simplex::sparsemax(x), 1e-12);
}

INSTANTIATE_TEST_SUITE_P(Spec, WaterFillingClosedForms,
                         ::testing::Values(reference_z(), vec({2, 1, 0, -1}), vec({0.3}),
                                           vec({1.7, -0.4, 0.9, 0.9, 2.2, -3.0, 0.05}), vec({0, 0, 0}),
                                           vec({40, -40, 3, 12.5, 39.9})));

TEST(WaterFillingReference, SpecValues) {
  VectorX<double> p;
  water_filling(tsallis_terms(reference_z(), 1.5), p);
  expect_near(p, vec({0.601731749912, 0.276374898125, 0.106089416696, 0.0158039352663}), 1e-12);
  water_filling(tsallis_terms(vec({2, 1, 0, -1}), 1.5), p);
  expect_near(p, vec({(4 + std::sqrt(7.0)) / 8, (4 - std::sqrt(7.0)) / 8, 0, 0}), 1e-12);
  const auto s = water_filling(quadratic_terms(reference_z()), p);
  expect_near(p, kPStar, 1e-15);
  EXPECT_NEAR(s.multiplier, -0.25, 1e-15);
  water_filling(entropy_terms(reference_z(), 0.5), p);
  expect_near(p, vec({0.622102593096, 0.2288587543, 0.102832866999, 0.0462057856057}), 1e-12);
}

}  // namespace
}  // namespace probspace::solvers
