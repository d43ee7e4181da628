// Fokker–Planck finite volumes, particle flow and Langevin (spec probability.md §8.2–8.3).
#include <probspace/core/error.hpp>
#include <probspace/core/types.hpp>
#include <probspace/solvers/wasserstein.hpp>

#include <cmath>
#include <limits>
#include <random>

namespace probspace::solvers {
namespace {

using Eigen::VectorXd;
using probspace::detail::require;

/// Bernoulli function B(z) = z/(e^z − 1), B(0) = 1.
double bernoulli(double z) { return std::abs(z) < 1e-12 ? 1 - z / 2 : z / std::expm1(z); }

/// F_h = Σ h (V_i p_i + p_i log p_i), with 0 log 0 = 0.
double free_energy(const VectorXd& p, const VectorXd& v, double h) {
  double f = 0;
  for (Index i = 0; i < p.size(); ++i) f += p[i] * v[i] + (p[i] > 0 ? p[i] * std::log(p[i]) : 0.0);
  return h * f;
}

/// The spread max − min of V_i + log p_i (infinite where some p_i = 0).
double stationarity_spread(const VectorXd& p, const VectorXd& v) {
  const Eigen::ArrayXd d = v.array() + p.array().log();
  return d.maxCoeff() - d.minCoeff();
}

/// Records an iterate, runs the callbacks, and decides whether to stop here: Converged at the
/// tolerance, UserStop on a callback's request, MaxIterations when the steps are spent.
bool record_and_stop(Summary& summary, const Options& options, const IterationRecord& record) {
  if (options.record_history) summary.history.push_back(record);
  bool stop = false;
  for (const auto& callback : options.callbacks) stop |= callback(record) == CallbackResult::Stop;
  if (record.kkt_residual <= options.tolerance) {
    summary.termination = Termination::Converged;
  } else if (stop) {
    summary.termination = Termination::UserStop;
  } else if (record.iteration >= options.max_iterations) {
    summary.termination = Termination::MaxIterations;
  } else {
    return false;
  }
  return true;
}

void check_step_options(const Options& o, double time_step, const char* fn) {
  require(o.step_rule == StepRule::Default || o.step_rule == StepRule::Constant, fn, "options.step_rule",
          "must be Default or Constant (the step is options.time_step)");
  require(o.max_iterations >= 0, fn, "options.max_iterations", "must be >= 0, got ", o.max_iterations);
  require(o.tolerance >= 0, fn, "options.tolerance", "must be >= 0, got ", o.tolerance);
  probspace::detail::require_positive(time_step, fn, "options.time_step");
}

}  // namespace

FokkerPlanckResult fokker_planck(const FokkerPlanckProblem& problem, const FokkerPlanckOptions& options) {
  constexpr char fn[] = "fokker_planck";
  require(std::isfinite(problem.lower) && std::isfinite(problem.upper) && problem.lower < problem.upper, fn,
          "problem.lower", "and problem.upper must be finite with lower < upper, got [", problem.lower, ", ",
          problem.upper, "]");
  require(problem.cells >= 2, fn, "problem.cells", "must be >= 2, got ", problem.cells);
  require(bool(problem.potential), fn, "problem.potential", "must be a callable V(x)");
  require(problem.initial.size() == problem.cells, fn, "problem.initial", "has size ", problem.initial.size(),
          ", expected ", problem.cells);
  require(problem.initial.allFinite() && (problem.initial.array() >= 0).all() && problem.initial.sum() > 0, fn,
          "problem.initial", "must be finite, >= 0 and of positive mass");
  check_step_options(options, options.time_step, fn);
  require(options.snapshot_every >= 0, fn, "options.snapshot_every", "must be >= 0, got ", options.snapshot_every);

  const Index n = problem.cells;
  const double h = (problem.upper - problem.lower) / double(n), dt = options.time_step;
  FokkerPlanckResult result;
  result.x = VectorXd::LinSpaced(n, problem.lower + h / 2, problem.upper - h / 2);
  VectorXd v(n);
  for (Index i = 0; i < n; ++i) v[i] = problem.potential(result.x[i]);
  require(v.allFinite(), fn, "problem.potential", "must be finite at every cell centre");
  // M = I − Δt L, L the SG generator: row i couples p_{i−1} (lower), p_i, p_{i+1} (upper).
  VectorXd lower = VectorXd::Zero(n), diag = VectorXd::Ones(n), upper = VectorXd::Zero(n);
  for (Index i = 0; i + 1 < n; ++i) {
    const double dv = v[i + 1] - v[i], out = bernoulli(dv) * dt / (h * h), in = bernoulli(-dv) * dt / (h * h);
    diag[i] += out;       // flux leaving i through i+½ ∝ B(ΔV) p_i
    lower[i + 1] = -out;  // … arriving in i+1
    diag[i + 1] += in;    // flux leaving i+1 through i+½ ∝ B(−ΔV) p_{i+1}
    upper[i] = -in;
  }
  // Thomas factorisation once (the matrix does not change); no pivoting on an M-matrix.
  VectorXd pivot(n), factor(n);
  pivot[0] = diag[0];
  for (Index i = 1; i < n; ++i) {
    factor[i] = lower[i] / pivot[i - 1];
    pivot[i] = diag[i] - factor[i] * upper[i - 1];
  }
  VectorXd p = problem.initial / (problem.initial.sum() * h);
  const double log_z = std::log(h * (-v.array() - (-v).maxCoeff()).exp().sum()) + (-v).maxCoeff();
  Summary& summary = result.summary;
  int step = 0;
  for (;; ++step) {
    const double f = free_energy(p, v, h);
    result.times.push_back(step * dt);
    result.free_energy.push_back(f);
    if (options.snapshot_every > 0 && step % options.snapshot_every == 0) {
      result.snapshot_times.push_back(step * dt);
      result.snapshots.push_back(p);
    }
    if (record_and_stop(summary, options, {step, f, stationarity_spread(p, v), dt})) break;
    // Backward Euler: solve M p⁺ = p (forward elimination, back substitution: sums of
    // non-negative terms only, so p⁺ ≥ 0 in floating point too).
    for (Index i = 1; i < n; ++i) p[i] -= factor[i] * p[i - 1];
    p[n - 1] /= pivot[n - 1];
    for (Index i = n - 2; i >= 0; --i) p[i] = (p[i] - upper[i] * p[i + 1]) / pivot[i];
  }
  summary.iterations = step;
  summary.objective = free_energy(p, v, h);
  summary.kkt_residual = stationarity_spread(p, v);
  summary.duality_gap = summary.objective + log_z;
  result.density = p;
  result.time = step * dt;
  return result;
}

ParticleFlowResult particle_flow(const VectorXd& initial, const ParticleEnergy& energy,
                                 const ParticleFlowOptions& options) {
  constexpr char fn[] = "particle_flow";
  require(initial.size() > 0 && initial.allFinite(), fn, "initial", "must be non-empty and finite");
  require(bool(energy.potential) && bool(energy.potential_gradient), fn, "energy.potential",
          "and its gradient must be callable");
  require(bool(energy.interaction) == bool(energy.interaction_gradient), fn, "energy.interaction",
          "and its gradient must both be given or both be empty");
  check_step_options(options, options.time_step, fn);
  require(options.step_shrink > 0 && options.step_shrink < 1, fn, "options.step_shrink", "must lie in (0, 1), got ",
          options.step_shrink);
  require(options.max_restarts >= 0, fn, "options.max_restarts", "must be >= 0, got ", options.max_restarts);

  const Index n = initial.size();
  const double inv_n = 1.0 / double(n);
  const auto value = [&](const VectorXd& x) {
    double f = 0;
    for (Index i = 0; i < n; ++i) f += energy.potential(x[i]) * inv_n;
    if (energy.interaction)
      for (Index i = 0; i < n; ++i)
        for (Index j = 0; j < n; ++j) f += 0.5 * energy.interaction(x[i] - x[j]) * inv_n * inv_n;
    return f;
  };
  const auto velocity = [&](const VectorXd& x) {  // v = −∇ δF/δp at the particles
    VectorXd vel(n);
    for (Index i = 0; i < n; ++i) {
      double g = energy.potential_gradient(x[i]);
      if (energy.interaction_gradient)
        for (Index j = 0; j < n; ++j) g += energy.interaction_gradient(x[i] - x[j]) * inv_n;
      vel[i] = -g;
    }
    return vel;
  };
  ParticleFlowResult result;
  Summary& summary = result.summary;
  VectorXd x = initial, vel = velocity(x);
  double f = value(x), dt = options.time_step;
  int step = 0;
  for (;;) {
    const double residual = std::sqrt(vel.squaredNorm() * inv_n);
    result.energy.push_back(f);
    if (!std::isfinite(f) || !std::isfinite(residual)) {
      summary.termination = Termination::Failure;
      summary.message = "non-finite energy or velocity";
      break;
    }
    if (record_and_stop(summary, options, {step, f, residual, dt})) break;
    // Explicit Euler; the energy must not rise (spec embedding.md §8.1: undo, shrink, retry).
    const VectorXd trial = x + dt * vel;
    const double f_trial = value(trial);
    if (!(f_trial <= f)) {
      if (int(summary.restarts.size()) >= options.max_restarts) {
        summary.termination = Termination::Failure;
        summary.message = "the energy rose after every restart";
        break;
      }
      dt *= options.step_shrink;
      summary.restarts.push_back({step, std::isfinite(f_trial) ? "energy rose" : "energy is not finite", dt});
      continue;
    }
    x = trial, f = f_trial, vel = velocity(x);
    ++step;
  }
  summary.iterations = step;
  summary.objective = f;
  summary.kkt_residual = std::sqrt(vel.squaredNorm() * inv_n);
  result.particles = x;
  return result;
}

VectorXd langevin(const VectorXd& initial, const ScalarFunction& potential_gradient, double time_step, int steps,
                  std::uint64_t seed) {
  constexpr char fn[] = "langevin";
  require(initial.size() > 0 && initial.allFinite(), fn, "initial", "must be non-empty and finite");
  require(bool(potential_gradient), fn, "potential_gradient", "must be callable");
  probspace::detail::require_positive(time_step, fn, "time_step");
  require(steps >= 0, fn, "steps", "must be >= 0, got ", steps);
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  const double noise = std::sqrt(2 * time_step);
  VectorXd x = initial;
  for (int s = 0; s < steps; ++s)
    for (Index i = 0; i < x.size(); ++i) x[i] += -potential_gradient(x[i]) * time_step + noise * normal(rng);
  return x;
}

}  // namespace probspace::solvers
