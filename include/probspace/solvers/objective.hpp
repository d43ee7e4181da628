#pragma once
// Objectives as C++20 concepts (DESIGN.md): a type with value(p) and gradient(p, g), or
// value_and_gradient(p, g), is a DifferentiableObjective over p ∈ ℝⁿ (spec probability.md §1).
#include <probspace/core/types.hpp>

#include <concepts>

namespace probspace::solvers {

/// F(p) and ∇F(p) separately.
template <class F>
concept SeparateValueAndGradient = requires(const F& f, const VectorX<double>& p, VectorX<double>& g) {
  { f.value(p) } -> std::convertible_to<double>;
  f.gradient(p, g);
};

/// F(p) returned, ∇F(p) written to g, in one call.
template <class F>
concept FusedValueAndGradient = requires(const F& f, const VectorX<double>& p, VectorX<double>& g) {
  { f.value_and_gradient(p, g) } -> std::convertible_to<double>;
};

template <class F>
concept DifferentiableObjective = SeparateValueAndGradient<F> || FusedValueAndGradient<F>;

/// An objective that also minimises itself along a segment: argmin_{η∈[0,1]} F(p + η d)
/// (Frank–Wolfe's exact line search, spec §7.1).
template <class F>
concept LineSearchObjective =
    DifferentiableObjective<F> && requires(const F& f, const VectorX<double>& p, const VectorX<double>& d) {
      { f.line_search(p, d) } -> std::convertible_to<double>;
    };

/// F(p), writing ∇F(p) to g, whichever form the objective offers (the fused one when it has both).
template <DifferentiableObjective F> double value_and_gradient(const F& f, const VectorX<double>& p, VectorX<double>& g) {
  if constexpr (FusedValueAndGradient<F>) {
    return f.value_and_gradient(p, g);
  } else {
    f.gradient(p, g);
    return f.value(p);
  }
}

}  // namespace probspace::solvers
