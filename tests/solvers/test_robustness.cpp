// The restart policy (spec embedding.md §8), callbacks, and bad input: InvalidArgument naming the
// argument, or a FAILURE summary where documented.
#include "../support/testing.hpp"
#include "problems.hpp"

#include <probspace/solvers/ceres_solver.hpp>
#include <probspace/solvers/frank_wolfe.hpp>
#include <probspace/solvers/gradient_checker.hpp>
#include <probspace/solvers/mirror_descent.hpp>
#include <probspace/solvers/projected_gradient.hpp>
#include <probspace/solvers/water_filling.hpp>

#include <gtest/gtest.h>

namespace probspace::solvers {
namespace {

using namespace testing;

/// ½‖p − z‖², but `bad` (NaN, or a huge value) where p_0 > 0.8: steps that are too long land there.
struct BadBeyond {
  VectorX<double> z;
  double bad;
  double value_and_gradient(const VectorX<double>& p, VectorX<double>& g) const {
    g = p - z;
    return p[0] > 0.8 ? bad : 0.5 * g.squaredNorm();
  }
};
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

TEST(RestartPolicy, ProjectedGradientRestartsWithHalvedStepsAndConverges) {
  // From uniform, η = 8, 4, 2 all project onto e₀ (p_0 = 1 > 0.8); η = 1 = 1/L lands on p* (§10).
  for (const double bad : {kNaN, 1e12}) {
    Options o;
    o.step_rule = StepRule::Constant;
    o.step_size = 8;
    VectorX<double> p = uniform(4);
    const Summary s = projected_gradient(BadBeyond{reference_z(), bad}, p, o);
    EXPECT_TRUE(s.converged()) << s.brief_report();
    ASSERT_EQ(s.restarts.size(), 3u) << s.brief_report();
    const std::string reason = std::isnan(bad) ? "objective is NaN" : "objective rose above the bound";
    double step = 8;
    for (const auto& r : s.restarts) {
      EXPECT_EQ(r.iteration, 0);
      EXPECT_EQ(r.reason, reason);
      EXPECT_EQ(r.step, step *= 0.5);
    }
    EXPECT_EQ(s.iterations, 1);
    EXPECT_EQ((p - vec({0.75, 0.25, 0, 0})).cwiseAbs().maxCoeff(), 0.0);
    EXPECT_NE(s.brief_report().find("3 restarts"), std::string::npos);
  }
}

TEST(RestartPolicy, ExhaustedRestartsGiveFailureWithTheLastGoodPoint) {
  Options o;
  o.step_rule = StepRule::Constant;
  o.step_size = 8;
  o.max_restarts = 2;
  VectorX<double> p = uniform(4);
  const Summary s = projected_gradient(BadBeyond{reference_z(), kNaN}, p, o);
  EXPECT_EQ(s.termination, Termination::Failure);
  EXPECT_EQ(s.restarts.size(), 2u);
  EXPECT_NE(s.message.find("objective is NaN at iteration 0 after 2 restarts"), std::string::npos) << s.message;
  EXPECT_EQ(p, uniform(4));                     // the last good point
  EXPECT_NEAR(s.kkt_residual, 0.675, 1e-15);   // with its certificate (G₀ of §10)
  o.max_restarts = 0;
  EXPECT_EQ(projected_gradient(BadBeyond{reference_z(), kNaN}, p, o).termination, Termination::Failure);
}

TEST(RestartPolicy, MirrorDescentShrinksAConstantStepUntilItIsStable) {
  // z ∈ Δ, so p* = z (interior). η = 20 and 10 put p_0 > 0.8 at once.
  const VectorX<double> z = vec({0.5, 0.3, 0.15, 0.05});
  Options o;
  o.step_rule = StepRule::Constant;
  o.step_size = 20;
  o.max_restarts = 10;
  o.tolerance = 1e-10;
  VectorX<double> p = uniform(4);
  const Summary s = mirror_descent(BadBeyond{z, kNaN}, p, o);
  EXPECT_TRUE(s.converged()) << s.brief_report();
  ASSERT_GE(s.restarts.size(), 2u);
  double step = 20;
  for (const auto& r : s.restarts) EXPECT_EQ(r.step, step *= 0.5);
  EXPECT_LE((p - z).norm(), std::sqrt(2 * s.kkt_residual) + 1e-15);  // μ = 1
}

TEST(RestartPolicy, FrankWolfeOpenLoopRestartsOffAVertexOfAnEntropyObjective) {
  // η₀ = 2/(0+2) = 1 lands on a vertex, where the KL term's gradient is −inf: restart with the
  // schedule halved (η_t = 1/(t+2)), which keeps p interior.
  const QuadraticPlusKl f{reference_z(), uniform(4), 0.2};
  Options o;
  o.max_iterations = 200;
  VectorX<double> p = uniform(4);
  const Summary s = frank_wolfe(f, p, o);
  ASSERT_EQ(s.restarts.size(), 1u) << s.brief_report();
  EXPECT_EQ(s.restarts[0].iteration, 0);
  EXPECT_EQ(s.restarts[0].step, 0.5);
  EXPECT_DOUBLE_EQ(s.history[1].step, 0.5);
  EXPECT_GT(p.minCoeff(), 0.0);
  EXPECT_LT(s.kkt_residual, s.history[0].kkt_residual / 50);
}

TEST(Callbacks, StopEndsTheRunWithUserStop) {
  Options o;
  int calls = 0;
  o.callbacks.push_back([&](const IterationRecord& r) {
    ++calls;
    return r.iteration == 5 ? CallbackResult::Stop : CallbackResult::Continue;
  });
  o.record_history = false;
  VectorX<double> p = uniform(4);
  const Summary s = frank_wolfe(HalfSquaredDistance{reference_z()}, p, o);
  EXPECT_EQ(s.termination, Termination::UserStop);
  EXPECT_EQ(s.iterations, 5);
  EXPECT_EQ(calls, 6);
  EXPECT_TRUE(s.history.empty());
  EXPECT_NEAR(s.objective, 0.5 * (p - reference_z()).squaredNorm(), 1e-15);  // the best iterate, consistent
}

TEST(BadInput, StartPointsAndObjectives) {
  const HalfSquaredDistance f{reference_z()};
  VectorX<double> p;
  p = vec({0.5, 0.5, 0.5, -0.5});
  EXPECT_INVALID_ARGUMENT(frank_wolfe(f, p), "p");
  p = vec({0.3, 0.3, 0.3, 0.3});
  EXPECT_INVALID_ARGUMENT(projected_gradient(f, p), "p");
  p = vec({0.5, kNaN, 0.25, 0.25});
  EXPECT_INVALID_ARGUMENT(accelerated_projected_gradient(f, p), "p");
  p = VectorX<double>();
  EXPECT_INVALID_ARGUMENT(mirror_descent(f, p), "p");
  p = vec({0.5, 0.5, 0, 0});  // zero entries stay zero under mirror descent and softmax(θ)
  EXPECT_INVALID_ARGUMENT(mirror_descent(f, p), "p");
  EXPECT_INVALID_ARGUMENT(ceres_minimize(f, p), "p");
  p = vec({0.5, 0.5});  // wrong size for z: the gradient has size 4
  struct WrongSize {
    double value_and_gradient(const VectorX<double>&, VectorX<double>& g) const {
      g = VectorX<double>::Zero(3);
      return 0;
    }
  };
  EXPECT_INVALID_ARGUMENT(frank_wolfe(WrongSize{}, p), "objective");
  p = vec({0.85, 0.05, 0.05, 0.05});  // the objective is NaN at the start
  EXPECT_INVALID_ARGUMENT(projected_gradient(BadBeyond{reference_z(), kNaN}, p), "p");
  p = vec({1, 0, 0, 0});  // the KL gradient is −inf at a vertex
  EXPECT_INVALID_ARGUMENT(frank_wolfe(QuadraticPlusKl{reference_z(), uniform(4), 0.1}, p), "p");
}

TEST(BadInput, Options) {
  const HalfSquaredDistance f{reference_z()};
  const auto check = [&](auto mutate, const char* argument) {
    Options o;
    mutate(o);
    VectorX<double> p = uniform(4);
    EXPECT_INVALID_ARGUMENT(frank_wolfe(f, p, o), argument);
    EXPECT_INVALID_ARGUMENT(mirror_descent(f, p, o), argument);
    EXPECT_INVALID_ARGUMENT(projected_gradient(f, p, o), argument);
    EXPECT_INVALID_ARGUMENT(ceres_minimize(f, p, o), argument);
    EXPECT_INVALID_ARGUMENT(water_filling(quadratic_terms(reference_z()), p, o), argument);
  };
  check([](Options& o) { o.max_iterations = -1; }, "options.max_iterations");
  check([](Options& o) { o.tolerance = kNaN; }, "options.tolerance");
  check([](Options& o) { o.tolerance = -1e-3; }, "options.tolerance");
  check([](Options& o) { o.step_size = 0; }, "options.step_size");
  check([](Options& o) { o.lipschitz = -1; }, "options.lipschitz");
  check([](Options& o) { o.max_restarts = -1; }, "options.max_restarts");
  check([](Options& o) { o.step_shrink = 1; }, "options.step_shrink");
  check([](Options& o) { o.divergence_factor = 0; }, "options.divergence_factor");

  VectorX<double> p = uniform(4);
  Options o;
  o.step_rule = StepRule::Decaying;
  EXPECT_INVALID_ARGUMENT(frank_wolfe(f, p, o), "options.step_rule");
  EXPECT_INVALID_ARGUMENT(projected_gradient(f, p, o), "options.step_rule");
  EXPECT_INVALID_ARGUMENT(ceres_minimize(f, p, o), "options.step_rule");
  o.step_rule = StepRule::OpenLoop;
  EXPECT_INVALID_ARGUMENT(frank_wolfe(f, p, o, FrankWolfeVariant::Away), "options.step_rule");
  EXPECT_INVALID_ARGUMENT(mirror_descent(f, p, o), "options.step_rule");
  o.step_rule = StepRule::LineSearch;  // the objective has no line_search
  EXPECT_INVALID_ARGUMENT(frank_wolfe(QuadraticPlusKl{reference_z(), uniform(4), 0.1}, p, o), "options.step_rule");
  o.step_rule = StepRule::ShortStep;  // needs L
  EXPECT_INVALID_ARGUMENT(frank_wolfe(f, p, o), "options.lipschitz");
  o.step_rule = StepRule::Default;  // away without line search: the short step, which needs L
  EXPECT_INVALID_ARGUMENT(frank_wolfe(QuadraticPlusKl{reference_z(), uniform(4), 0.1}, p, o, FrankWolfeVariant::Pairwise),
                          "options.lipschitz");
}

TEST(BadInput, WaterFillingTermsAndFailures) {
  VectorX<double> p;
  EXPECT_INVALID_ARGUMENT(water_filling(SeparableTerms{}, p), "terms.size");
  SeparableTerms terms;
  terms.size = 3;
  EXPECT_INVALID_ARGUMENT(water_filling(terms, p), "terms.derivative");
  EXPECT_INVALID_ARGUMENT(entropy_terms(VectorX<double>(), 1), "x");
  EXPECT_INVALID_ARGUMENT(entropy_terms(vec({1, kNaN}), 1), "x");
  EXPECT_INVALID_ARGUMENT(entropy_terms(vec({1, 2}), 0), "temperature");
  EXPECT_INVALID_ARGUMENT(quadratic_terms(vec({1, 2}), -1), "weight");
  EXPECT_INVALID_ARGUMENT(tsallis_terms(vec({1, 2}), 1.0), "alpha");
  EXPECT_INVALID_ARGUMENT(tsallis_terms(vec({1, 2}), kNaN), "alpha");
  // A concave term (f′ decreasing): no sign change on the bracket, a FAILURE summary.
  terms.derivative = [](Index, double q) { return -q; };
  EXPECT_EQ(water_filling(terms, p).termination, Termination::Failure);
  // A derivative that is NaN: FAILURE, not an exception.
  terms.derivative = [](Index i, double q) { return i == 1 ? kNaN : q; };
  const auto s = water_filling(terms, p);
  EXPECT_EQ(s.termination, Termination::Failure);
  EXPECT_FALSE(s.message.empty());
}

TEST(BadInput, GradientChecker) {
  const HalfSquaredDistance f{reference_z()};
  EXPECT_INVALID_ARGUMENT(check_gradient(f, VectorX<double>()), "p");
  EXPECT_INVALID_ARGUMENT(check_gradient(f, vec({0.1, kNaN, 0, 0})), "p");
  EXPECT_INVALID_ARGUMENT(check_gradient(f, uniform(4), 0.0), "relative_step");
  EXPECT_INVALID_ARGUMENT(check_gradient(f, uniform(4), 1e-6, -1.0), "tolerance");
  EXPECT_INVALID_ARGUMENT(AutoDiffObjective<QuadraticFunctor>(QuadraticFunctor{}, 0), "n");
  const AutoDiffObjective<QuadraticFunctor> autodiff(QuadraticFunctor{Eigen::MatrixXd::Identity(3, 3), vec({1, 2, 3})}, 3);
  EXPECT_INVALID_ARGUMENT(autodiff.value(uniform(4)), "p");
}

}  // namespace
}  // namespace probspace::solvers
