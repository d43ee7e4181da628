// Wasserstein gradient flow, Fokker–Planck and Langevin (spec probability.md §8.2–8.3, §11 item 13).
#include <probspace/solvers/wasserstein.hpp>

#include "../support/testing.hpp"

#include <cmath>
#include <numbers>
#include <random>

namespace probspace::solvers {
namespace {

using Eigen::VectorXd;

const ScalarFunction kHalfSquare = [](double x) { return 0.5 * x * x; };
const ScalarFunction kIdentity = [](double x) { return x; };
/// A double well V = (x² − 1)², tilted: its Gibbs density is bimodal and asymmetric.
const ScalarFunction kDoubleWell = [](double x) { return (x * x - 1) * (x * x - 1) + 0.3 * x; };

/// Cell values of N(m, s²) at the centres of [lo, hi] split in n cells.
VectorXd gaussian_cells(double lo, double hi, int n, double m, double s) {
  const double h = (hi - lo) / n;
  VectorXd p(n);
  for (int i = 0; i < n; ++i) {
    const double x = lo + (i + 0.5) * h;
    p[i] = std::exp(-0.5 * (x - m) * (x - m) / (s * s));
  }
  return p;
}

TEST(FokkerPlanck, ConservesMassKeepsPositivityAndDecreasesF) {
  FokkerPlanckProblem problem{-2.5, 2.5, 200, kDoubleWell, gaussian_cells(-2.5, 2.5, 200, 1.8, 0.15)};
  problem.initial.head(60).setZero();  // zero cells stay ≥ 0 and fill in
  FokkerPlanckOptions o;
  o.time_step = 5e-3;
  o.max_iterations = 2000;
  o.tolerance = 0;
  o.snapshot_every = 500;
  const auto r = fokker_planck(problem, o);
  EXPECT_EQ(r.summary.termination, Termination::MaxIterations);
  EXPECT_NEAR(r.time, 10.0, 1e-12);
  const double h = 5.0 / 200;
  ASSERT_EQ(r.snapshots.size(), 5u);
  for (const auto& p : r.snapshots) {
    EXPECT_NEAR(p.sum() * h, 1.0, 1e-12);
    EXPECT_GE(p.minCoeff(), 0.0);
  }
  EXPECT_NEAR(r.density.sum() * h, 1.0, 1e-12);
  EXPECT_GT(r.density.minCoeff(), 0.0);
  ASSERT_EQ(r.free_energy.size(), 2001u);
  for (std::size_t k = 1; k < r.free_energy.size(); ++k) EXPECT_LE(r.free_energy[k], r.free_energy[k - 1] + 1e-13) << k;
  // The gap F_h − F_h* = KL(p‖π_h) closes, and the summary's certificates are consistent.
  EXPECT_GE(r.summary.duality_gap, 0);
  EXPECT_LT(r.summary.duality_gap, 1e-6);
  EXPECT_EQ(r.summary.objective, r.free_energy.back());
}

TEST(FokkerPlanck, SteadyStateIsGibbsWithinDiscretisationErrorShrinkingWithTheGrid) {
  // π = e^{−V}/Z with Z by fine Simpson; the discrete steady state is e^{−V(x_i)}/(hΣe^{−V}), so the
  // remaining error is the midpoint rule's O(h²) in the normalisation. V = 2x + sin 3x on [0, 2]
  // keeps π away from 0 at the walls (a density that vanishes there makes the midpoint rule
  // spectrally accurate, and the error invisible).
  const ScalarFunction v = [](double x) { return 2 * x + std::sin(3 * x); };
  const double lo = 0, hi = 2;
  double z = 0;
  {
    const int n = 200000;
    const double h = (hi - lo) / n;
    for (int i = 0; i <= n; ++i) z += (i == 0 || i == n ? 1 : (i % 2 ? 4 : 2)) * std::exp(-v(lo + i * h));
    z *= h / 3;
  }
  double previous = 0, previous_f = 0;
  for (const int cells : {25, 50, 100, 200}) {
    FokkerPlanckOptions o;
    o.time_step = 0.05;
    o.max_iterations = 100000;
    o.tolerance = 1e-11;  // converge to the discrete steady state
    const auto r = fokker_planck({lo, hi, cells, v, VectorXd::Ones(cells)}, o);
    ASSERT_TRUE(r.summary.converged()) << r.summary.brief_report();
    EXPECT_LE(r.summary.kkt_residual, o.tolerance);
    double error = 0;
    for (int i = 0; i < cells; ++i) error = std::max(error, std::abs(r.density[i] - std::exp(-v(r.x[i])) / z));
    const double f_error = std::abs(r.summary.objective + std::log(z));  // F* = −log Z
    // Second order: log₂ of the error ratio per halving of h tends to 2 (1.86 from 25 to 50 cells).
    if (cells > 25) {
      EXPECT_GT(std::log2(previous / error), 1.8) << cells;
      EXPECT_GT(std::log2(previous_f / f_error), 1.8) << cells;
    }
    if (cells > 50) {
      EXPECT_NEAR(std::log2(previous / error), 2.0, 0.1) << cells;
      EXPECT_NEAR(std::log2(previous_f / f_error), 2.0, 0.1) << cells;
    }
    previous = error, previous_f = f_error;
  }
  EXPECT_LT(previous, 2e-4);
}

TEST(FokkerPlanck, OrnsteinUhlenbeckMomentsFollowTheClosedForm) {
  // V = x²/2, p₀ = N(m₀, s₀²): p_t = N(m₀e^{−t}, 1 + (s₀² − 1)e^{−2t}); F(t) − F* = KL(p_t‖π).
  const double m0 = 2.0, s0 = 0.5, t = 1.0, lo = -10, hi = 10;
  double previous_mean_error = INFINITY, previous_var_error = INFINITY;
  for (const int refine : {1, 2, 4}) {
    const int cells = 200 * refine;
    FokkerPlanckOptions o;
    o.time_step = 4e-3 / refine;
    o.max_iterations = 250 * refine;
    o.tolerance = 0;
    const auto r = fokker_planck({lo, hi, cells, kHalfSquare, gaussian_cells(lo, hi, cells, m0, s0)}, o);
    ASSERT_NEAR(r.time, t, 1e-12);
    const double h = (hi - lo) / cells;
    const double mean = h * r.x.dot(r.density);
    const double var = h * (r.x.array() - mean).square().matrix().dot(r.density);
    const double mean_t = m0 * std::exp(-t), var_t = 1 + (s0 * s0 - 1) * std::exp(-2 * t);
    const double mean_error = std::abs(mean - mean_t), var_error = std::abs(var - var_t);
    // Backward Euler is first order: m_n = m₀(1 + Δt)^{−n}, an error ≈ m₀e^{−t}·tΔt/2.
    EXPECT_LE(mean_error, mean_t * t * o.time_step) << refine;
    EXPECT_LE(var_error, 4 * t * o.time_step) << refine;
    EXPECT_LT(mean_error, 0.6 * previous_mean_error);
    EXPECT_LT(var_error, 0.6 * previous_var_error);
    previous_mean_error = mean_error, previous_var_error = var_error;
    // F(t) = (m² + s²)/2 − ½ ln(2πe s²), F* = −½ ln 2π.
    const double f_t = (mean_t * mean_t + var_t) / 2 - 0.5 * std::log(2 * std::numbers::pi * std::numbers::e * var_t);
    EXPECT_NEAR(r.summary.objective, f_t, 2 * o.time_step) << refine;
    EXPECT_NEAR(r.summary.objective - r.summary.duality_gap, -0.9189385332046727, 1e-6);  // F_h* ≈ −½ ln 2π
  }
}

TEST(ParticleFlow, PotentialEnergyCollapsesOntoTheMinimiser) {
  std::mt19937_64 rng(1);
  const VectorXd x0 = probspace::testing::normal_vector<double>(rng, 200, 2.0);
  ParticleEnergy e{[](double x) { return 0.5 * (x - 1) * (x - 1); }, [](double x) { return x - 1; }, {}, {}};
  ParticleFlowOptions o;
  o.time_step = 0.1;
  o.max_iterations = 10000;
  o.tolerance = 1e-10;
  const auto r = particle_flow(x0, e, o);
  ASSERT_TRUE(r.summary.converged()) << r.summary.brief_report();
  EXPECT_LE(r.summary.kkt_residual, o.tolerance);
  EXPECT_LE((r.particles.array() - 1).abs().maxCoeff(), 1e-9);
  for (std::size_t k = 1; k < r.energy.size(); ++k) EXPECT_LE(r.energy[k], r.energy[k - 1]);
  // dx/dt = −(x − 1): explicit Euler gives x_n − 1 = (1 − Δt)^n (x₀ − 1) exactly.
  o.max_iterations = 7;
  o.tolerance = 0;
  const auto seven = particle_flow(x0, e, o);
  EXPECT_LE(((seven.particles.array() - 1) - std::pow(0.9, 7) * (x0.array() - 1)).abs().maxCoeff(), 1e-13);
}

TEST(ParticleFlow, InteractionEnergyFollowsTheClosedForm) {
  // V = x²/2, W(z) = z²/2: dx_i/dt = −x_i − (x_i − m), so m(t) = m₀e^{−t}, x_i − m = (x_i − m)₀e^{−2t};
  // Euler: factors (1 − Δt)^n and (1 − 2Δt)^n.
  std::mt19937_64 rng(2);
  VectorXd x0 = probspace::testing::normal_vector<double>(rng, 50, 1.0);
  x0.array() += 3;
  const ParticleEnergy e{kHalfSquare, kIdentity, kHalfSquare, kIdentity};
  ParticleFlowOptions o;
  o.time_step = 0.01;
  o.max_iterations = 100;
  o.tolerance = 0;
  const auto r = particle_flow(x0, e, o);
  const double m0 = x0.mean(), m = r.particles.mean();
  EXPECT_NEAR(m, m0 * std::pow(0.99, 100), 1e-12);
  EXPECT_LE(((r.particles.array() - m) - std::pow(0.98, 100) * (x0.array() - m0)).abs().maxCoeff(), 1e-12);
  EXPECT_NEAR(m, m0 * std::exp(-1.0), 0.01 * m0);  // and the ODE's e^{−t} to O(Δt)
  for (std::size_t k = 1; k < r.energy.size(); ++k) EXPECT_LE(r.energy[k], r.energy[k - 1]);
}

TEST(ParticleFlow, TooLargeAStepIsUndoneAndShrunk) {
  // V = 50x²: explicit Euler is unstable for Δt > 0.02; from Δt = 0.05 two halvings reach 0.0125.
  const ParticleEnergy e{[](double x) { return 50 * x * x; }, [](double x) { return 100 * x; }, {}, {}};
  ParticleFlowOptions o;
  o.time_step = 0.05;
  o.max_iterations = 1000;
  o.tolerance = 1e-9;
  const auto r = particle_flow(VectorXd::LinSpaced(20, -1, 1), e, o);
  ASSERT_TRUE(r.summary.converged()) << r.summary.brief_report();
  ASSERT_EQ(r.summary.restarts.size(), 2u);
  EXPECT_EQ(r.summary.restarts.back().step, 0.0125);
  EXPECT_EQ(r.summary.restarts[0].reason, "energy rose");
  // With no restarts allowed it fails, as a status.
  o.max_restarts = 0;
  const auto failed = particle_flow(VectorXd::LinSpaced(20, -1, 1), e, o);
  EXPECT_EQ(failed.summary.termination, Termination::Failure);
}

TEST(Langevin, OrnsteinUhlenbeckMeanAndVarianceWithinMonteCarloError) {
  const int n = 8000;
  const double m0 = 2.0, s0 = 0.5, dt = 1e-3;
  std::mt19937_64 rng(3);
  VectorXd x0 = probspace::testing::normal_vector<double>(rng, n, s0);
  x0.array() += m0;
  for (const int steps : {250, 1000}) {
    const double t = steps * dt;
    const VectorXd x = langevin(x0, kIdentity, dt, steps, 42);
    const double mean = x.mean(), var = (x.array() - mean).square().sum() / (n - 1);
    const double mean_t = m0 * std::exp(-t), var_t = 1 + (s0 * s0 - 1) * std::exp(-2 * t);
    // 4 standard errors (sd/√n for the mean, var·√(2/n) for the variance) plus the O(Δt) bias.
    EXPECT_NEAR(mean, mean_t, 4 * std::sqrt(var_t / n) + m0 * t * dt) << t;
    EXPECT_NEAR(var, var_t, 4 * var_t * std::sqrt(2.0 / n) + 2 * dt) << t;
  }
  // Reproducible by seed.
  EXPECT_EQ(langevin(x0.head(10), kIdentity, dt, 5, 7), langevin(x0.head(10), kIdentity, dt, 5, 7));
}

TEST(Wasserstein, BadInput) {
  const VectorXd p0 = VectorXd::Ones(10);
  FokkerPlanckOptions o;
  EXPECT_INVALID_ARGUMENT(fokker_planck({1, 0, 10, kHalfSquare, p0}, o), "problem.lower");
  EXPECT_INVALID_ARGUMENT(fokker_planck({0, INFINITY, 10, kHalfSquare, p0}, o), "problem.lower");
  EXPECT_INVALID_ARGUMENT(fokker_planck({0, 1, 1, kHalfSquare, VectorXd::Ones(1)}, o), "problem.cells");
  EXPECT_INVALID_ARGUMENT(fokker_planck({0, 1, 10, {}, p0}, o), "problem.potential");
  EXPECT_INVALID_ARGUMENT(fokker_planck({0, 1, 10, [](double) { return NAN; }, p0}, o), "problem.potential");
  EXPECT_INVALID_ARGUMENT(fokker_planck({0, 1, 10, kHalfSquare, VectorXd::Ones(9)}, o), "problem.initial");
  EXPECT_INVALID_ARGUMENT(fokker_planck({0, 1, 10, kHalfSquare, -p0}, o), "problem.initial");
  EXPECT_INVALID_ARGUMENT(fokker_planck({0, 1, 10, kHalfSquare, VectorXd::Zero(10)}, o), "problem.initial");
  o.time_step = 0;
  EXPECT_INVALID_ARGUMENT(fokker_planck({0, 1, 10, kHalfSquare, p0}, o), "options.time_step");
  o = {};
  o.snapshot_every = -1;
  EXPECT_INVALID_ARGUMENT(fokker_planck({0, 1, 10, kHalfSquare, p0}, o), "options.snapshot_every");
  o = {};
  o.max_iterations = -1;
  EXPECT_INVALID_ARGUMENT(fokker_planck({0, 1, 10, kHalfSquare, p0}, o), "options.max_iterations");
  o = {};
  o.step_rule = StepRule::LineSearch;
  EXPECT_INVALID_ARGUMENT(fokker_planck({0, 1, 10, kHalfSquare, p0}, o), "options.step_rule");

  const ParticleEnergy energy{kHalfSquare, kIdentity, {}, {}};
  EXPECT_INVALID_ARGUMENT(particle_flow(VectorXd(), energy), "initial");
  EXPECT_INVALID_ARGUMENT(particle_flow(VectorXd::Constant(3, NAN), energy), "initial");
  EXPECT_INVALID_ARGUMENT(particle_flow(p0, {kHalfSquare, {}, {}, {}}), "energy.potential");
  EXPECT_INVALID_ARGUMENT(particle_flow(p0, {kHalfSquare, kIdentity, kHalfSquare, {}}), "energy.interaction");
  ParticleFlowOptions po;
  po.time_step = -1;
  EXPECT_INVALID_ARGUMENT(particle_flow(p0, energy, po), "options.time_step");
  po = {};
  po.step_shrink = 0;
  EXPECT_INVALID_ARGUMENT(particle_flow(p0, energy, po), "options.step_shrink");
  po = {};
  po.tolerance = NAN;
  EXPECT_INVALID_ARGUMENT(particle_flow(p0, energy, po), "options.tolerance");
  po = {};
  po.step_rule = StepRule::ShortStep;
  EXPECT_INVALID_ARGUMENT(particle_flow(p0, energy, po), "options.step_rule");
  po = {};
  po.max_restarts = -1;
  EXPECT_INVALID_ARGUMENT(particle_flow(p0, energy, po), "options.max_restarts");

  EXPECT_INVALID_ARGUMENT(langevin(VectorXd(), kIdentity, 0.1, 1, 0), "initial");
  EXPECT_INVALID_ARGUMENT(langevin(p0, {}, 0.1, 1, 0), "potential_gradient");
  EXPECT_INVALID_ARGUMENT(langevin(p0, kIdentity, 0, 1, 0), "time_step");
  EXPECT_INVALID_ARGUMENT(langevin(p0, kIdentity, 0.1, -1, 0), "steps");
}

}  // namespace
}  // namespace probspace::solvers
