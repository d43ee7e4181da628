// Gradient checker helpers and report.
#include <probspace/core/error.hpp>
#include <probspace/solvers/gradient_checker.hpp>

#include <cmath>
#include <cstdio>

namespace probspace::solvers {

std::string GradientCheckReport::report() const {
  std::string out = "index      analytic       numeric     abs error     rel error\n";
  char line[160];
  for (const auto& e : entries) {
    std::snprintf(line, sizeof line, "%5td %13.6e %13.6e %13.3e %13.3e%s\n", e.index, e.analytic, e.numeric,
                  e.abs_error, e.rel_error, e.ok ? "" : "  <-- mismatch");
    out += line;
  }
  std::snprintf(line, sizeof line, "max abs error %.3e, max rel error %.3e at index %td: %s\n", max_abs_error,
                max_rel_error, worst_index, ok ? "ok" : "MISMATCH");
  return out + line;
}

namespace detail {

void validate_gradient_check(const VectorX<double>& p, double relative_step, double tolerance) {
  constexpr const char* fn = "check_gradient";
  probspace::detail::require(p.size() > 0, fn, "p", "must not be empty");
  probspace::detail::require(p.allFinite(), fn, "p", "must be finite");
  probspace::detail::require_positive(relative_step, fn, "relative_step");
  probspace::detail::require_positive(tolerance, fn, "tolerance");
}

void add_gradient_entry(GradientCheckReport& report, Index i, double analytic, double plus, double minus, double h,
                        double tolerance) {
  GradientCheckEntry e;
  e.index = i;
  e.analytic = analytic;
  e.numeric = (plus - minus) / (2 * h);
  e.abs_error = std::abs(e.analytic - e.numeric);
  const double scale = std::max(std::abs(e.analytic), std::abs(e.numeric));
  e.rel_error = scale > 0 ? e.abs_error / scale : 0.0;
  e.ok = std::isfinite(e.abs_error) && (e.abs_error <= tolerance || e.rel_error <= tolerance);
  if (!std::isfinite(e.abs_error)) e.rel_error = e.abs_error;
  if (!(e.abs_error <= report.max_abs_error)) report.max_abs_error = e.abs_error;
  if (!(e.rel_error <= report.max_rel_error)) {
    report.max_rel_error = e.rel_error;
    report.worst_index = i;
  }
  report.ok = report.ok && e.ok;
  report.entries.push_back(e);
}

}  // namespace detail
}  // namespace probspace::solvers
