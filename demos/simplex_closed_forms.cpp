// Demo "simplex-closed-forms" (spec probability.md §3): the regularised linear problems
// min_{p∈Δ} −x·p + Ω(p) solved by their closed forms (softmax, sparsemax, α-entmax) and by brute
// force — every support S enumerated, the multiplier c of Σ_{i∈S} (f_i')⁻¹(c) = 1 found by
// bisection, KKT checked off S — plus a plot of the three maps over the sweep z = (t, 0).
#include "demo.hpp"

#include <probspace/core/stable.hpp>
#include <probspace/simplex/entmax.hpp>
#include <probspace/simplex/kkt.hpp>
#include <probspace/simplex/softmax.hpp>
#include <probspace/simplex/sparsemax.hpp>

#include <cmath>
#include <functional>
#include <limits>
#include <ostream>
#include <random>

namespace probspace::demos {
namespace {

using Eigen::VectorXd;

/// A separable objective F(p) = Σ f(p_i, x_i) with f strictly convex in p.
struct Problem {
  std::string name;
  std::function<double(double p, double x)> f;
  std::function<double(double p, double x)> fprime;   // ∂f/∂p; −inf at p = 0 for entropy
  std::function<double(double c, double x)> inverse;  // (f')⁻¹(c), increasing in c, ≥ 0
  std::function<VectorXd(const VectorXd& x)> closed_form;
};

double objective(const Problem& pr, const VectorXd& p, const VectorXd& x) {
  double s = 0;
  for (Eigen::Index i = 0; i < p.size(); ++i) s += pr.f(p[i], x[i]);
  return s;
}

/// Brute force: the best KKT point over every support S.
VectorXd brute_force(const Problem& pr, const VectorXd& x) {
  const auto n = x.size();
  VectorXd best;
  double best_value = std::numeric_limits<double>::infinity();
  for (unsigned mask = 1; mask < (1u << n); ++mask) {
    const auto mass = [&](double c) {
      double s = 0;
      for (Eigen::Index i = 0; i < n; ++i)
        if (mask & (1u << i)) s += pr.inverse(c, x[i]);
      return s;
    };
    double lo = -1, hi = 1;
    while (mass(lo) > 1) lo *= 2;
    while (mass(hi) < 1) hi *= 2;
    for (int it = 0; it < 200 && hi - lo > 0; ++it) {
      const double mid = 0.5 * (lo + hi);
      if (mid <= lo || mid >= hi) break;
      (mass(mid) < 1 ? lo : hi) = mid;
    }
    const double c = 0.5 * (lo + hi);
    VectorXd p = VectorXd::Zero(n);
    bool valid = true;
    for (Eigen::Index i = 0; i < n; ++i) {
      if (mask & (1u << i)) {
        p[i] = pr.inverse(c, x[i]);
        valid &= p[i] > 0;
      } else {
        valid &= pr.fprime(0, x[i]) >= c - 1e-12;  // Form A off the support
      }
    }
    if (!valid) continue;
    p /= p.sum();
    const double value = objective(pr, p, x);
    if (value < best_value) best_value = value, best = p;
  }
  return best;
}

std::vector<Problem> problems() {
  std::vector<Problem> list;
  for (const double tau : {1.0, 0.5}) {
    list.push_back({"entropy tau=" + num(tau),
                    [tau](double p, double x) { return -x * p + (p > 0 ? tau * p * std::log(p) : 0.0); },
                    [tau](double p, double x) { return p > 0 ? -x + tau * (std::log(p) + 1) : -INFINITY; },
                    [tau](double c, double x) { return std::exp((c + x) / tau - 1); },
                    [tau](const VectorXd& x) -> VectorXd { return simplex::softmax(x, tau); }});
  }
  list.push_back({"quadratic", [](double p, double x) { return -x * p + 0.5 * p * p; },
                  [](double p, double x) { return -x + p; },
                  [](double c, double x) { return std::max(c + x, 0.0); },
                  [](const VectorXd& x) -> VectorXd { return simplex::sparsemax(x); }});
  for (const double a : {1.25, 1.5, 3.0}) {
    list.push_back({"tsallis alpha=" + num(a),
                    [a](double p, double x) { return -x * p - (p - std::pow(p, a)) / (a * (a - 1)); },
                    [a](double p, double x) { return -x + (a * std::pow(p, a - 1) - 1) / (a * (a - 1)); },
                    [a](double c, double x) {
                      return std::pow(std::max((a * (a - 1) * (c + x) + 1) / a, 0.0), 1 / (a - 1));
                    },
                    [a](const VectorXd& x) -> VectorXd { return simplex::entmax(x, a); }});
  }
  return list;
}

int run(const DemoContext& ctx) {
  constexpr double kTolerance = 1e-9;
  std::vector<std::pair<std::string, VectorXd>> inputs;
  inputs.emplace_back("z", (VectorXd(4) << 1.0, 0.5, 0.1, -0.3).finished());
  inputs.emplace_back("z2", (VectorXd(4) << 2, 1, 0, -1).finished());
  std::mt19937_64 rng(2024);
  std::normal_distribution<double> normal;
  for (int k = 0; k < 3; ++k) {
    VectorXd x(7);
    for (auto& v : x) v = 1.5 * normal(rng);
    inputs.emplace_back("random" + std::to_string(k), x);
  }

  Table table({"problem", "input", "F closed form", "F brute force", "max|dp|", "support", "fw_gap", "ok"});
  double worst = 0;
  for (const auto& pr : problems()) {
    for (const auto& [label, x] : inputs) {
      const VectorXd p = pr.closed_form(x);
      const VectorXd q = brute_force(pr, x);
      VectorXd g(x.size());
      for (Eigen::Index i = 0; i < x.size(); ++i) g[i] = pr.fprime(p[i], x[i]);
      // The entropy gradient is −inf off the support; softmax has full support, so g is finite.
      const double gap = simplex::kkt_certificate(p, g).fw_gap;
      const double dp = (p - q).cwiseAbs().maxCoeff();
      const double error = std::max({dp, std::abs(objective(pr, p, x) - objective(pr, q, x)), gap});
      worst = std::max(worst, error);
      table.add_row({pr.name, label, num(objective(pr, p, x)), num(objective(pr, q, x)), err(dp),
                     std::to_string((p.array() > 0).count()), err(gap), error <= kTolerance ? "yes" : "NO"});
    }
  }
  // The entropy row's minimum value has its own closed form, −τ·LSE(x/τ).
  const VectorXd z = inputs[0].second;
  const double lse_error = std::abs(objective(problems()[1], simplex::softmax(z, 0.5), z) + 0.5 * logsumexp(VectorXd(z / 0.5)));
  worst = std::max(worst, lse_error);
  table.print(ctx.out);
  table.write_csv(ctx.out_dir / "closed_forms.csv");
  ctx.out << "\nmin value of the entropy problem (tau = 0.5) vs -tau*LSE(z/tau): error " << err(lse_error) << '\n';

  // The maps over the sweep z = (t, 0): p₁(t) for softmax, sparsemax and entmax.
  std::vector<std::vector<double>> sweep;
  for (int k = 0; k <= 600; ++k) {
    const double t = -3 + 0.01 * k;
    const VectorXd zt = (VectorXd(2) << t, 0).finished();
    sweep.push_back({t, simplex::softmax(zt)[0], simplex::sparsemax(zt)[0], simplex::entmax(zt, 1.5)[0],
                     simplex::entmax(zt, 1.25)[0], simplex::entmax(zt, 3.0)[0]});
  }
  write_csv(ctx.out_dir / "mappings.csv", {"t", "softmax", "sparsemax", "entmax1.5", "entmax1.25", "entmax3"}, sweep);
  plot(ctx, "mappings.gp", R"(set terminal pngcairo size 900,600
set output 'mappings.png'
set datafile separator ','
set title 'p_1 of z = (t, 0): softmax, sparsemax and alpha-entmax'
set xlabel 't'
set ylabel 'p_1'
set key left top
set grid
plot 'mappings.csv' using 1:2 with lines lw 2 title 'softmax', \
     '' using 1:3 with lines lw 2 title 'sparsemax (alpha=2)', \
     '' using 1:4 with lines lw 2 title 'entmax alpha=1.5', \
     '' using 1:5 with lines lw 2 title 'entmax alpha=1.25', \
     '' using 1:6 with lines lw 2 title 'entmax alpha=3'
)");
  ctx.out << "worst error " << err(worst) << " (tolerance " << err(kTolerance) << ")\n";
  return worst <= kTolerance ? 0 : 1;
}

const Register registration{{"simplex-closed-forms",
                             "softmax / sparsemax / entmax as closed-form minimisers over the simplex (spec §3)", run}};

}  // namespace
}  // namespace probspace::demos
