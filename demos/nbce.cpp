// Demo "nbce" (spec nbce.md §1, §9, §11): NBCE on the synthetic conditionally-independent model,
// where the exact posterior is known. Reproduces the §11.1 reference table, then KL(exact ‖ NBCE)
// by pooling rule and β for n = 2 … 16 averaged over seeds (average pooling with β = n − 1 is exact
// Naive Bayes), then sequence-level vs token-level exactness for multi-token answers.
#include "demo.hpp"

#include <probspace/nbce/decoder.hpp>
#include <probspace/nbce/synthetic.hpp>

#include <array>
#include <cmath>
#include <ostream>
#include <random>

namespace probspace::demos {
namespace {

using nbce::Options;
using nbce::Pooling;
using Eigen::VectorXd;

Options untruncated(Pooling pooling, double beta) {
  Options o;
  o.pooling = pooling;
  o.beta = beta;
  o.truncation = nbce::Truncation::None();
  o.eta = 0;
  return o;
}

VectorXd nbce_distribution(const RowMatrixX<double>& rows, const Options& o) {
  nbce::Decoder<double> decoder(o);
  return decoder.step(rows).log_probs.array().exp();
}

double kl(const VectorXd& p, const VectorXd& q) {
  double d = 0;
  for (Index i = 0; i < p.size(); ++i)
    if (p[i] > 0) d += p[i] * std::log(p[i] / q[i]);
  return d;
}

const std::array<std::pair<const char*, Pooling>, 4> kPoolings{
    {{"average", Pooling::Average}, {"min-entropy", Pooling::MinEntropy}, {"soft T_H=1", Pooling::SoftEntropy},
     {"max", Pooling::Max}}};

/// §11.1: the deterministic instance and its reference KLs.
double reference_instance(const DemoContext& ctx) {
  VectorXd prior(4);
  prior << 0.4, 0.3, 0.2, 0.1;
  RowMatrixX<double> l(4, 3);
  l << 0.6, 0.3, 0.1, 0.2, 0.5, 0.3, 0.1, 0.2, 0.7, 0.25, 0.3, 0.45;
  const nbce::CategoricalModel model(prior, l);
  const std::vector<Index> obs{0, 1, 2};
  const RowMatrixX<double> lik = model.likelihoods(obs);
  const RowMatrixX<double> rows = nbce::context_rows(prior, lik);
  const VectorXd exact = nbce::exact_posterior(prior, lik);
  // KL(exact ‖ p_NBCE) from the spec's table, by β, for average / min-entropy / max.
  const std::array<std::pair<double, std::array<double, 3>>, 4> spec{{{0, {0.0226820, 0.2960567, 0.1090661}},
                                                                      {0.25, {0.0173375, 0.4155361, 0.1274869}},
                                                                      {1, {0.0056269, 0.8629016, 0.1926768}},
                                                                      {2, {0.0, 1.5765518, 0.3032983}}}};
  Table table({"beta", "pooling", "KL(exact||NBCE)", "spec", "error"});
  double worst = 0;
  for (const auto& [beta, kls] : spec) {
    const std::array<Pooling, 3> rules{Pooling::Average, Pooling::MinEntropy, Pooling::Max};
    for (std::size_t r = 0; r < 3; ++r) {
      const double got = kl(exact, nbce_distribution(rows, untruncated(rules[r], beta)));
      const double error = std::abs(got - kls[r]);
      worst = std::max(worst, error);
      table.add_row({num(beta), r == 0 ? "average" : r == 1 ? "min-entropy" : "max", num(got), num(kls[r]), err(error)});
    }
  }
  ctx.out << "Spec 11.1 instance (pi = [.4 .3 .2 .1], s = (0, 1, 2)); the spec quotes KL to 7 decimals\n";
  table.print(ctx.out);
  table.write_csv(ctx.out_dir / "reference_instance.csv");
  return worst;
}

/// KL(exact ‖ NBCE) averaged over seeds, by n, pooling and β; returns the worst KL of average
/// pooling with β = n − 1 (which should be 0).
double kl_by_n(const DemoContext& ctx) {
  constexpr int kSeeds = 40;
  constexpr Index kAnswers = 7, kSymbols = 4;
  const std::array<double, 3> betas{0, 0.25, 1};
  std::vector<std::vector<double>> csv, by_pooling, by_beta;  // long form; the two plotted wide forms
  Table table({"n", "beta", "average", "min-entropy", "soft T_H=1", "max"});
  double worst_exact = 0;
  for (Index n = 2; n <= 16; ++n) {
    // mean KL per (β index, pooling); β index 3 is β = n − 1.
    std::array<std::array<double, 4>, 4> mean{};
    for (int seed = 0; seed < kSeeds; ++seed) {
      const auto model = nbce::CategoricalModel::random(kAnswers, kSymbols, std::uint64_t(1000 * n + seed));
      std::mt19937_64 rng{std::uint64_t(seed)};
      const RowMatrixX<double> lik = model.likelihoods(model.sample_observations(n, rng));
      const RowMatrixX<double> rows = nbce::context_rows(model.prior(), lik);
      const VectorXd exact = nbce::exact_posterior(model.prior(), lik);
      for (std::size_t b = 0; b < 4; ++b)
        for (std::size_t r = 0; r < 4; ++r) {
          const double beta = b < 3 ? betas[b] : double(n - 1);
          const double d = kl(exact, nbce_distribution(rows, untruncated(kPoolings[r].second, beta)));
          mean[b][r] += d / kSeeds;
          if (b == 3 && r == 0) worst_exact = std::max(worst_exact, std::abs(d));
        }
    }
    by_pooling.push_back({double(n), mean[1][0], mean[1][1], mean[1][2], mean[1][3]});
    by_beta.push_back({double(n), mean[0][0], mean[1][0], mean[2][0], mean[3][0]});
    for (std::size_t b = 0; b < 4; ++b) {
      const double beta = b < 3 ? betas[b] : double(n - 1);
      csv.push_back({double(n), beta, mean[b][0], mean[b][1], mean[b][2], mean[b][3]});
      if (n == 2 || n == 4 || n == 8 || n == 16)
        table.add_row({std::to_string(n), b < 3 ? num(beta) : "n-1 = " + num(beta), num(mean[b][0]), num(mean[b][1]),
                       num(mean[b][2]), num(mean[b][3])});
    }
  }
  ctx.out << "\nMean KL(exact || NBCE) over " << kSeeds << " random models (V = " << kAnswers << ", " << kSymbols
          << " symbols, no truncation); all n in kl_by_n.csv\n";
  table.print(ctx.out);
  write_csv(ctx.out_dir / "kl_by_n.csv", {"n", "beta", "average", "min_entropy", "soft", "max"}, csv);
  write_csv(ctx.out_dir / "kl_beta_0.25.csv", {"n", "average", "min_entropy", "soft", "max"}, by_pooling);
  write_csv(ctx.out_dir / "kl_average.csv", {"n", "beta_0", "beta_0.25", "beta_1", "beta_n-1"}, by_beta);
  plot(ctx, "kl_by_n.gp", R"(set terminal pngcairo size 1200,500
set output 'kl_by_n.png'
set datafile separator ','
set multiplot layout 1,2
set xlabel 'contexts n'
set ylabel 'mean KL(exact || NBCE)'
set grid
set key left top
set title 'beta = 0.25, by pooling rule'
plot 'kl_beta_0.25.csv' using 1:2 with linespoints lw 2 title 'average', \
     '' using 1:3 with linespoints lw 2 title 'min-entropy', \
     '' using 1:4 with linespoints lw 2 title 'soft T_H=1', \
     '' using 1:5 with linespoints lw 2 title 'max'
set title 'average pooling, by beta (beta = n-1 is exact)'
plot 'kl_average.csv' using 1:2 with linespoints lw 2 title 'beta 0', \
     '' using 1:3 with linespoints lw 2 title 'beta 0.25', \
     '' using 1:4 with linespoints lw 2 title 'beta 1', \
     '' using 1:5 with linespoints lw 2 title 'beta n-1'
unset multiplot
)");
  return worst_exact;
}

/// Sequence level is exact (§9.2), token level is not (§9.3): the spec's instance and random ones.
double sequence_vs_token(const DemoContext& ctx, double* spec_token_error) {
  Table table({"instance", "|sequence - exact|", "KL(exact||token level)"});
  double worst = 0;
  const auto row = [&](const std::string& name, const nbce::SequenceModel& m, double beta) {
    const VectorXd exact = m.exact_posterior();
    const Options o = untruncated(Pooling::Average, beta);
    const double seq = (m.nbce_posterior(o, nbce::SequenceModel::Level::Sequence) - exact).cwiseAbs().maxCoeff();
    const double tok = kl(exact, m.nbce_posterior(o, nbce::SequenceModel::Level::Token));
    worst = std::max(worst, seq);
    table.add_row({name, err(seq), num(tok)});
    return tok;
  };
  VectorXd prior(4);
  prior << 0.4, 0.1, 0.2, 0.3;
  RowMatrixX<double> lik(2, 4);
  lik << 0.9, 0.2, 0.6, 0.3, 0.3, 0.8, 0.5, 0.6;
  *spec_token_error = std::abs(row("spec 11.1 (V=2, m=2, n=2)", nbce::SequenceModel(2, 2, prior, lik), 1) - 0.0036998088);
  std::mt19937_64 rng(11);
  std::exponential_distribution<double> gamma1(1.0);
  for (int k = 0; k < 5; ++k) {
    const Index vocab = 3, length = 2 + k % 2, n = 3;
    Index answers = 1;
    for (Index j = 0; j < length; ++j) answers *= vocab;
    VectorXd p(answers);
    for (auto& x : p) x = gamma1(rng);
    RowMatrixX<double> l(n, answers);
    for (Index i = 0; i < l.size(); ++i) l.data()[i] = 0.05 + gamma1(rng);
    row("random V=3, m=" + std::to_string(length) + ", n=3", nbce::SequenceModel(vocab, length, p / p.sum(), l), 2);
  }
  ctx.out << "\nMulti-token answers, average pooling with beta = n - 1 (spec token-level KL 0.0036998088)\n";
  table.print(ctx.out);
  table.write_csv(ctx.out_dir / "sequence_vs_token.csv");
  return worst;
}

int run(const DemoContext& ctx) {
  const double reference = reference_instance(ctx);
  const double exact = kl_by_n(ctx);
  double spec_token = 0;
  const double sequence = sequence_vs_token(ctx, &spec_token);
  ctx.out << "\nspec table KL error " << err(reference) << " (tolerance 1e-7), average + beta = n-1 worst KL "
          << err(exact) << " (tolerance 1e-12), sequence-level worst error " << err(sequence)
          << " (tolerance 1e-12), spec token-level KL error " << err(spec_token) << " (tolerance 1e-9)\n";
  return reference <= 1e-7 && exact <= 1e-12 && sequence <= 1e-12 && spec_token <= 1e-9 ? 0 : 1;
}

const Register registration{{"nbce", "NBCE pooling vs the exact Naive-Bayes posterior on a synthetic model (nbce spec §9, §11)",
                             run}};

}  // namespace
}  // namespace probspace::demos
