// Demo "max-entropy" (spec probability.md §8.1, §10): the classical families recovered as maximum-
// entropy densities by Newton on the dual Ψ(λ) = log Z(λ) + λ·τ — the uniform (a mean on an
// interval, at its midpoint), the exponential (a mean on [0, ∞)), the Gaussian (mean and second
// moment on ℝ) — against their closed forms, plus the spec's die (mean 4.5) and [0, 1] (mean 0.3)
// reference values; a plot of the recovered densities against the closed forms.
#include "demo.hpp"

#include <probspace/solvers/max_entropy.hpp>

#include <cmath>
#include <numbers>
#include <ostream>
#include <sstream>

namespace probspace::demos {
namespace {

using Eigen::VectorXd;
using solvers::Feature;

VectorXd v(std::initializer_list<double> values) {
  VectorXd x(Eigen::Index(values.size()));
  Eigen::Index i = 0;
  for (double value : values) x[i++] = value;
  return x;
}

struct Case {
  std::string name;
  solvers::MaxEntropyProblem problem;
  VectorXd lambda;                        ///< closed form / reference
  double entropy;                         ///< closed form / reference
  std::function<double(double)> density;  ///< closed form
  double plot_lo, plot_hi;
};

int run(const DemoContext& ctx) {
  constexpr double kTolerance = 1e-9;
  const Feature x = [](double t) { return t; }, x2 = [](double t) { return t * t; };
  const double pi = std::numbers::pi, e = std::numbers::e;
  const double mu = 1.0, sigma2 = 2.0;
  std::vector<Case> cases;
  cases.push_back({"uniform on [-1, 3] (mean 1)", {-1, 3, {x}, v({1.0}), {}}, v({0.0}), std::log(4.0),
                   [](double) { return 0.25; }, -1, 3});
  for (const double m : {0.5, 2.0})
    cases.push_back({"exponential on [0, inf), mean " + num(m), {0, INFINITY, {x}, v({m}), v({1.0})}, v({1 / m}),
                     1 + std::log(m), [m](double t) { return std::exp(-t / m) / m; }, 0, 6});
  cases.push_back({"Gaussian on R, mean 1, variance 2", {-INFINITY, INFINITY, {x, x2}, v({mu, mu * mu + sigma2}), v({0.0, 1.0})},
                   v({-mu / sigma2, 1 / (2 * sigma2)}), 0.5 * std::log(2 * pi * e * sigma2),
                   [=](double t) { return std::exp(-(t - mu) * (t - mu) / (2 * sigma2)) / std::sqrt(2 * pi * sigma2); },
                   -4, 6});
  cases.push_back({"[0, 1], mean 0.3 (spec table)", {0, 1, {x}, v({0.3}), {}}, v({2.6721038552733853}),
                   -0.2528455630041859,
                   [](double t) { return std::exp(-2.6721038552733853 * t) / 0.34837467726339766; }, 0, 1});

  solvers::Options options;
  options.tolerance = 1e-11;
  options.max_iterations = 100;
  Table table({"case", "lambda closed form", "lambda Newton", "H closed form", "H = Psi(lambda*)", "|grad Psi|",
               "iterations", "max error", "ok"});
  double worst = 0;
  std::vector<std::vector<double>> curves;
  std::ostringstream plot_lines;
  for (std::size_t c = 0; c < cases.size(); ++c) {
    const Case& k = cases[c];
    const auto r = solvers::max_entropy(k.problem, options);
    double error = std::max((r.lambda - k.lambda).cwiseAbs().maxCoeff(), std::abs(r.entropy - k.entropy));
    if (!r.summary.converged() || r.summary.kkt_residual > options.tolerance) error = INFINITY;
    worst = std::max(worst, error);
    std::ostringstream lambda_cf, lambda_nm;
    for (Eigen::Index i = 0; i < k.lambda.size(); ++i) {
      lambda_cf << (i ? " " : "") << num(k.lambda[i]);
      lambda_nm << (i ? " " : "") << num(r.lambda[i]);
    }
    table.add_row({k.name, lambda_cf.str(), lambda_nm.str(), num(k.entropy), num(r.entropy), err(r.summary.kkt_residual),
                   std::to_string(r.summary.iterations), err(error), error <= kTolerance ? "yes" : "NO"});
    for (int i = 0; i <= 200; ++i) {
      const double t = k.plot_lo + (k.plot_hi - k.plot_lo) * i / 200.0;
      curves.push_back({double(c), t, k.density(t), r.density(t)});
    }
    const std::size_t first = c * 201 + 1, last = c * 201 + 201;
    plot_lines << (c ? ", \\\n     " : "") << "'densities.csv' every ::" << first << "::" << last
               << " using 2:4 with lines lw 2 title '" << k.name << "', '' every ::" << first << "::" << last
               << " using 2:3 with points pt 7 ps 0.3 lc rgb 'black' notitle";
  }
  // The die: a discrete support, spec §10.
  solvers::DiscreteMaxEntropyProblem die{VectorXd::LinSpaced(6, 1, 6), v({4.5}), {}};
  const auto d = solvers::max_entropy(die, options);
  const VectorXd die_p = v({0.054353167826, 0.078771545633, 0.114159977229, 0.16544680311, 0.239774440427, 0.347494065774});
  double die_error = std::max({std::abs(d.lambda[0] + 0.37104893808103334), std::abs(d.entropy - 1.6135810981538292),
                               (d.probabilities - die_p).cwiseAbs().maxCoeff()});
  if (!d.summary.converged()) die_error = INFINITY;
  worst = std::max(worst, die_error);
  table.add_row({"die faces 1..6, mean 4.5 (spec table)", num(-0.37104893808103334), num(d.lambda[0]),
                 num(1.6135810981538292), num(d.entropy), err(d.summary.kkt_residual), std::to_string(d.summary.iterations),
                 err(die_error), die_error <= kTolerance ? "yes" : "NO"});
  table.print(ctx.out);
  table.write_csv(ctx.out_dir / "max_entropy.csv");
  ctx.out << "die probabilities:";
  for (double p : d.probabilities) ctx.out << ' ' << num(p);
  ctx.out << '\n';
  write_csv(ctx.out_dir / "densities.csv", {"case", "x", "closed_form", "max_entropy"}, curves);
  plot(ctx, "densities.gp", "set terminal pngcairo size 1000,650\nset output 'densities.png'\n"
                            "set datafile separator ','\nset title 'Maximum-entropy densities (lines) vs closed forms (dots)'\n"
                            "set xlabel 'x'\nset ylabel 'p(x)'\nset grid\nset key right top\nplot " + plot_lines.str() + "\n");
  ctx.out << "worst error " << err(worst) << " (tolerance " << err(kTolerance) << ")\n";
  return worst <= kTolerance ? 0 : 1;
}

const Register registration{{"max-entropy",
                             "uniform, exponential and Gaussian as maximum-entropy densities; the die (spec §8.1)", run}};

}  // namespace
}  // namespace probspace::demos
