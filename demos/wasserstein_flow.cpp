// Demo "wasserstein-flow" (spec probability.md §8.2–8.3): the Fokker–Planck equation
// ∂p/∂t = ∂x(p ∂x V) + ∂²p/∂x² — the Wasserstein gradient flow of F[p] = ∫Vp + ∫p log p — for a
// tilted double well V = (x² − 1)² + 0.3x on [−2.5, 2.5], from a narrow bump in the shallower
// well. Snapshots of p converge to the Gibbs density e^{−V}/Z while F(t) decreases to F* = −log Z;
// mass, positivity and monotonicity are checked at every step, and the Ornstein–Uhlenbeck case
// V = x²/2 against its closed form N(m₀e^{−t}, 1 + (s₀² − 1)e^{−2t}).
#include "demo.hpp"

#include <probspace/solvers/wasserstein.hpp>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <ostream>

namespace probspace::demos {
namespace {

using Eigen::VectorXd;

double potential(double x) { return (x * x - 1) * (x * x - 1) + 0.3 * x; }

int run(const DemoContext& ctx) {
  const double lo = -2.5, hi = 2.5, dt = 0.02;
  const int cells = 250, steps = 2000;
  const double h = (hi - lo) / cells;
  VectorXd p0(cells);
  for (int i = 0; i < cells; ++i) {
    const double x = lo + (i + 0.5) * h;
    p0[i] = std::exp(-0.5 * (x - 1.6) * (x - 1.6) / 0.01);
  }
  solvers::FokkerPlanckOptions o;
  o.time_step = dt;
  o.max_iterations = steps;
  o.tolerance = 0;
  o.snapshot_every = 1;
  const auto r = solvers::fokker_planck({lo, hi, cells, potential, p0}, o);
  // Gibbs density on the grid and its free energy F_h* = −log(hΣe^{−V}).
  VectorXd gibbs(cells);
  for (int i = 0; i < cells; ++i) gibbs[i] = std::exp(-potential(r.x[i]));
  const double z = h * gibbs.sum();
  gibbs /= z;
  const double f_star = -std::log(z);

  double mass_error = 0, min_p = INFINITY, max_rise = 0;
  for (std::size_t k = 0; k < r.snapshots.size(); ++k) {
    mass_error = std::max(mass_error, std::abs(h * r.snapshots[k].sum() - 1));
    min_p = std::min(min_p, r.snapshots[k].minCoeff());
    if (k) max_rise = std::max(max_rise, r.free_energy[k] - r.free_energy[k - 1]);
  }
  Table table({"t", "F(t)", "F(t) - F*", "L1(p - Gibbs)", "mass - 1", "min p"});
  std::vector<std::vector<double>> snapshot_rows, energy_rows;
  const std::vector<int> shown{0, 5, 25, 50, 150, 500, 1000, 2000};
  for (std::size_t k = 0; k < r.snapshots.size(); ++k) {
    const VectorXd& p = r.snapshots[k];
    energy_rows.push_back({r.times[k], r.free_energy[k], r.free_energy[k] - f_star});
    if (std::find(shown.begin(), shown.end(), int(k)) == shown.end()) continue;
    table.add_row({num(r.times[k]), num(r.free_energy[k]), err(r.free_energy[k] - f_star),
                   err(h * (p - gibbs).cwiseAbs().sum()), err(h * p.sum() - 1), err(p.minCoeff())});
  }
  for (int i = 0; i < cells; ++i) {
    std::vector<double> row{r.x[i], gibbs[i]};
    for (int k : shown) row.push_back(r.snapshots[std::size_t(k)][i]);
    snapshot_rows.push_back(row);
  }
  table.print(ctx.out);
  table.write_csv(ctx.out_dir / "flow.csv");
  std::vector<std::string> header{"x", "gibbs"};
  for (int k : shown) header.push_back("t=" + num(k * dt));
  write_csv(ctx.out_dir / "snapshots.csv", header, snapshot_rows);
  write_csv(ctx.out_dir / "free_energy.csv", {"t", "F", "F_minus_Fstar"}, energy_rows);

  // Ornstein–Uhlenbeck: V = x²/2 from N(2, 0.25) to t = 1 (backward Euler: O(Δt) in the moments).
  const double m0 = 2, s0 = 0.5, ou_dt = 1e-3;
  VectorXd q0(400);
  for (int i = 0; i < 400; ++i) {
    const double x = -10 + (i + 0.5) * 0.05;
    q0[i] = std::exp(-0.5 * (x - m0) * (x - m0) / (s0 * s0));
  }
  solvers::FokkerPlanckOptions ou_options;
  ou_options.time_step = ou_dt;
  ou_options.max_iterations = 1000;
  ou_options.tolerance = 0;
  const auto ou = solvers::fokker_planck({-10, 10, 400, [](double x) { return 0.5 * x * x; }, q0}, ou_options);
  const double mean = 0.05 * ou.x.dot(ou.density);
  const double var = 0.05 * (ou.x.array() - mean).square().matrix().dot(ou.density);
  const double mean_t = m0 * std::exp(-1.0), var_t = 1 + (s0 * s0 - 1) * std::exp(-2.0);
  Table ou_table({"OU at t = 1", "closed form", "finite volumes", "error", "bound (first order in dt)"});
  ou_table.add_row({"mean", num(mean_t), num(mean), err(std::abs(mean - mean_t)), err(mean_t * ou_dt)});
  ou_table.add_row({"variance", num(var_t), num(var), err(std::abs(var - var_t)), err(4 * ou_dt)});
  ctx.out << '\n';
  ou_table.print(ctx.out);
  ou_table.write_csv(ctx.out_dir / "ornstein_uhlenbeck.csv");

  plot(ctx, "snapshots.gp", R"(set terminal pngcairo size 1000,650
set output 'snapshots.png'
set datafile separator ','
set title 'Fokker-Planck flow in a tilted double well: p(t) converging to the Gibbs density'
set xlabel 'x'
set ylabel 'p(x, t)'
set grid
set key autotitle columnhead right top
plot for [c=3:10] 'snapshots.csv' using 1:c with lines lw 2, '' using 1:2 with lines lw 3 dt 2 lc rgb 'black'
)");
  plot(ctx, "free_energy.gp", R"(set terminal pngcairo size 900,600
set output 'free_energy.png'
set datafile separator ','
set title 'F(t) - F* = KL(p_t || Gibbs), decreasing'
set xlabel 't'
set ylabel 'F(t) - F*'
set logscale y
set grid
plot 'free_energy.csv' using 1:3 with lines lw 2 notitle
)");
  const double final_l1 = h * (r.density - gibbs).cwiseAbs().sum();
  const bool ok = mass_error <= 1e-12 && min_p >= 0 && max_rise <= 1e-13 && final_l1 <= 1e-6 &&
                  std::abs(mean - mean_t) <= mean_t * ou_dt && std::abs(var - var_t) <= 4 * ou_dt;
  ctx.out << "\nmax |mass - 1| " << err(mass_error) << ", min p " << err(min_p) << ", max rise of F " << err(max_rise)
          << ", final L1 distance to Gibbs " << err(final_l1) << " (tolerances 1e-12, >= 0, <= 1e-13 = the rounding of F_h, 1e-6)\n";
  return ok ? 0 : 1;
}

const Register registration{{"wasserstein-flow",
                             "Fokker-Planck as the Wasserstein gradient flow of KL: snapshots to Gibbs, F(t) decreasing (spec §8.2-8.3)",
                             run}};

}  // namespace
}  // namespace probspace::demos
