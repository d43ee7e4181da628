// Maximum-entropy densities and distributions by Newton on the dual (spec probability.md §8.1).
#include <probspace/core/error.hpp>
#include <probspace/core/types.hpp>
#include <probspace/solvers/max_entropy.hpp>

#include <Eigen/Cholesky>
#include <boost/math/policies/error_handling.hpp>
#include <boost/math/quadrature/exp_sinh.hpp>
#include <boost/math/quadrature/gauss_kronrod.hpp>
#include <boost/math/quadrature/sinh_sinh.hpp>

#include <cmath>
#include <limits>
#include <stdexcept>

namespace probspace::solvers {
namespace {

using Eigen::MatrixXd;
using Eigen::VectorXd;
using probspace::detail::require;
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kQuadratureTolerance = 1e-13;
constexpr double kAcceptedError = 1e-9;  ///< relative to ∫|f|

/// ∫_lower^upper f by the rule that suits the domain (spec §8.1: Boost.Math quadrature); NaN when
/// the rule's own error estimate says it did not converge (e.g. a divergent integral).
template <class F> double integrate(double lower, double upper, const F& f) {
  namespace q = boost::math::quadrature;
  double value = 0, error = 0, l1 = 0;
  if (std::isfinite(lower) && std::isfinite(upper))
    value = q::gauss_kronrod<double, 61>::integrate(f, lower, upper, 15u, kQuadratureTolerance, &error, &l1);
  else if (std::isfinite(lower) || std::isfinite(upper))
    value = q::exp_sinh<double>().integrate(f, lower, upper, kQuadratureTolerance, &error, &l1);
  else
    value = q::sinh_sinh<double>().integrate(f, kQuadratureTolerance, &error, &l1);
  return error <= kAcceptedError * l1 ? value : std::numeric_limits<double>::quiet_NaN();
}

/// Points where −λ·φ is probed for the exponent's shift: a grid on an interval, 0 and ±2^k from
/// the finite end (or the origin) on unbounded domains.
std::vector<double> probe_points(double lower, double upper) {
  std::vector<double> x;
  if (std::isfinite(lower) && std::isfinite(upper)) {
    for (int i = 0; i <= 256; ++i) x.push_back(lower + (upper - lower) * i / 256.0);
    return x;
  }
  const double origin = std::isfinite(lower) ? lower : (std::isfinite(upper) ? upper : 0.0);
  x.push_back(origin);
  for (int k = -8; k <= 8; ++k) {
    if (!std::isfinite(upper)) x.push_back(origin + std::ldexp(1.0, k));
    if (!std::isfinite(lower)) x.push_back(origin - std::ldexp(1.0, k));
  }
  return x;
}

VectorXd feature_vector(const std::vector<Feature>& features, double x) {
  VectorXd phi(Index(features.size()));
  for (std::size_t k = 0; k < features.size(); ++k) phi[Index(k)] = features[k](x);
  return phi;
}

/// Damped Newton on a dual oracle Ψ(λ, ∇Ψ*, ∇²Ψ*, log Z*) (spec §8.1).
template <class Dual> MaxEntropyResult newton(const Dual& dual, VectorXd lambda, const Options& options) {
  MaxEntropyResult result;
  Summary& summary = result.summary;
  const Index k = lambda.size();
  VectorXd grad(k), trial_grad(k);
  MatrixXd hess(k, k), trial_hess(k, k);
  double log_z = 0, trial_log_z = 0;
  double psi = dual(lambda, &grad, &hess, &log_z);
  double step = 0;
  summary.termination = Termination::MaxIterations;
  if (!std::isfinite(psi)) {
    summary.termination = Termination::Failure;
    summary.message = "Z(lambda) is not finite at the initial lambda";
    grad.setConstant(std::numeric_limits<double>::quiet_NaN());
  }
  for (int it = 0; summary.termination == Termination::MaxIterations; ++it) {
    const double residual = grad.norm();
    const IterationRecord record{it, psi, residual, step};
    if (options.record_history) summary.history.push_back(record);
    summary.iterations = it;
    bool stop = false;
    for (const auto& callback : options.callbacks) stop |= callback(record) == CallbackResult::Stop;
    if (residual <= options.tolerance) {
      summary.termination = Termination::Converged;
    } else if (stop) {
      summary.termination = Termination::UserStop;
    } else if (it >= options.max_iterations) {
      break;
    } else {
      // Newton direction on Cov[φ] (PSD), the gradient if it is singular or not a descent direction.
      const Eigen::LDLT<MatrixXd> ldlt(hess);
      VectorXd direction = ldlt.info() == Eigen::Success ? VectorXd(ldlt.solve(-grad)) : VectorXd(-grad);
      if (!direction.allFinite() || direction.dot(grad) >= 0) direction = -grad;
      bool accepted = false;
      for (int attempt = 0; attempt <= options.max_restarts && !accepted; ++attempt) {
        step = options.step_size;
        for (int halving = 0; halving < 60 && !accepted; ++halving, step *= options.step_shrink) {
          const VectorXd trial = lambda + step * direction;
          const double value = dual(trial, &trial_grad, &trial_hess, &trial_log_z);
          // Armijo; near λ* the decrease (~‖∇Ψ‖²) drops below Ψ's rounding, where a step that keeps
          // Ψ within rounding and shrinks ‖∇Ψ‖ is taken instead.
          const bool armijo = value <= psi + 1e-4 * step * direction.dot(grad);
          const bool within_rounding = value <= psi + 8 * std::numeric_limits<double>::epsilon() * std::abs(psi) &&
                                       trial_grad.norm() < grad.norm();
          if (std::isfinite(value) && (armijo || within_rounding)) {
            accepted = true;
            lambda = trial, psi = value, grad = trial_grad, hess = trial_hess, log_z = trial_log_z;
          }
        }
        if (!accepted) {  // spec embedding.md §8.1: retry from the same point along −∇Ψ
          summary.restarts.push_back({it, "Armijo backtracking failed along the Newton direction", step});
          direction = -grad;
        }
      }
      if (!accepted) {
        summary.termination = Termination::Failure;
        summary.message = "no decrease of the dual along the gradient (tau outside the moment set, or at the "
                          "quadrature's noise floor)";
      }
    }
  }
  summary.objective = psi;
  summary.kkt_residual = grad.norm();
  result.lambda = lambda;
  result.log_partition = log_z;
  result.entropy = psi;  // H(p*) = Ψ(λ*)
  return result;
}

void check_options(const Options& o, const char* fn) {
  require(o.max_iterations >= 0, fn, "options.max_iterations", "must be >= 0, got ", o.max_iterations);
  require(o.tolerance >= 0, fn, "options.tolerance", "must be >= 0, got ", o.tolerance);
  require(o.step_rule == StepRule::Default || o.step_rule == StepRule::Backtracking, fn, "options.step_rule",
          "must be Default or Backtracking (damped Newton with Armijo backtracking)");
  require(std::isfinite(o.step_size) && o.step_size > 0, fn, "options.step_size", "must be finite and > 0, got ",
          o.step_size);
  require(o.step_shrink > 0 && o.step_shrink < 1, fn, "options.step_shrink", "must lie in (0, 1), got ",
          o.step_shrink);
  require(o.max_restarts >= 0, fn, "options.max_restarts", "must be >= 0, got ", o.max_restarts);
}

void check_lambda(const VectorXd& lambda, Index k, const char* fn, const char* argument) {
  require(lambda.size() == k && lambda.allFinite(), fn, argument, "must be finite with size ", k, ", got size ",
          lambda.size());
}

void check_problem(const MaxEntropyProblem& p, const char* fn) {
  require(!std::isnan(p.lower) && !std::isnan(p.upper) && p.lower < p.upper && p.lower != kInf && p.upper != -kInf,
          fn, "problem.lower", "and problem.upper must satisfy lower < upper, got [", p.lower, ", ", p.upper, "]");
  require(!p.features.empty(), fn, "problem.features", "must not be empty");
  for (const auto& f : p.features) require(bool(f), fn, "problem.features", "must hold callable functions");
  require(p.moments.size() == Index(p.features.size()) && p.moments.allFinite(), fn, "problem.moments",
          "must be finite with one entry per feature (", p.features.size(), "), got size ", p.moments.size());
  if (p.initial_lambda.size() != 0) check_lambda(p.initial_lambda, p.moments.size(), fn, "problem.initial_lambda");
}

void check_problem(const DiscreteMaxEntropyProblem& p, const char* fn) {
  require(p.features.rows() > 0 && p.features.cols() > 0 && p.features.allFinite(), fn, "problem.features",
          "must be a finite non-empty N x K matrix, got ", p.features.rows(), "x", p.features.cols());
  require(p.moments.size() == p.features.cols() && p.moments.allFinite(), fn, "problem.moments",
          "must be finite with one entry per feature column (", p.features.cols(), "), got size ", p.moments.size());
  if (p.initial_lambda.size() != 0) check_lambda(p.initial_lambda, p.moments.size(), fn, "problem.initial_lambda");
}

template <class Problem> VectorXd start(const Problem& p) {
  return p.initial_lambda.size() ? p.initial_lambda : VectorXd::Zero(p.moments.size());
}

}  // namespace

double max_entropy_dual(const MaxEntropyProblem& p, const VectorXd& lambda, VectorXd* gradient, MatrixXd* hessian,
                        double* log_partition) {
  constexpr char fn[] = "max_entropy_dual";
  check_problem(p, fn);
  check_lambda(lambda, p.moments.size(), fn, "lambda");
  // Shift the exponent by its largest probed value so that the integrand is O(1) where it matters.
  double shift = -kInf;
  for (double x : probe_points(p.lower, p.upper)) shift = std::max(shift, -lambda.dot(feature_vector(p.features, x)));
  if (!std::isfinite(shift)) return kInf;
  // At x = ±∞ (reached by exp-sinh / sinh-sinh) 0·∞ or ∞ − ∞ can make the exponent NaN: the weight
  // of an integrable density vanishes there, and so do the weighted features.
  const auto weight = [&](double x) {
    const double w = std::exp(-lambda.dot(feature_vector(p.features, x)) - shift);
    return std::isnan(w) ? 0.0 : w;
  };
  const auto weighted = [](double value, double w) { return w == 0 ? 0.0 : value * w; };
  const Index k = lambda.size();
  double z = 0;
  VectorXd mean(k);
  try {
    z = integrate(p.lower, p.upper, weight);
    if (!(std::isfinite(z) && z > 0)) return kInf;
    for (Index i = 0; i < k; ++i)
      mean[i] = integrate(p.lower, p.upper, [&](double x) { return weighted(p.features[std::size_t(i)](x), weight(x)); }) / z;
    if (hessian) {
      hessian->resize(k, k);
      for (Index i = 0; i < k; ++i)
        for (Index j = 0; j <= i; ++j)
          (*hessian)(i, j) = (*hessian)(j, i) = integrate(p.lower, p.upper, [&](double x) {
                                                  return weighted((p.features[std::size_t(i)](x) - mean[i]) *
                                                                      (p.features[std::size_t(j)](x) - mean[j]),
                                                                  weight(x));
                                                }) /
                                                z;
    }
  } catch (const std::domain_error&) {  // Boost: the integrand is singular or not integrable
    return kInf;
  } catch (const boost::math::evaluation_error&) {
    return kInf;
  }
  if (!mean.allFinite() || (hessian && !hessian->allFinite())) return kInf;
  const double log_z = shift + std::log(z);
  if (gradient) *gradient = p.moments - mean;
  if (log_partition) *log_partition = log_z;
  return log_z + lambda.dot(p.moments);
}

double max_entropy_dual(const DiscreteMaxEntropyProblem& p, const VectorXd& lambda, VectorXd* gradient,
                        MatrixXd* hessian, double* log_partition) {
  constexpr char fn[] = "max_entropy_dual";
  check_problem(p, fn);
  check_lambda(lambda, p.moments.size(), fn, "lambda");
  const VectorXd s = -(p.features * lambda);
  const double shift = s.maxCoeff();
  const VectorXd w = (s.array() - shift).exp().matrix();
  const double z = w.sum();
  const VectorXd prob = w / z;
  const VectorXd mean = p.features.transpose() * prob;
  if (gradient) *gradient = p.moments - mean;
  if (hessian) {
    const MatrixXd centred = p.features.rowwise() - mean.transpose();
    *hessian = centred.transpose() * prob.asDiagonal() * centred;
  }
  const double log_z = shift + std::log(z);
  if (log_partition) *log_partition = log_z;
  return log_z + lambda.dot(p.moments);
}

namespace {
/// Validates, then runs Newton on the problem's dual from its initial λ.
template <class Problem> MaxEntropyResult solve(const Problem& problem, const Options& options) {
  check_problem(problem, "max_entropy");
  check_options(options, "max_entropy");
  return newton(
      [&](const VectorXd& l, VectorXd* g, MatrixXd* h, double* lz) { return max_entropy_dual(problem, l, g, h, lz); },
      start(problem), options);
}
}  // namespace

MaxEntropyDensity max_entropy(const MaxEntropyProblem& problem, const Options& options) {
  MaxEntropyDensity result;
  static_cast<MaxEntropyResult&>(result) = solve(problem, options);
  result.features = problem.features;
  return result;
}

MaxEntropyDistribution max_entropy(const DiscreteMaxEntropyProblem& problem, const Options& options) {
  MaxEntropyDistribution result;
  static_cast<MaxEntropyResult&>(result) = solve(problem, options);
  result.probabilities = (-(problem.features * result.lambda).array() - result.log_partition).exp().matrix();
  return result;
}

double MaxEntropyDensity::density(double x) const {
  return std::exp(-lambda.dot(feature_vector(features, x)) - log_partition);
}

}  // namespace probspace::solvers
