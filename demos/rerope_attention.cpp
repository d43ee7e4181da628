// Demo "rerope-attention" (issue 8; spec rope.md §6, docs/attention.md): the fused flash-style kernel
// (inference::attention_prefill), the two-pass reference (rope::attention TwoPass: an L×L score matrix
// per head) and the direct relative-position formula (rope::attention Direct, double: the oracle)
// agree; their time and score memory side by side at a few lengths, ReRoPE and Leaky ReRoPE (k = 8),
// w = L/4. Times are wall-clock (fused: best of 3, both threads; references: one run, one thread).
#include "demo.hpp"

#include <probspace/inference/attention.hpp>
#include <probspace/inference/eigen_view.hpp>
#include <probspace/rope/frequencies.hpp>

#include <algorithm>
#include <chrono>
#include <random>
#include <thread>
#include <vector>

namespace probspace::demos {
namespace {

using namespace probspace::rope;
using Clock = std::chrono::steady_clock;

constexpr Index kQHeads = 2, kKvHeads = 1, kHeadDim = 64;
/// Float32 results against the double oracle: observed ≈ 1e-6 (float rounding); a wrong pass or
/// select moves outputs by ≈ 1e-1 (docs/attention.md, "Accuracy").
constexpr double kTolerance = 1e-4;

template <class F> double seconds(F&& f) {
  const auto start = Clock::now();
  f();
  return std::chrono::duration<double>(Clock::now() - start).count();
}

/// Per head h (kv head h / group): rope::attention on that head's columns.
template <class T>
RowMatrixX<T> per_head(const RowMatrixX<T>& q, const RowMatrixX<T>& k, const RowMatrixX<T>& v,
                       const inference::AttentionConfig& c, Realisation realisation) {
  RowMatrixX<T> out(q.rows(), c.q_heads * kHeadDim);
  for (Index h = 0; h < c.q_heads; ++h) {
    const Index g = h / c.group_size();
    out.middleCols(h * kHeadDim, kHeadDim) =
        attention(q.middleCols(h * kHeadDim, kHeadDim), k.middleCols(g * kHeadDim, kHeadDim),
                  v.middleCols(g * kHeadDim, kHeadDim), c.head_spec(), realisation);
  }
  return out;
}

/// The fused kernel's memory: float copies of q (two passes), k (two passes) and v, plus per-thread
/// tiles (two 64×64 score tiles, the 64×dv accumulator, a key and a value tile) — O(L·d).
double fused_bytes(Index length, const inference::AttentionConfig& c) {
  const double copies = double(length) * double(2 * c.q_heads * kHeadDim + 3 * c.kv_heads * kHeadDim);
  const double tiles = double(std::max(1u, std::thread::hardware_concurrency())) * 64.0 * (2 * 64 + 3 * kHeadDim);
  return 4 * (copies + tiles);
}

int run(const DemoContext& ctx) {
  std::mt19937_64 rng(8);
  std::normal_distribution<double> normal;
  inference::Context cpu(inference::Device::Cpu);
  Table table({"L", "scheme", "fused vs direct", "two-pass vs direct", "fused vs two-pass", "fused ms",
               "two-pass ms", "direct ms", "two-pass scores MB", "fused workspace MB", "ok"});
  std::vector<std::vector<double>> csv;
  int failures = 0;
  for (const Index length : {Index(256), Index(1024), Index(2048)}) {
    RowMatrixX<double> q(length, kQHeads * kHeadDim), k(length, kKvHeads * kHeadDim), v(length, kKvHeads * kHeadDim);
    for (auto* m : {&q, &k, &v})
      for (Index i = 0; i < m->size(); ++i) m->data()[i] = double(float(normal(rng)));  // float-representable
    const RowMatrixX<float> qf = q.cast<float>(), kf = k.cast<float>(), vf = v.cast<float>();
    const Index w = length / 4;
    for (const auto& scheme : {PositionScheme::rerope(w), PositionScheme::leaky(w, 8)}) {
      const inference::AttentionConfig c{scheme, RotaryEmbedding(default_inv_freq(kHeadDim, 1e4), Layout::Half),
                                         kQHeads, kKvHeads};
      RowMatrixX<float> fused(length, kQHeads * kHeadDim);
      double fused_s = 1e30;
      for (int rep = 0; rep < 3; ++rep)
        fused_s = std::min(fused_s, seconds([&] {
                             inference::attention_prefill<float>(cpu, inference::rows_view(qf), inference::rows_view(kf),
                                                                 inference::rows_view(vf), inference::rows_view(fused), c);
                           }));
      RowMatrixX<float> two;
      const double two_s = seconds([&] { two = per_head<float>(qf, kf, vf, c, Realisation::TwoPass); });
      RowMatrixX<double> direct;
      const double direct_s = seconds([&] { direct = per_head<double>(q, k, v, c, Realisation::Direct); });
      const double e_fused = (fused.cast<double>() - direct).cwiseAbs().maxCoeff();
      const double e_two = (two.cast<double>() - direct).cwiseAbs().maxCoeff();
      const double e_between = (fused - two).cwiseAbs().maxCoeff();
      // The two-pass realisation's score memory: two L×L float matrices per head (spec §6.2).
      const double score_bytes = 2.0 * double(length) * double(length) * double(kQHeads) * 4;
      const double work_bytes = fused_bytes(length, c);
      const bool ok = e_fused <= kTolerance && e_two <= kTolerance;  // NaN fails
      failures += ok ? 0 : 1;
      table.add_row({std::to_string(length), scheme.name(), err(e_fused), err(e_two), err(e_between),
                     num(1e3 * fused_s), num(1e3 * two_s), num(1e3 * direct_s), num(score_bytes / 1e6),
                     num(work_bytes / 1e6), ok ? "yes" : "NO"});
      csv.push_back({double(length), scheme.kind == SchemeKind::ReRope ? 0.0 : 1.0, e_fused, e_two, 1e3 * fused_s,
                     1e3 * two_s, 1e3 * direct_s, score_bytes, work_bytes});
    }
  }
  ctx.out << kQHeads << " query heads, " << kKvHeads << " kv head, d = " << kHeadDim
          << ", float32; errors are max |.| against the double oracle (tolerance " << err(kTolerance) << ")\n";
  table.print(ctx.out);
  table.write_csv(ctx.out_dir / "agreement.csv");
  write_csv(ctx.out_dir / "time_memory.csv",
            {"L", "scheme", "err_fused", "err_two_pass", "fused_ms", "two_pass_ms", "direct_ms", "score_bytes",
             "fused_bytes"},
            csv);
  plot(ctx, "time_memory.gp", R"(set terminal pngcairo size 1200,500
set output 'time_memory.png'
set termoption noenhanced
set datafile separator ','
set multiplot layout 1,2
set logscale xy 2
set format y '%g'
set offsets graph 0.05, graph 0.05, 0, 0
set grid
set key left top
set xlabel 'L'
set title 'Prefill time, ReRoPE w = L/4 (ms)'
plot 'time_memory.csv' skip 1 every 2 using 1:5 with linespoints title 'fused', \
     '' skip 1 every 2 using 1:6 with linespoints title 'two-pass reference', \
     '' skip 1 every 2 using 1:7 with linespoints title 'direct formula (double)'
set title 'Score memory vs fused workspace (MB)'
plot 'time_memory.csv' skip 1 every 2 using 1:($8/1e6) with linespoints title 'two L x L score matrices per head', \
     '' skip 1 every 2 using 1:($9/1e6) with linespoints title 'fused: O(L d) copies + tiles'
unset multiplot
)");
  ctx.out << (failures == 0 ? "all rows within tolerance\n" : std::to_string(failures) + " rows missed tolerance\n");
  return failures == 0 ? 0 : 1;
}

const Register registration{{"rerope-attention",
                             "fused flash-style ReRoPE/Leaky attention vs the two-pass reference vs the direct formula: "
                             "agreement, time, memory (issue 8, rope.md §6)",
                             run}};

}  // namespace
}  // namespace probspace::demos
