#pragma once
// What every solver returns (DESIGN.md; like Ceres's Solver::Summary): how it stopped, why, the
// answer's certificates (spec probability.md §2.1), its history and every restart (spec
// embedding.md §8). Non-convergence is a termination type, never an exception.
#include <string>
#include <vector>

namespace probspace::solvers {

enum class Termination {
  Converged,      ///< the stopping certificate reached the tolerance
  MaxIterations,  ///< out of iterations; the answer is the best point found, with its certificate
  UserStop,       ///< a callback asked to stop
  Failure,        ///< no usable answer: non-finite values after every restart, or an infeasible problem
};
const char* to_string(Termination termination);

/// One accepted iteration.
struct IterationRecord {
  int iteration = 0;
  double objective = 0;
  double kkt_residual = 0;  ///< the solver's certificate at this iterate (fw_gap on Δ unless stated)
  double step = 0;          ///< the step size used to reach it
};

/// One restart: from the last good point with a smaller step (or other remedy), and why.
struct Restart {
  int iteration = 0;    ///< where the failure was detected
  std::string reason;   ///< e.g. "objective is NaN", "objective rose above the bound"
  double step = 0;      ///< the step size after the restart
};

struct Summary {
  Termination termination = Termination::Failure;
  std::string message;
  int iterations = 0;
  double objective = 0;
  double kkt_residual = 0;  ///< of the returned answer (fw_gap for problems on Δ)
  double duality_gap = 0;   ///< certified suboptimality bound F(p) − F* ≤ gap, when the solver has one
  std::vector<IterationRecord> history;
  std::vector<Restart> restarts;

  bool converged() const { return termination == Termination::Converged; }
  /// One line: termination, iterations, objective, residual, gap, restarts.
  std::string brief_report() const;
};

}  // namespace probspace::solvers
