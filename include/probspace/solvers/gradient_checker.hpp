#pragma once
// Gradient checking for any DifferentiableObjective (like ceres::GradientChecker): the analytic
// gradient against central finite differences, coordinate by coordinate.
#include <probspace/solvers/objective.hpp>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace probspace::solvers {

struct GradientCheckEntry {
  Index index = 0;
  double analytic = 0;
  double numeric = 0;    ///< (F(p + h e_i) − F(p − h e_i)) / 2h
  double abs_error = 0;
  double rel_error = 0;  ///< abs_error / max(|analytic|, |numeric|), 0 when both are 0
  bool ok = true;        ///< abs_error ≤ tolerance or rel_error ≤ tolerance (both finite)
};

struct GradientCheckReport {
  double max_abs_error = 0;
  double max_rel_error = 0;
  Index worst_index = 0;  ///< the coordinate with the largest relative error
  bool ok = true;         ///< every coordinate ok
  std::vector<GradientCheckEntry> entries;
  /// A table with one line per coordinate, failures marked.
  std::string report() const;
};

namespace detail {
/// Rejects an empty or non-finite p and a non-positive step or tolerance (InvalidArgument).
void validate_gradient_check(const VectorX<double>& p, double relative_step, double tolerance);
/// Fills entry i from the analytic value and F(p ± h e_i), and folds it into the report.
void add_gradient_entry(GradientCheckReport& report, Index i, double analytic, double plus, double minus, double h,
                        double tolerance);
}  // namespace detail

/// Checks ∇F at p ∈ ℝⁿ (F is evaluated at p ± h e_i, h = relative_step·max(1, |p_i|), so F must be
/// defined around p: pick an interior p for entropy-type objectives).
template <DifferentiableObjective F>
GradientCheckReport check_gradient(const F& f, const VectorX<double>& p, double relative_step = 1e-6,
                                   double tolerance = 1e-6) {
  detail::validate_gradient_check(p, relative_step, tolerance);
  VectorX<double> g(p.size()), scratch(p.size()), q = p;
  value_and_gradient(f, p, g);
  GradientCheckReport report;
  for (Index i = 0; i < p.size(); ++i) {
    const double h = relative_step * std::max(1.0, std::abs(p[i]));
    q[i] = p[i] + h;
    const double plus = value_and_gradient(f, q, scratch);
    q[i] = p[i] - h;
    const double minus = value_and_gradient(f, q, scratch);
    q[i] = p[i];
    detail::add_gradient_entry(report, i, g[i], plus, minus, h, tolerance);
  }
  return report;
}

}  // namespace probspace::solvers
