// Maximum entropy (spec probability.md §8.1, §10 table, §11 item 12).
#include <probspace/solvers/max_entropy.hpp>

#include "../support/testing.hpp"

#include <cmath>
#include <numbers>

#include <Eigen/Eigenvalues>

namespace probspace::solvers {
namespace {

using Eigen::MatrixXd;
using Eigen::VectorXd;
using probspace::testing::fd_gradient;
using probspace::testing::vec;

const Feature kX = [](double x) { return x; };
const Feature kX2 = [](double x) { return x * x; };

Options tight(double tolerance = 1e-11) {
  Options o;
  o.tolerance = tolerance;
  o.max_iterations = 100;
  return o;
}

/// Composite Simpson on [lo, hi] with n (even) panels: an oracle independent of Boost.
template <class F> double simpson(const F& f, double lo, double hi, int n = 20000) {
  const double h = (hi - lo) / n;
  double s = f(lo) + f(hi);
  for (int i = 1; i < n; ++i) s += (i % 2 ? 4 : 2) * f(lo + i * h);
  return s * h / 3;
}

DiscreteMaxEntropyProblem die(double mean) {
  DiscreteMaxEntropyProblem p;
  p.features = VectorXd::LinSpaced(6, 1, 6);
  p.moments = vec<double>({mean});
  return p;
}

TEST(MaxEntropy, DieWithMeanFourAndAHalf) {
  const auto r = max_entropy(die(4.5), tight(1e-13));
  ASSERT_TRUE(r.summary.converged()) << r.summary.brief_report();
  EXPECT_NEAR(r.lambda[0], -0.37104893808103334, 1e-13);
  const VectorXd expected = vec<double>({0.054353167826, 0.078771545633, 0.114159977229, 0.16544680311,
                                         0.239774440427, 0.347494065774});
  EXPECT_LE((r.probabilities - expected).cwiseAbs().maxCoeff(), 1e-12);
  EXPECT_NEAR(r.probabilities.sum(), 1.0, 1e-15);
  EXPECT_NEAR(r.probabilities.dot(VectorXd::LinSpaced(6, 1, 6)), 4.5, 1e-13);
  EXPECT_NEAR(r.entropy, 1.6135810981538292, 1e-13);
  EXPECT_NEAR(-(r.probabilities.array() * r.probabilities.array().log()).sum(), r.entropy, 1e-13);  // H = Ψ(λ*)
  EXPECT_LE(r.summary.kkt_residual, 1e-13);
  // Mean 3.5: the uniform distribution, λ = 0, H = log 6.
  const auto fair = max_entropy(die(3.5), tight(1e-13));
  EXPECT_NEAR(fair.lambda[0], 0, 1e-14);
  EXPECT_NEAR(fair.entropy, std::log(6.0), 1e-14);
}

TEST(MaxEntropy, UnitIntervalWithMeanPointThree) {
  MaxEntropyProblem p{0, 1, {kX}, vec<double>({0.3}), {}};
  const auto r = max_entropy(p, tight());
  ASSERT_TRUE(r.summary.converged()) << r.summary.brief_report();
  EXPECT_NEAR(r.lambda[0], 2.6721038552733853, 1e-10);
  EXPECT_NEAR(std::exp(r.log_partition), 0.34837467726339766, 1e-11);
  EXPECT_NEAR(r.entropy, -0.2528455630041859, 1e-11);
  // Z(λ) = (1 − e^{−λ})/λ in closed form; H = −∫p log p by Simpson.
  EXPECT_NEAR(std::exp(r.log_partition), (1 - std::exp(-r.lambda[0])) / r.lambda[0], 1e-13);
  EXPECT_NEAR(-simpson([&](double x) { return r.density(x) * std::log(r.density(x)); }, 0, 1), r.entropy, 1e-11);
  EXPECT_LE(r.summary.kkt_residual, 1e-11);
  // Mean ½: the uniform density.
  p.moments[0] = 0.5;
  const auto uniform = max_entropy(p, tight());
  EXPECT_NEAR(uniform.lambda[0], 0, 1e-12);
  EXPECT_NEAR(uniform.entropy, 0, 1e-12);
}

TEST(MaxEntropy, ExponentialOnTheHalfLine) {
  for (const double m : {0.25, 1.0, 3.0, 10.0}) {
    MaxEntropyProblem p{0, INFINITY, {kX}, vec<double>({m}), vec<double>({1.0})};
    const auto r = max_entropy(p, tight());
    ASSERT_TRUE(r.summary.converged()) << m << ": " << r.summary.brief_report();
    EXPECT_NEAR(r.lambda[0], 1 / m, 1e-10 / m);
    EXPECT_NEAR(r.entropy, 1 + std::log(m), 1e-10);
    EXPECT_NEAR(r.density(m), std::exp(-1.0) / m, 1e-10 / m);
  }
  // The half-line to the left: p ∝ e^{x} on (−∞, 0] has mean −1.
  MaxEntropyProblem left{-INFINITY, 0, {kX}, vec<double>({-1.0}), vec<double>({-0.5})};
  const auto r = max_entropy(left, tight());
  ASSERT_TRUE(r.summary.converged()) << r.summary.brief_report();
  EXPECT_NEAR(r.lambda[0], -1, 1e-10);
  EXPECT_NEAR(r.entropy, 1, 1e-10);
}

TEST(MaxEntropy, GaussianOnTheLine) {
  MaxEntropyProblem p{-INFINITY, INFINITY, {kX, kX2}, vec<double>({0, 1}), vec<double>({0, 1})};
  const auto r = max_entropy(p, tight());
  ASSERT_TRUE(r.summary.converged()) << r.summary.brief_report();
  EXPECT_NEAR(r.lambda[0], 0, 1e-10);
  EXPECT_NEAR(r.lambda[1], 0.5, 1e-10);
  EXPECT_NEAR(r.entropy, 1.4189385332046727, 1e-10);
  // Mean μ, variance σ²: λ₁ = −μ/σ², λ₂ = 1/(2σ²), H = ½ ln(2πeσ²); τ₂ = E[x²] = μ² + σ².
  const double mu = 1.5, sigma2 = 0.49;
  p.moments = vec<double>({mu, mu * mu + sigma2});
  const auto shifted = max_entropy(p, tight());
  ASSERT_TRUE(shifted.summary.converged()) << shifted.summary.brief_report();
  EXPECT_NEAR(shifted.lambda[0], -mu / sigma2, 1e-9);
  EXPECT_NEAR(shifted.lambda[1], 1 / (2 * sigma2), 1e-9);
  EXPECT_NEAR(shifted.entropy, 0.5 * std::log(2 * std::numbers::pi * std::numbers::e * sigma2), 1e-10);
}

TEST(MaxEntropy, UserDefinedFeaturesRecoverTheGeneratingMultipliers) {
  // φ = (sin πx, x⁴) on [−1, 2]: τ computed by Simpson from a known λ, then solved for λ.
  const std::vector<Feature> features{[](double x) { return std::sin(std::numbers::pi * x); },
                                      [](double x) { return x * x * x * x; }};
  const VectorXd truth = vec<double>({0.8, 0.3});
  const auto unnormalised = [&](double x) { return std::exp(-truth[0] * features[0](x) - truth[1] * features[1](x)); };
  const double z = simpson(unnormalised, -1, 2);
  VectorXd tau(2);
  for (int k = 0; k < 2; ++k)
    tau[k] = simpson([&](double x) { return features[std::size_t(k)](x) * unnormalised(x); }, -1, 2) / z;
  const auto r = max_entropy(MaxEntropyProblem{-1, 2, features, tau, {}}, tight());
  ASSERT_TRUE(r.summary.converged()) << r.summary.brief_report();
  EXPECT_LE((r.lambda - truth).cwiseAbs().maxCoeff(), 1e-9);
  EXPECT_NEAR(r.log_partition, std::log(z), 1e-10);
  EXPECT_NEAR(simpson([&](double x) { return r.density(x); }, -1, 2), 1.0, 1e-10);
  // Newton converges quadratically: few steps, and the residual history ends below the tolerance.
  EXPECT_LE(r.summary.iterations, 15);
  EXPECT_LE(r.summary.history.back().kkt_residual, 1e-11);
}

TEST(MaxEntropy, DualGradientAndHessianByFiniteDifferences) {
  const MaxEntropyProblem p{-1, 2, {kX, kX2, [](double x) { return std::cos(x); }}, vec<double>({0.4, 1.1, 0.5}), {}};
  const DiscreteMaxEntropyProblem d{MatrixXd::Random(7, 3), vec<double>({0.1, -0.2, 0.05}), {}};
  const VectorXd lambda = vec<double>({0.3, 0.7, -0.4});
  VectorXd grad, grad_d;
  MatrixXd hess, hess_d;
  max_entropy_dual(p, lambda, &grad, &hess);
  max_entropy_dual(d, lambda, &grad_d, &hess_d);
  const auto psi = [&](const VectorXd& l) { return max_entropy_dual(p, l); };
  const auto psi_d = [&](const VectorXd& l) { return max_entropy_dual(d, l); };
  EXPECT_LE((fd_gradient(psi, lambda, 1e-5) - grad).cwiseAbs().maxCoeff(), 1e-8);
  EXPECT_LE((fd_gradient(psi_d, lambda, 1e-5) - grad_d).cwiseAbs().maxCoeff(), 1e-9);
  for (Index k = 0; k < 3; ++k) {
    // ∂(∇Ψ)/∂λ_k = Cov[φ] e_k, and ∇Ψ = τ − E[φ] is the moment mismatch.
    const auto column = [&](const auto& problem, const MatrixXd& h) {
      VectorXd e = VectorXd::Zero(3), gp, gm;
      e[k] = 1e-5;
      max_entropy_dual(problem, lambda + e, &gp);
      max_entropy_dual(problem, lambda - e, &gm);
      return ((gp - gm) / 2e-5 - h.col(k)).cwiseAbs().maxCoeff();
    };
    EXPECT_LE(column(p, hess), 1e-7);
    EXPECT_LE(column(d, hess_d), 1e-8);
  }
  EXPECT_TRUE(hess.isApprox(hess.transpose()));
  EXPECT_GE(Eigen::SelfAdjointEigenSolver<MatrixXd>(hess).eigenvalues().minCoeff(), 0);
}

TEST(MaxEntropy, FailuresAreStatuses) {
  // τ outside the moment set: no maximiser; Newton runs out or stalls, no exception.
  const auto r = max_entropy(die(7.0), tight());
  EXPECT_FALSE(r.summary.converged());
  EXPECT_GT(r.summary.kkt_residual, 0.4);
  // Z(λ₀) = ∞ on the half-line at λ₀ = 0.
  const auto bad_start = max_entropy(MaxEntropyProblem{0, INFINITY, {kX}, vec<double>({1.0}), {}}, tight());
  EXPECT_EQ(bad_start.summary.termination, Termination::Failure);
  EXPECT_NE(bad_start.summary.message.find("not finite"), std::string::npos);
  EXPECT_EQ(max_entropy_dual(MaxEntropyProblem{0, INFINITY, {kX}, vec<double>({1.0}), {}}, vec<double>({-1.0})), INFINITY);
  // A budget of two Newton steps.
  Options o = tight();
  o.max_iterations = 2;
  const auto short_run = max_entropy(die(4.5), o);
  EXPECT_EQ(short_run.summary.termination, Termination::MaxIterations);
  EXPECT_EQ(short_run.summary.iterations, 2);
}

TEST(MaxEntropy, BadInput) {
  EXPECT_INVALID_ARGUMENT(max_entropy(MaxEntropyProblem{1, 0, {kX}, vec<double>({0.5}), {}}), "problem.lower");
  EXPECT_INVALID_ARGUMENT(max_entropy(MaxEntropyProblem{NAN, 1, {kX}, vec<double>({0.5}), {}}), "problem.lower");
  EXPECT_INVALID_ARGUMENT(max_entropy(MaxEntropyProblem{0, 1, {}, VectorXd(), {}}), "problem.features");
  EXPECT_INVALID_ARGUMENT(max_entropy(MaxEntropyProblem{0, 1, {Feature()}, vec<double>({0.5}), {}}), "problem.features");
  EXPECT_INVALID_ARGUMENT(max_entropy(MaxEntropyProblem{0, 1, {kX}, vec<double>({0.5, 1}), {}}), "problem.moments");
  EXPECT_INVALID_ARGUMENT(max_entropy(MaxEntropyProblem{0, 1, {kX}, vec<double>({NAN}), {}}), "problem.moments");
  EXPECT_INVALID_ARGUMENT(max_entropy(MaxEntropyProblem{0, 1, {kX}, vec<double>({0.5}), vec<double>({1, 2})}),
                          "problem.initial_lambda");
  EXPECT_INVALID_ARGUMENT(max_entropy(DiscreteMaxEntropyProblem{MatrixXd(0, 1), vec<double>({1}), {}}), "problem.features");
  EXPECT_INVALID_ARGUMENT(max_entropy(DiscreteMaxEntropyProblem{MatrixXd::Constant(2, 1, NAN), vec<double>({1}), {}}),
                          "problem.features");
  EXPECT_INVALID_ARGUMENT(max_entropy(DiscreteMaxEntropyProblem{MatrixXd::Ones(2, 1), vec<double>({1, 2}), {}}),
                          "problem.moments");
  EXPECT_INVALID_ARGUMENT(max_entropy_dual(die(4.5), vec<double>({1, 2})), "lambda");
  EXPECT_INVALID_ARGUMENT(max_entropy_dual(die(4.5), vec<double>({NAN})), "lambda");
  Options o;
  o.step_shrink = 1;
  EXPECT_INVALID_ARGUMENT(max_entropy(die(4.5), o), "options.step_shrink");
  o = {};
  o.step_size = 0;
  EXPECT_INVALID_ARGUMENT(max_entropy(die(4.5), o), "options.step_size");
  o = {};
  o.tolerance = -1;
  EXPECT_INVALID_ARGUMENT(max_entropy(die(4.5), o), "options.tolerance");
  o = {};
  o.max_iterations = -1;
  EXPECT_INVALID_ARGUMENT(max_entropy(die(4.5), o), "options.max_iterations");
  o = {};
  o.max_restarts = -1;
  EXPECT_INVALID_ARGUMENT(max_entropy(die(4.5), o), "options.max_restarts");
  o = {};
  o.step_rule = StepRule::Decaying;
  EXPECT_INVALID_ARGUMENT(max_entropy(die(4.5), o), "options.step_rule");
}

}  // namespace
}  // namespace probspace::solvers
