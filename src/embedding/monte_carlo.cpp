// Monte Carlo of the initial loss (spec embedding.md §6 protocol).
//
// Per table t: G (and G' for Untied, P for TiedOrthogonal) from streams keyed by (seed, t), and
// W = σ·G. RMSNorm removes σ from h, so every logit is σ times the logit of G: one float GEMM
// serves every σ of a sweep. Inputs are rows 0..m−1 (the rows are exchangeable, so this is a
// uniform random subset); input i gets a target j ≠ i from the table's target stream. Blocks of
// kInputBlock inputs are threaded: h = RMSNorm(g_i) (then hP or S[h]), logits = H·Gᵀ as one GEMM
// of [block, n] (never n×n), and each row is reduced — float SIMD within chunks of 1024 logits, the
// chunk results combined in double — into per-input slots that are summed in a fixed order afterwards.
#include "checks.hpp"
#include "random.hpp"
#include "row_maps.hpp"
#include "serial_eigen.hpp"

#include <probspace/embedding/monte_carlo.hpp>
#include <probspace/embedding/transforms.hpp>

#include <boost/math/distributions/normal.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

namespace probspace::embedding {
namespace {

using probspace::detail::require;

constexpr Index kInputBlock = 256;
enum Stream : std::uint64_t { kStreamTable = 1, kStreamOutput, kStreamProjection, kStreamTargets };

/// Reduces a float row chunk by chunk: `reduce` (SIMD, in float) on chunks of kChunk entries, the
/// chunk results combined in double — summed, or by max when `combine` is kMax.
enum Combine { kSum, kMax };
template <class Reduce> double chunked_sum(const float* x, Index n, Reduce&& reduce, Combine combine = kSum) {
  constexpr Index kChunk = 1024;
  double result = combine == kMax ? -std::numeric_limits<double>::infinity() : 0.0;
  for (Index b = 0; b < n; b += kChunk) {
    const double part = reduce(Eigen::Map<const Eigen::ArrayXf>(x + b, std::min(kChunk, n - b)));
    result = combine == kMax ? std::max(result, part) : result + part;
  }
  return result;
}

/// What one input contributes at σ = 1; the losses are per σ of the sweep.
struct InputSample {
  double self_logit = 0, other_sum = 0, other_sum_squares = 0;
};

void check(const MonteCarloOptions& o, std::span<const double> sigmas) {
  constexpr std::string_view fn = "estimate_initial_loss";
  checks::vocabulary(o.n, fn);
  checks::width_for(o.parametrisation, o.d, fn);
  require(!sigmas.empty(), fn, "sigmas", "must not be empty");
  for (const double s : sigmas) checks::sigma(s, fn);
  require(o.tables >= 1, fn, "tables", "must be >= 1, got ", o.tables);
  require(o.inputs_per_table >= 1 && o.inputs_per_table <= o.n, fn, "inputs_per_table",
          "must be in [1, n = ", o.n, "], got ", o.inputs_per_table);
  require(o.tables * o.inputs_per_table >= 2, fn, "inputs_per_table",
          "times tables must be >= 2 (a standard error needs two samples), got ", o.tables * o.inputs_per_table);
  require(o.targets_per_input >= 1, fn, "targets_per_input", "must be >= 1, got ", o.targets_per_input);
  require(o.confidence > 0 && o.confidence < 1, fn, "confidence", "must be in (0, 1), got ", o.confidence);
  require(o.threads >= 0, fn, "threads", "must be >= 0 (0: the OpenMP default), got ", o.threads);
}

/// Table t: per input i < m, sample[i] at σ = 1 and loss[i·S + s] at σ = sigmas[s] (the mean over
/// the input's targets).
void run_table(const MonteCarloOptions& o, std::span<const double> sigmas, Index t, int threads,
               RowMatrixX<float>& g, RowMatrixX<float>& g_out, InputSample* sample, double* loss) {
  const Index n = o.n, d = o.d, m = o.inputs_per_table, count = Index(sigmas.size());
  const auto key = [&](Stream s) { return kernels::derive_seed(o.seed, std::uint64_t(t), s); };
  kernels::fill_normal(g.data(), n, d, 1.0, key(kStreamTable), threads);
  if (o.parametrisation == Parametrisation::Untied) kernels::fill_normal(g_out.data(), n, d, 1.0, key(kStreamOutput), threads);
  const RowMatrixX<float> p = o.parametrisation == Parametrisation::TiedOrthogonal
                                  ? haar_orthogonal<float>(d, key(kStreamProjection))
                                  : RowMatrixX<float>();
  const Index k_targets = o.targets_per_input;
  std::vector<Index> target(static_cast<std::size_t>(m * k_targets));  // input i: [i·K, (i+1)·K)
  kernels::Xoshiro256 rng(key(kStreamTargets));
  for (Index i = 0; i < m; ++i)
    for (Index k = 0; k < k_targets; ++k) {
      const Index j = rng.below(n - 1);  // uniform on {0..n−1} \ {i}
      target[std::size_t(i * k_targets + k)] = j + (j >= i);
    }
  const RowMatrixX<float>& output = o.parametrisation == Parametrisation::Untied ? g_out : g;
  const Index blocks = (m + kInputBlock - 1) / kInputBlock;

#pragma omp parallel num_threads(threads)
  {
    kernels::eigen_serial_in_region();  // one serial GEMM per thread: the same bits for any team size
    RowMatrixX<float> h, hp, logits;
#pragma omp for schedule(dynamic)
    for (Index b = 0; b < blocks; ++b) {
      const Index first = b * kInputBlock, rows = std::min(kInputBlock, m - first);
      h = g.middleRows(first, rows);
      for (Index r = 0; r < rows; ++r) {
        float* row = h.row(r).data();
        kernels::rms_normalise_row(row, row, d);
        if (o.parametrisation == Parametrisation::TiedSwap) kernels::half_swap_row(row, row, d);
      }
      if (o.parametrisation == Parametrisation::TiedOrthogonal) {
        hp.noalias() = h * p;
        h.swap(hp);
      }
      logits.noalias() = h * output.transpose();
      for (Index r = 0; r < rows; ++r) {
        const Index i = first + r;
        const float* z = logits.row(r).data();
        const float max = float(chunked_sum(z, n, [](const auto& c) { return double(c.maxCoeff()); }, kMax));
        double z_target = 0;  // the mean target logit over the input's K targets
        for (Index k = 0; k < k_targets; ++k) z_target += double(z[target[std::size_t(i * k_targets + k)]]);
        z_target /= double(k_targets);
        for (Index s = 0; s < count; ++s) {  // at σ the logits are σz: LSE = σ·max + log Σ e^{σ(z − max)}
          const double sigma = sigmas[std::size_t(s)];
          const float scale = float(sigma);
          const double sum = chunked_sum(z, n, [&](const auto& c) { return double(((c - max) * scale).exp().sum()); });
          loss[i * count + s] = sigma * (double(max) - z_target) + std::log(sum);
        }
        const double self = double(z[i]);
        const double total = chunked_sum(z, n, [](const auto& c) { return double(c.sum()); });
        const double squares = chunked_sum(z, n, [](const auto& c) { return double(c.square().sum()); });
        sample[i] = {self, total - self, squares - self * self};
      }
    }
  }
}

}  // namespace

std::vector<MonteCarloResult> estimate_initial_loss(const MonteCarloOptions& o, std::span<const double> sigmas) {
  check(o, sigmas);
  const int threads = o.threads > 0 ? o.threads : omp_get_max_threads();
  const Index m = o.inputs_per_table, samples = o.tables * m, count = Index(sigmas.size());
  std::vector<InputSample> sample(static_cast<std::size_t>(samples));
  std::vector<double> loss(static_cast<std::size_t>(samples * count));
  RowMatrixX<float> g(o.n, o.d), g_out(o.parametrisation == Parametrisation::Untied ? o.n : 0, o.d);
  for (Index t = 0; t < o.tables; ++t)
    run_table(o, sigmas, t, threads, g, g_out, sample.data() + t * m, loss.data() + t * m * count);

  // Two-pass means and variances in double, in sample order; the logit statistics at σ = 1 scale
  // by σ (means, sds) and σ² (variances).
  const double n_samples = double(samples), n_other = n_samples * double(o.n - 1);
  double self_sum = 0, other_sum = 0, other_squares = 0;
  for (const auto& s : sample) {
    self_sum += s.self_logit;
    other_sum += s.other_sum;
    other_squares += s.other_sum_squares;
  }
  const double self_mean = self_sum / n_samples, other_mean = other_sum / n_other;
  double self_ss = 0;
  for (const auto& s : sample) self_ss += (s.self_logit - self_mean) * (s.self_logit - self_mean);
  const double self_std = std::sqrt(self_ss / (n_samples - 1));
  const double other_variance = other_squares / n_other - other_mean * other_mean;
  const double z = boost::math::quantile(boost::math::normal(), 0.5 + 0.5 * o.confidence);

  std::vector<MonteCarloResult> results(sigmas.size());
  for (Index s = 0; s < count; ++s) {
    const double sigma = sigmas[std::size_t(s)];
    double sum = 0;
    for (Index k = 0; k < samples; ++k) sum += loss[k * count + s];
    const double mean = sum / n_samples;
    double ss = 0;
    for (Index k = 0; k < samples; ++k) ss += (loss[k * count + s] - mean) * (loss[k * count + s] - mean);
    auto& r = results[std::size_t(s)];
    r.samples = samples;
    r.pairs = samples * o.targets_per_input;
    r.mean_loss = mean;
    r.standard_error = std::sqrt(ss / (n_samples - 1) / n_samples);
    r.ci_low = mean - z * r.standard_error;
    r.ci_high = mean + z * r.standard_error;
    r.self_logit_mean = sigma * self_mean;
    r.self_logit_std = sigma * self_std;
    r.other_logit_mean = sigma * other_mean;
    r.other_logit_variance = sigma * sigma * other_variance;
  }
  return results;
}

MonteCarloResult estimate_initial_loss(const MonteCarloOptions& options) {
  const double sigma = options.sigma;
  return estimate_initial_loss(options, std::span<const double>(&sigma, 1)).front();
}

}  // namespace probspace::embedding
