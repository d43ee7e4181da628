#pragma once
// Bookkeeping shared by the iterative solvers on Δ (spec probability.md §2.1, embedding.md §8):
// option and start-point checks, the history, callbacks, the relative stopping test, the best point,
// the lower bound F(p_t) − G_t on F*, and the restart policy.
#include <probspace/core/types.hpp>
#include <probspace/solvers/objective.hpp>
#include <probspace/solvers/options.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <string_view>

namespace probspace::solvers::detail {

/// Rejects bad Options with InvalidArgument naming "options.<field>".
void validate_options(const Options& options, std::string_view solver);

/// Rejects a start point off Δ (or, when `interior`, with a zero entry) naming 'p'; renormalises it.
void validate_start(VectorX<double>& p, std::string_view solver, bool interior);

/// Rejects a gradient of the wrong size or a non-finite value or gradient at the start, naming 'p'.
void validate_start_value(double value, const VectorX<double>& g, Index n, std::string_view solver);

/// The Frank–Wolfe gap G(p) = p·g − min g (spec §2.1), O(n).
inline double fw_gap(const VectorX<double>& p, const VectorX<double>& g) { return p.dot(g) - g.minCoeff(); }

/// Backtracking tries at most this many shrinks of η per iteration; then the iteration counts as a
/// failure for the restart policy ("backtracking found no step with sufficient decrease").
inline constexpr int kMaxBacktracks = 60;

/// The Bregman divergence D_F(x, y) = F(x) − F(y) − ∇F(y)·(x − y) that backtracking bounds. Once
/// |F(x) − F(y)| is within the rounding of F (100ε·max(1, |F(y)|)) it is taken from the gradients,
/// ½(∇F(x) − ∇F(y))·(x − y) (exact for quadratics; the safeguard of TFOCS, Becker, Candès & Grant
/// 2011), which does not cancel: otherwise backtracking stalls near a gap of √ε.
double bregman_divergence(double fx, double fy, const VectorX<double>& gx, const VectorX<double>& gy,
                          const VectorX<double>& x, const VectorX<double>& y);

/// Evaluates F and ∇F at the validated start point p.
template <DifferentiableObjective F>
double evaluate_start(const F& f, VectorX<double>& p, VectorX<double>& g, std::string_view solver, bool interior) {
  validate_start(p, solver, interior);
  g.resize(p.size());
  const double value = value_and_gradient(f, p, g);
  validate_start_value(value, g, p.size(), solver);
  return value;
}

class Tracker {
public:
  Tracker(std::string_view solver, const Options& options, Summary& summary);

  /// Records the accepted iterate t (history, best point, lower bound) and runs the callbacks;
  /// returns true when the run stops at it: converged (G ≤ tolerance·max(1, |F|)), stopped by a
  /// callback, or out of iterations.
  bool accept(int t, const VectorX<double>& p, double value, const VectorX<double>& g, double step);

  /// Why a candidate is unusable ("" when it is fine): a non-finite value or gradient, or a value
  /// above best + max(1, |best|)·divergence_factor.
  std::string rejection(double value, const VectorX<double>& g) const;

  /// Runs `trial(scale)` (which builds and evaluates a candidate from the last accepted point and
  /// returns its rejection reason); on a rejection restarts with scale·step_shrink, at most
  /// max_restarts times in the run. Returns false (termination FAILURE) when they are exhausted.
  /// Restart::step records scale·base_step, the step (or step multiplier) after the restart.
  template <class Trial> bool attempt(int t, double& scale, double base_step, Trial&& trial) {
    for (std::string reason = trial(scale); !reason.empty(); reason = trial(scale))
      if (!restart(t, reason, scale, base_step)) return false;
    return true;
  }

  /// Writes the answer into p (the converged iterate, else the best one found) and its certificates
  /// (simplex::kkt_certificate) into the Summary.
  void finish(VectorX<double>& p);

  /// Whether an iterate has been accepted (finish needs one).
  bool started() const { return best_p_.size() > 0; }

private:
  bool restart(int t, const std::string& reason, double& scale, double base_step);

  std::string solver_;
  const Options& options_;
  Summary& summary_;
  VectorX<double> best_p_, best_g_;
  double best_value_;
  double lower_bound_;
};

}  // namespace probspace::solvers::detail
