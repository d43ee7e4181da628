// Demo "rope-decay" (spec rope.md §4): the decay indicator f(Δ) = (1/(d/2)) Σ_j |S_j| for several bases
// and for NTK/YaRN-scaled frequencies, its §9 reference values, and the Abel bound
// |Σ h_i e^{ιΔθ_i}| ≤ max|h_{i+1} − h_i| · Σ|S_j| on random q, k.
#include "demo.hpp"
#include "rope_checks.hpp"

#include <probspace/rope/decay.hpp>

#include <random>

namespace probspace::demos {
namespace {

using namespace probspace::rope;

int run(const DemoContext& ctx) {
  RopeChecks checks;
  const Index d = 128;
  const Eigen::VectorXd theta = default_inv_freq(d, 1e4);
  // §9 reference values (printed to 4 decimals there).
  const std::pair<double, double> reference[] = {{0, 32.5000},  {1, 31.5382},  {2, 28.9560},   {4, 22.6040},
                                                 {8, 19.8174},  {16, 15.7750}, {32, 13.3843},  {64, 10.0899},
                                                 {128, 9.2729}, {256, 6.5431}, {512, 5.3114},  {1024, 4.0241}};
  for (const auto& [delta, f] : reference) checks.add("f(" + num(delta) + "), d=128, base 1e4", f, decay_indicator(delta, theta), 5e-5);
  const double f18 = decay_indicator(18, theta), f19 = decay_indicator(19, theta);
  ctx.out << "oscillation: f(18) = " << num(f18) << ", f(19) = " << num(f19) << (f19 > f18 ? "  (f(19) > f(18))\n" : "\n");
  checks.add("f(19) - f(18) > 0 (sign)", 1, f19 > f18 ? 1 : 0, 0);

  // Curves on a log grid of Δ for several bases and scalings.
  struct Curve { std::string name; Eigen::VectorXd inv_freq; };
  const std::vector<Curve> curves = {{"base 1e4", theta},
                                     {"base 1e5", default_inv_freq(d, 1e5)},
                                     {"base 5e5", default_inv_freq(d, 5e5)},
                                     {"base 1e6", default_inv_freq(d, 1e6)},
                                     {"NTK-aware s=8", ntk_aware_frequencies(d, 1e4, 8).inv_freq},
                                     {"YaRN s=8 L=4096", yarn_frequencies(d, 1e4, 8, 4096).inv_freq},
                                     {"PI s=8", linear_frequencies(d, 1e4, 8).inv_freq}};
  std::vector<std::string> header{"delta"};
  for (const auto& c : curves) header.push_back(c.name);
  std::vector<std::vector<double>> data;
  for (int step = 0; step <= 400; ++step) {
    const double delta = step == 0 ? 0 : std::round(std::pow(10.0, 5.0 * step / 400));
    std::vector<double> row{delta};
    for (const auto& c : curves) row.push_back(decay_indicator(delta, c.inv_freq));
    data.push_back(row);
  }
  write_csv(ctx.out_dir / "decay.csv", header, data);
  Table summary({"delta", "base 1e4", "base 1e5", "base 5e5", "base 1e6", "NTK s=8", "YaRN s=8", "PI s=8"});
  for (const double delta : {1.0, 10.0, 100.0, 1000.0, 10000.0, 100000.0}) {
    std::vector<std::string> cells{num(delta)};
    for (const auto& c : curves) cells.push_back(num(decay_indicator(delta, c.inv_freq)));
    summary.add_row(cells);
  }
  ctx.out << "\ndecay indicator f(delta), d = 128:\n";
  summary.print(ctx.out);
  summary.write_csv(ctx.out_dir / "decay_summary.csv");

  // Abel bound on random q, k, both layouts, and Re Σ h e^{ιΔθ} = (R_m q)ᵀ(R_n k).
  std::mt19937_64 rng(17);
  std::normal_distribution<double> normal;
  double worst_ratio = 0, worst_score = 0;
  for (const auto layout : {Layout::Interleaved, Layout::Half}) {
    const RotaryEmbedding rope(theta, layout);
    for (int t = 0; t < 50; ++t) {
      Eigen::VectorXd q(d), k(d);
      for (Index c = 0; c < d; ++c) q[c] = normal(rng), k[c] = normal(rng);
      for (int step = 0; step <= 40; ++step) {
        const double delta = std::round(std::pow(10.0, 4.0 * step / 40));
        const auto a = abel_summation(q, k, delta, rope);
        worst_ratio = std::max(worst_ratio, a.magnitude / a.bound);
        worst_score = std::max(worst_score, std::abs(a.score - rotated(q, 3 * delta, rope).dot(rotated(k, 2 * delta, rope))));
      }
    }
  }
  ctx.out << "\nAbel bound on 100 random (q, k) x 41 distances: largest |sum| / bound = " << num(worst_ratio) << '\n';
  checks.add("max |sum h e^{i delta theta}| / Abel bound <= 1", 1, std::max(1.0, worst_ratio), 0);
  checks.add("complex form vs rotated dot product", 0, worst_score, 1e-9);
  plot_columns(ctx, "decay", "RoPE decay indicator f(delta) = (2/d) sum_j |S_j|, d = 128", "relative distance delta",
               "f(delta)", "set logscale x\nset key right top\n", 8);

  ctx.out << '\n';
  return checks.finish(ctx, "checks.csv");
}

const Register registration{{"rope-decay", "RoPE long-range decay indicator and Abel bound for several bases and scalings (rope.md §4)", run}};

}  // namespace
}  // namespace probspace::demos
