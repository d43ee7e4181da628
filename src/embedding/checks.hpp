#pragma once
// Private to src/embedding: the argument checks shared by the closed forms and the Monte Carlo.
#include <probspace/core/error.hpp>
#include <probspace/embedding/parametrisation.hpp>

#include <cmath>

namespace probspace::embedding::checks {

inline void vocabulary(Index n, std::string_view fn) {
  probspace::detail::require(n >= 2, fn, "n", "(vocabulary size) must be >= 2, got ", n);
}

inline void width(Index d, std::string_view fn) {
  probspace::detail::require(d >= 1, fn, "d", "(model width) must be >= 1, got ", d);
}

inline void sigma(double value, std::string_view fn) { probspace::detail::require_positive(value, fn, "sigma"); }

/// A named Parametrisation; d ≥ 1, and even for the half swap (§5).
inline void width_for(Parametrisation parametrisation, Index d, std::string_view fn) {
  probspace::detail::require(int(parametrisation) >= int(Parametrisation::Tied) &&
                                 int(parametrisation) <= int(Parametrisation::TiedSwap),
                             fn, "parametrisation", "is not a Parametrisation: ", int(parametrisation));
  width(d, fn);
  probspace::detail::require(parametrisation != Parametrisation::TiedSwap || d % 2 == 0, fn, "d",
                             "must be even for the half swap (TiedSwap), got ", d);
}

}  // namespace probspace::embedding::checks
