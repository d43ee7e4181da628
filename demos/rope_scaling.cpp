// Demo "rope-scaling" (spec rope.md §7, §9): per-pair frequency ratios inv_freq′/θ of PI, NTK-aware,
// NTK-fixed/mixed, dynamic NTK, YaRN and llama3, with every §9 reference value reproduced.
#include "demo.hpp"
#include "rope_checks.hpp"

#include <probspace/rope/frequencies.hpp>
#include <probspace/rope/log_n.hpp>

#include <numbers>

namespace probspace::demos {
namespace {

using namespace probspace::rope;

int run(const DemoContext& ctx) {
  RopeChecks checks;
  const Index d = 128;
  const Eigen::VectorXd theta = default_inv_freq(d, 1e4), theta_llama = default_inv_freq(d, 5e5);
  checks.add("theta_1", 0.8659643233600653, theta[1], 1e-15);
  checks.add("theta_63", 1.1547819846894582e-4, theta[63], 1e-18);
  checks.add("wavelength of pair 63", 54410.14, 2 * std::numbers::pi / theta[63], 0.005);
  for (const auto& [s, base] : {std::pair{2.0, 20221.26}, {4.0, 40889.94}, {8.0, 82684.62}, {16.0, 167198.74}})
    checks.add("NTK-aware base, s=" + num(s), base, ntk_aware_base(d, 1e4, s), 0.005);
  checks.add("dynamic base, s=2, seq 8192, L_max 4096", 30527.7367, dynamic_ntk_base(d, 1e4, 2, 8192, 4096), 5e-5);
  checks.add("dynamic base, seq 4096", 1e4, dynamic_ntk_base(d, 1e4, 2, 4096, 4096), 0);
  checks.add("NTK-mixed a (s=12, b=0.75)", 0.10981839641754002, ntk_mixed_a(d, 12, 0.75), 1e-16);
  const auto mixed = ntk_mixed_frequencies(d, 1e4, 12, 0.75);
  checks.add("NTK-mixed factor at i=0", 0.895996836757925, mixed.inv_freq[0] / theta[0], 1e-14);
  checks.add("NTK-mixed factor at i=63", 1.0 / 12, mixed.inv_freq[63] / theta[63], 1e-14);
  for (const auto& [l, lo, hi] : {std::tuple{2048, 16.0, 41.0}, {4096, 20.0, 46.0}, {8192, 25.0, 50.0}}) {
    const auto r = yarn_correction_range(d, 1e4, l);
    checks.add("YaRN low, L_orig=" + std::to_string(l), lo, r.low, 0);
    checks.add("YaRN high, L_orig=" + std::to_string(l), hi, r.high, 0);
  }
  const auto yarn16 = yarn_frequencies(d, 1e4, 16, 4096);
  checks.add("YaRN s=16 inv_freq[20]", 0.05623413251903491, yarn16.inv_freq[20], 1e-16);
  checks.add("YaRN s=16 inv_freq[30]", 0.00852684377296741, yarn16.inv_freq[30], 1e-16);
  checks.add("YaRN s=16 inv_freq[63]/theta_63", 1.0 / 16, yarn16.inv_freq[63] / theta[63], 1e-15);
  for (const auto& [s, m] : {std::pair{2.0, 1.0693147}, {4.0, 1.1386294}, {8.0, 1.2079442}, {16.0, 1.2772589},
                             {32.0, 1.3465736}, {40.0, 1.3688879}})
    checks.add("YaRN mscale, s=" + num(s), m, yarn_frequencies(d, 1e4, s, 4096).attention_factor, 5e-8);
  const auto llama = llama3_frequencies(d, 5e5, 8, 8192, 1, 4);
  int unchanged = 0, divided = 0;
  for (Index i = 0; i < 64; ++i) {
    unchanged += llama.inv_freq[i] == theta_llama[i];
    divided += std::abs(llama.inv_freq[i] * 8 - theta_llama[i]) <= 1e-18;
  }
  checks.add("llama3 pairs unchanged", 29, unchanged, 0);
  checks.add("llama3 pairs smoothed", 6, 64 - unchanged - divided, 0);
  checks.add("llama3 pairs divided by 8", 29, divided, 0);
  checks.add("llama3 pair 29 before", 0.0026160992529250353, theta_llama[29], 1e-18);
  checks.add("llama3 pair 29 after", 0.002166570763503359, llama.inv_freq[29], 1e-17);
  const Eigen::VectorXd ones = Eigen::VectorXd::Ones(64);
  checks.add("longrope attention factor, s=32, L_orig=4096", 1.1902380714238083,
             longrope_frequencies(d, 1e4, 32, 4096, ones, ones, 100).attention_factor, 1e-15);
  checks.add("log-n dagger, n=8192, L_train=4096", 13.0 / 12, log_n_dagger(8191, 4096), 1e-15);
  checks.add("log-n dagger, n=16384", 14.0 / 12, log_n_dagger(16383, 4096), 1e-15);
  // Limits: NTK-mixed b = 1 is fixed, b = 0 is PI; YaRN s = 1 is the default.
  checks.add("NTK-mixed b=1 vs NTK-fixed", 0,
             (ntk_mixed_frequencies(d, 1e4, 8, 1).inv_freq - ntk_fixed_frequencies(d, 1e4, 8).inv_freq).cwiseAbs().maxCoeff(), 1e-15);
  checks.add("NTK-mixed b=0 vs PI", 0,
             (ntk_mixed_frequencies(d, 1e4, 8, 0).inv_freq - linear_frequencies(d, 1e4, 8).inv_freq).cwiseAbs().maxCoeff(), 1e-15);
  checks.add("YaRN s=1 vs default", 0, (yarn_frequencies(d, 1e4, 1, 4096).inv_freq - theta).cwiseAbs().maxCoeff(), 1e-16);

  // Per-pair ratios inv_freq′/θ, s = 8 (llama3 over its own base 5e5).
  struct Family { std::string name; Eigen::VectorXd ratio; };
  const std::vector<Family> families = {
      {"PI", linear_frequencies(d, 1e4, 8).inv_freq.cwiseQuotient(theta)},
      {"NTK-aware", ntk_aware_frequencies(d, 1e4, 8).inv_freq.cwiseQuotient(theta)},
      {"NTK-old", ntk_old_frequencies(d, 1e4, 8).inv_freq.cwiseQuotient(theta)},
      {"NTK-fixed", ntk_fixed_frequencies(d, 1e4, 8).inv_freq.cwiseQuotient(theta)},
      {"NTK-mixed b=0.625", ntk_mixed_frequencies(d, 1e4, 8, 0.625).inv_freq.cwiseQuotient(theta)},
      {"dynamic seq=4x4096", dynamic_ntk_frequencies(d, 1e4, 8, 16384, 4096).inv_freq.cwiseQuotient(theta)},
      {"YaRN L_orig=4096", yarn_frequencies(d, 1e4, 8, 4096).inv_freq.cwiseQuotient(theta)},
      {"llama3 (base 5e5)", llama.inv_freq.cwiseQuotient(theta_llama)}};
  std::vector<std::string> header{"pair"};
  for (const auto& f : families) header.push_back(f.name);
  std::vector<std::vector<double>> data;
  Table ratios({"pair", "PI", "NTK-aware", "NTK-old", "NTK-fixed", "NTK-mixed", "dynamic", "YaRN", "llama3"});
  for (Index i = 0; i < 64; ++i) {
    std::vector<double> row{double(i)};
    std::vector<std::string> cells{std::to_string(i)};
    for (const auto& f : families) row.push_back(f.ratio[i]), cells.push_back(num(f.ratio[i]));
    data.push_back(row);
    if (i % 8 == 0 || i == 63) ratios.add_row(cells);
  }
  ctx.out << "per-pair ratio inv_freq'/theta, s = 8, d = 128:\n";
  ratios.print(ctx.out);
  write_csv(ctx.out_dir / "ratios.csv", header, data);
  checks.add("NTK-aware lowest ratio = 1/s", 1.0 / 8, families[1].ratio[63], 1e-14);
  plot_columns(ctx, "ratios", "Per-pair frequency ratio inv_freq / theta, s = 8, d = 128", "pair index i", "ratio",
               "set logscale y 2\nset key left bottom\n", 9);

  ctx.out << '\n';
  return checks.finish(ctx, "checks.csv");
}

const Register registration{{"rope-scaling", "per-pair frequency ratios of PI / NTK / YaRN / llama3 and the spec's reference values (rope.md §7, §9)", run}};

}  // namespace
}  // namespace probspace::demos
