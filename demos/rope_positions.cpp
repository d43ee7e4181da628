// Demo "rope-positions" (spec rope.md §5, §6): the relative-position matrices of RoPE, PI, ReRoPE,
// Leaky and inverse Leaky ReRoPE for small L, the two-pass realisation against the oracle, and the
// largest position reached vs L: which lengths stay inside the trained range.
#include "demo.hpp"
#include "rope_checks.hpp"

#include <probspace/rope/attention.hpp>

#include <random>
#include <sstream>

namespace probspace::demos {
namespace {

using namespace probspace::rope;

std::string matrix_text(const RowMatrixX<double>& m) {
  std::ostringstream os;
  for (Index i = 0; i < m.rows(); ++i) {
    os << "    ";
    for (Index j = 0; j <= i; ++j) os << (j ? " " : "") << num(m(i, j));
    os << '\n';
  }
  return os.str();
}

int run(const DemoContext& ctx) {
  RopeChecks checks;
  // §9 matrices, L = 8, w = 3: printed in full, row 7 checked against the spec.
  struct Example { PositionScheme scheme; std::vector<double> row7; };
  const Example examples[] = {{PositionScheme::rope(), {7, 6, 5, 4, 3, 2, 1, 0}},
                              {PositionScheme::linear(2), {3.5, 3, 2.5, 2, 1.5, 1, 0.5, 0}},
                              {PositionScheme::rerope(3), {3, 3, 3, 3, 3, 2, 1, 0}},
                              {PositionScheme::leaky(3, 2), {5, 4.5, 4, 3.5, 3, 2, 1, 0}},
                              {PositionScheme::inverse_leaky(3, 0.5), {11, 9, 7, 5, 3, 2, 1, 0}}};
  std::vector<std::vector<double>> matrix_csv;
  for (std::size_t e = 0; e < std::size(examples); ++e) {
    const auto& [scheme, row7] = examples[e];
    const auto m = scheme.relative_matrix(8);
    ctx.out << scheme.name() << ", L = 8 (row i: P(i - j), j = 0..i):\n" << matrix_text(m);
    for (Index j = 0; j < 8; ++j) {
      checks.add(scheme.name() + " P(7, " + std::to_string(j) + ")", row7[std::size_t(j)], m(7, j), 0);
      for (Index i = j; i < 8; ++i) matrix_csv.push_back({double(e), double(i), double(j), m(i, j)});
    }
    if (scheme.two_pass()) checks.add(scheme.name() + " P(w) = w", 3, scheme.relative_position(3), 0);
  }
  ctx.out << '\n';

  // Two-pass realisation vs the oracle, both layouts, random q/k/v (spec §6.2, §11.5).
  std::mt19937_64 rng(2023);
  std::normal_distribution<double> normal;
  const Index length = 64, d = 32;
  RowMatrixX<double> q(length, d), k(length, d), v(length, 8);
  for (auto* m : {&q, &k, &v})
    for (Index c = 0; c < m->size(); ++c) m->data()[c] = normal(rng);
  for (const auto layout : {Layout::Interleaved, Layout::Half}) {
    for (const auto& scheme : {PositionScheme::rope(), PositionScheme::linear(4), PositionScheme::rerope(16),
                               PositionScheme::leaky(16, 4), PositionScheme::inverse_leaky(16, 0.25)}) {
      const AttentionSpec spec{scheme, RotaryEmbedding(default_inv_freq(d, 1e4), layout), 16};
      const auto direct = attention(q, k, v, spec, Realisation::Direct);
      const auto two = attention(q, k, v, spec, Realisation::TwoPass);
      checks.add("two-pass vs oracle, " + scheme.name() + ", " + std::string(to_string(layout)), 0,
                 (direct - two).cwiseAbs().maxCoeff(), 1e-12);
    }
  }

  // Largest relative position P(L − 1) vs L, training length 512 (the GAU experiments, spec §10).
  const Index train = 512;
  const std::vector<PositionScheme> inference = {PositionScheme::rope(),       PositionScheme::linear(8),
                                                 PositionScheme::rerope(128),  PositionScheme::leaky(128, 8),
                                                 PositionScheme::leaky(128, 16), PositionScheme::leaky(128, 32),
                                                 PositionScheme::leaky(256, 16)};
  std::vector<std::vector<double>> reach;
  Table inside({"L", "RoPE", "PI k=8", "ReRoPE w=128", "Leaky w=128 k=8", "Leaky w=128 k=16", "Leaky w=128 k=32",
                "Leaky w=256 k=16"});
  for (Index length_l = 64; length_l <= 65536; length_l *= 2) {
    std::vector<double> row{double(length_l)};
    std::vector<std::string> cells{std::to_string(length_l)};
    for (const auto& s : inference) {
      row.push_back(s.max_position(length_l));
      cells.push_back(num(s.max_position(length_l)) + (within_trained_range(s, length_l, train) ? "" : " (out)"));
    }
    reach.push_back(row);
    inside.add_row(cells);
  }
  ctx.out << "\nLargest relative position P(L-1) by scheme; '(out)' = beyond the trained range 0.." << train - 1 << ":\n";
  inside.print(ctx.out);
  inside.write_csv(ctx.out_dir / "trained_range.csv");
  write_csv(ctx.out_dir / "max_position.csv",
            {"L", "rope", "pi8", "rerope128", "leaky128_8", "leaky128_16", "leaky128_32", "leaky256_16"}, reach);
  checks.add("Leaky w=128 k=8 max at L=4096 (> 511 trained)", 623.875, PositionScheme::leaky(128, 8).max_position(4096), 0);
  checks.add("Leaky w=512 k=16 max at L=16384 (< 4096)", 1503.9375, PositionScheme::leaky(512, 16).max_position(16384), 0);

  // Inverse Leaky (training only): the largest position trained at L_train = 512 vs the inference
  // length s·512 it must cover (k = 1/(2s), w = L_train/4).
  Table inv({"s", "k", "w", "largest trained position", "needed at s*L_train", "covers"});
  std::vector<std::vector<double>> inv_csv;
  for (const double s : {1.0, 2.0, 4.0, 8.0, 16.0, 32.0}) {
    const auto scheme = inverse_leaky_for_extension(train, s);
    const double reached = scheme.max_position(train), needed = s * double(train) - 1;
    inv.add_row({num(s), num(scheme.k), std::to_string(scheme.window), num(reached), num(needed),
                 reached >= needed ? "yes" : "no"});
    inv_csv.push_back({s, reached, needed});
  }
  ctx.out << "\nInverse Leaky ReRoPE training rule at L_train = " << train << ":\n";
  inv.print(ctx.out);
  write_csv(ctx.out_dir / "inverse_leaky.csv", {"s", "largest_trained", "needed"}, inv_csv);
  checks.add("InvLeaky rule s=8: 128 + 16*383", 6256, inverse_leaky_for_extension(train, 8).max_position(train), 0);

  // P(r) curves, w = 16: identity / ReLU-like clamp / leaky slopes.
  std::vector<std::vector<double>> curves;
  for (Index r = 0; r <= 64; ++r) {
    const double x = double(r);
    curves.push_back({x, x, PositionScheme::rerope(16).relative_position(x), PositionScheme::leaky(16, 4).relative_position(x),
                      PositionScheme::inverse_leaky(16, 0.5).relative_position(x), PositionScheme::linear(4).relative_position(x)});
  }
  write_csv(ctx.out_dir / "p_of_r.csv", {"r", "rope", "rerope16", "leaky16_4", "invleaky16_0.5", "pi4"}, curves);
  write_csv(ctx.out_dir / "matrices_L8.csv", {"scheme", "i", "j", "P"}, matrix_csv);
  plot(ctx, "max_position.gp", R"(set terminal pngcairo size 1000,650
set output 'max_position.png'
set termoption noenhanced
set datafile separator ','
set title 'Largest relative position P(L-1) vs L (trained range 0..511 at L_train = 512)'
set xlabel 'L'
set ylabel 'P(L-1)'
set logscale xy 2
set key left top
set grid
plot 'max_position.csv' skip 1 using 1:2 with linespoints title 'RoPE', \
     '' skip 1 using 1:3 with linespoints title 'PI k=8', \
     '' skip 1 using 1:4 with linespoints title 'ReRoPE w=128', \
     '' skip 1 using 1:5 with linespoints title 'Leaky w=128 k=8', \
     '' skip 1 using 1:6 with linespoints title 'Leaky w=128 k=16', \
     '' skip 1 using 1:7 with linespoints title 'Leaky w=128 k=32', \
     '' skip 1 using 1:8 with linespoints title 'Leaky w=256 k=16', \
     511 with lines lw 2 dt 2 lc rgb 'black' title 'L_train - 1'
)");
  plot_columns(ctx, "p_of_r", "Effective relative position P(r), w = 16", "r = i - j", "P(r)", "set key left top\n", 6);

  ctx.out << '\n';
  return checks.finish(ctx, "checks.csv");
}

const Register registration{{"rope-positions",
                             "relative-position matrices of RoPE/PI/ReRoPE/Leaky/inverse Leaky, two-pass vs oracle, "
                             "trained range vs L (rope.md §5-6)",
                             run}};

}  // namespace
}  // namespace probspace::demos
