// Shared solver bookkeeping (spec probability.md §2.1, embedding.md §8).
#include <probspace/core/checks.hpp>
#include <probspace/simplex/kkt.hpp>
#include <probspace/solvers/detail/tracker.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace probspace::solvers::detail {

using probspace::detail::require;

void validate_options(const Options& o, std::string_view solver) {
  require(o.max_iterations >= 0, solver, "options.max_iterations", "must be >= 0, got ", o.max_iterations);
  require(std::isfinite(o.tolerance) && o.tolerance >= 0, solver, "options.tolerance",
          "must be finite and >= 0, got ", o.tolerance);
  probspace::detail::require_positive(o.step_size, solver, "options.step_size");
  require(std::isfinite(o.lipschitz) && o.lipschitz >= 0, solver, "options.lipschitz",
          "must be finite and >= 0, got ", o.lipschitz);
  require(o.max_restarts >= 0, solver, "options.max_restarts", "must be >= 0, got ", o.max_restarts);
  require(o.step_shrink > 0 && o.step_shrink < 1, solver, "options.step_shrink", "must lie in (0, 1), got ",
          o.step_shrink);
  probspace::detail::require_positive(o.divergence_factor, solver, "options.divergence_factor");
}

void validate_start(VectorX<double>& p, std::string_view solver, bool interior) {
  probspace::detail::check_distribution(p.data(), p.size(), solver, "p");
  if (interior) {
    Index i = 0;
    const double smallest = p.minCoeff(&i);
    require(smallest > 0, solver, "p", "must be strictly positive (zero entries stay zero under this solver), got ",
            smallest, " at index ", i);
  }
  p /= p.sum();
}

void validate_start_value(double value, const VectorX<double>& g, Index n, std::string_view solver) {
  require(g.size() == n, solver, "objective", "wrote a gradient of size ", g.size(), ", expected ", n);
  require(std::isfinite(value), solver, "p", "is a start point where the objective is not finite: ", value);
  require(g.allFinite(), solver, "p", "is a start point where the gradient is not finite");
}

double bregman_divergence(double fx, double fy, const VectorX<double>& gx, const VectorX<double>& gy,
                          const VectorX<double>& x, const VectorX<double>& y) {
  const double rounding = 100 * std::numeric_limits<double>::epsilon() * std::max(1.0, std::abs(fy));
  if (std::abs(fx - fy) <= rounding) return 0.5 * (gx - gy).dot(x - y);
  return fx - fy - gy.dot(x - y);
}

Tracker::Tracker(std::string_view solver, const Options& options, Summary& summary)
    : solver_(solver), options_(options), summary_(summary),
      best_value_(std::numeric_limits<double>::infinity()), lower_bound_(-std::numeric_limits<double>::infinity()) {
  validate_options(options, solver);
  summary_ = Summary{};
}

bool Tracker::accept(int t, const VectorX<double>& p, double value, const VectorX<double>& g, double step) {
  const double gap = fw_gap(p, g);
  summary_.iterations = t;
  lower_bound_ = std::max(lower_bound_, value - gap);  // convex F: F* ≥ F(p) − G(p)
  const bool converged = gap <= options_.tolerance * std::max(1.0, std::abs(value));
  if (value < best_value_ || converged) {
    best_value_ = value;
    best_p_ = p;
    best_g_ = g;
  }
  const IterationRecord record{t, value, gap, step};
  if (options_.record_history) summary_.history.push_back(record);
  char line[160];
  if (converged) {
    std::snprintf(line, sizeof line, "FW gap %.3e <= tolerance %.3e * max(1, |F|)", gap, options_.tolerance);
    summary_.termination = Termination::Converged;
    summary_.message = line;
    return true;
  }
  for (const auto& callback : options_.callbacks) {
    if (callback(record) == CallbackResult::Stop) {
      summary_.termination = Termination::UserStop;
      summary_.message = "a callback asked to stop at iteration " + std::to_string(t);
      return true;
    }
  }
  if (t >= options_.max_iterations) {
    std::snprintf(line, sizeof line, "reached max_iterations = %d with FW gap %.3e", options_.max_iterations, gap);
    summary_.termination = Termination::MaxIterations;
    summary_.message = line;
    return true;
  }
  return false;
}

std::string Tracker::rejection(double value, const VectorX<double>& g) const {
  if (std::isnan(value)) return "objective is NaN";
  if (!std::isfinite(value)) return "objective is infinite";
  if (!g.allFinite()) return "gradient is not finite";
  if (value > best_value_ + std::max(1.0, std::abs(best_value_)) * options_.divergence_factor)
    return "objective rose above the bound";
  return {};
}

bool Tracker::restart(int t, const std::string& reason, double& scale, double base_step) {
  if (int(summary_.restarts.size()) >= options_.max_restarts) {
    summary_.termination = Termination::Failure;
    summary_.message = reason + " at iteration " + std::to_string(t) + " after " +
                       std::to_string(summary_.restarts.size()) + " restarts (max_restarts)";
    return false;
  }
  scale *= options_.step_shrink;
  summary_.restarts.push_back({t, reason, scale * base_step});
  return true;
}

void Tracker::finish(VectorX<double>& p) {
  p = best_p_;
  const auto certificate = simplex::kkt_certificate(best_p_, best_g_);
  summary_.objective = best_value_;
  summary_.kkt_residual = certificate.fw_gap;
  summary_.duality_gap = std::max(0.0, best_value_ - lower_bound_);
}

}  // namespace probspace::solvers::detail
