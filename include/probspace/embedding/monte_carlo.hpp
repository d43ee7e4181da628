#pragma once
// Monte Carlo estimate of the initial loss (spec embedding.md §6 protocol): Gaussian tables, exact
// RMSNorm, full-vocabulary logits, target j ≠ i uniform, loss = LSE_k z_k − z_j.
#include <probspace/embedding/parametrisation.hpp>

#include <cstdint>
#include <span>
#include <vector>

namespace probspace::embedding {

struct MonteCarloOptions {
  Index n = 2000;      ///< vocabulary size, ≥ 2
  Index d = 256;       ///< model width, ≥ 1 (even for TiedSwap)
  double sigma = 0.02; ///< entries of W (and of V when untied) are N(0, σ²), σ > 0
  Parametrisation parametrisation = Parametrisation::Tied;
  Index tables = 10;             ///< independent tables W (with their V or P), ≥ 1
  Index inputs_per_table = 2000; ///< inputs i per table, 1 ≤ · ≤ n
  /// Targets j ≠ i drawn per input (with replacement). The logits of an input serve all of its
  /// targets, so K targets cost one GEMM row: many pairs for little time. ≥ 1.
  Index targets_per_input = 1;
  std::uint64_t seed = 0;        ///< every table, projection and target is a function of (seed, index)
  double confidence = 0.99;      ///< level of the normal confidence interval, in (0, 1)
  int threads = 0;               ///< OpenMP threads; 0 = the OpenMP default. Results do not depend on it.
};

struct MonteCarloResult {
  Index samples = 0;            ///< tables × inputs_per_table inputs (the independent units)
  Index pairs = 0;              ///< samples × targets_per_input (input, target) pairs
  double mean_loss = 0;         ///< mean of LSE_k z_k − z_j over the pairs
  /// sd of the per-input mean losses / √samples: inputs are the independent units (with one target
  /// each, the pairs treated as independent, as in §6).
  double standard_error = 0;
  double ci_low = 0, ci_high = 0;  ///< mean ∓ z_{(1+confidence)/2} · standard_error
  double self_logit_mean = 0;   ///< sample mean of z_i
  double self_logit_std = 0;    ///< sample sd of z_i
  double other_logit_mean = 0;  ///< pooled mean of z_k, k ≠ i (all n − 1 per input)
  double other_logit_variance = 0;  ///< pooled variance of z_k, k ≠ i
};

/// Runs the Monte Carlo. Table t's rows, output table, projection and targets come from streams
/// keyed by (seed, t, …) and each input's reductions are stored before a fixed-order sum, so the
/// result is bit-for-bit independent of the thread count. Logits are float GEMMs of blocks of
/// inputs against the whole table (never n×n); reductions and statistics are accumulated in double.
MonteCarloResult estimate_initial_loss(const MonteCarloOptions& options);

/// The same Monte Carlo at every σ in `sigmas` (each finite, > 0; options.sigma is not used), from
/// one set of tables: W = σ·G with G shared, so the logits are σ times those of G and one GEMM
/// serves every σ. Element k equals estimate_initial_loss with options.sigma = sigmas[k], bit for bit.
std::vector<MonteCarloResult> estimate_initial_loss(const MonteCarloOptions& options, std::span<const double> sigmas);

}  // namespace probspace::embedding
