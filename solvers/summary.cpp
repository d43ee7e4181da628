// Summary::brief_report and termination names.
#include <probspace/solvers/summary.hpp>

#include <cstdio>

namespace probspace::solvers {

const char* to_string(Termination termination) {
  switch (termination) {
  case Termination::Converged: return "CONVERGED";
  case Termination::MaxIterations: return "MAX_ITERATIONS";
  case Termination::UserStop: return "USER_STOP";
  case Termination::Failure: return "FAILURE";
  }
  return "UNKNOWN";
}

std::string Summary::brief_report() const {
  char line[256];
  std::snprintf(line, sizeof line, "%s after %d iterations: objective %.12g, KKT residual %.3e, gap %.3e, %zu restarts",
                to_string(termination), iterations, objective, kkt_residual, duality_gap, restarts.size());
  return message.empty() ? std::string(line) : std::string(line) + " (" + message + ")";
}

}  // namespace probspace::solvers
