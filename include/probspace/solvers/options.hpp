#pragma once
// Options shared by the iterative solvers (DESIGN.md): iteration and tolerance limits, the step
// rule, callbacks that may stop the run, and the restart policy (spec embedding.md §8).
#include <probspace/solvers/summary.hpp>

#include <functional>
#include <vector>

namespace probspace::solvers {

/// Step rules. Each solver documents which it accepts and rejects the rest with InvalidArgument.
enum class StepRule {
  Default,       ///< the solver's recommended rule
  Constant,      ///< η = Options::step_size every iteration
  OpenLoop,      ///< Frank–Wolfe η_t = 2/(t+2)
  LineSearch,    ///< exact line search (needs a LineSearchObjective)
  ShortStep,     ///< Frank–Wolfe η_t = min(1, G_t/(L‖d_t‖²)), L = Options::lipschitz
  Decaying,      ///< mirror descent η_t = step_size/√(t+1)
  Backtracking,  ///< Armijo backtracking from step_size, shrinking by step_shrink
};

enum class CallbackResult { Continue, Stop };
/// Called after every accepted iteration; returning Stop ends the run with Termination::UserStop.
using Callback = std::function<CallbackResult(const IterationRecord&)>;

struct Options {
  int max_iterations = 1000;
  double tolerance = 1e-8;     ///< on the solver's certificate (the KKT residual unless documented)
  StepRule step_rule = StepRule::Default;
  double step_size = 1.0;      ///< η for Constant, the start for Decaying and Backtracking
  double lipschitz = 0.0;      ///< L for ShortStep and projected gradient (0: estimate by backtracking)
  std::vector<Callback> callbacks;
  bool record_history = true;
  // Restart policy: on a non-finite value, or an objective above the best so far + max(1, |F|)·
  // divergence_factor, restore the last good iterate and multiply the step by step_shrink.
  int max_restarts = 3;
  double step_shrink = 0.5;
  double divergence_factor = 1e3;
};

}  // namespace probspace::solvers
