// Names of the parametrisations and the σ rules (spec embedding.md §3, §5).
#include "checks.hpp"

#include <cmath>

namespace probspace::embedding {

std::string_view to_string(Parametrisation parametrisation) {
  switch (parametrisation) {
    case Parametrisation::Tied: return "tied";
    case Parametrisation::Untied: return "untied";
    case Parametrisation::TiedOrthogonal: return "tied+orthogonal P";
    case Parametrisation::TiedSwap: return "tied+half swap";
  }
  probspace::detail::throw_invalid("to_string", "parametrisation", "is not a Parametrisation: ", int(parametrisation));
}

std::string_view to_string(SigmaRule rule) {
  switch (rule) {
    case SigmaRule::Constant: return "constant";
    case SigmaRule::InverseSqrtD: return "1/sqrt(d)";
    case SigmaRule::LogNOverD: return "log(n)/d";
  }
  probspace::detail::throw_invalid("to_string", "rule", "is not a SigmaRule: ", int(rule));
}

double sigma(SigmaRule rule, Index n, Index d, double constant) {
  checks::vocabulary(n, "sigma");
  checks::width(d, "sigma");
  probspace::detail::require_positive(constant, "sigma", "constant");
  switch (rule) {
    case SigmaRule::Constant: return constant;
    case SigmaRule::InverseSqrtD: return 1 / std::sqrt(double(d));
    case SigmaRule::LogNOverD: return std::log(double(n)) / double(d);
  }
  probspace::detail::throw_invalid("sigma", "rule", "is not a SigmaRule: ", int(rule));
}

}  // namespace probspace::embedding
