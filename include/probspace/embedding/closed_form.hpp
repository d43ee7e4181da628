#pragma once
// Predicted initial next-token loss (target j ≠ i uniform) of the bigram model at initialisation,
// spec embedding.md §3–5.
#include <probspace/embedding/parametrisation.hpp>

namespace probspace::embedding {

/// The predictions for one (parametrisation, n, d, σ); every value is in nats.
struct InitialLossPrediction {
  /// First order, every other logit ≈ 0: tied log(e^{dσ} + n − 1); otherwise log n.
  double basic;
  /// Spec refinement, E e^{z_k} = e^{dσ²/2}: log(e^{a} + (n − 1)e^{dσ²/2}) with the self term a = dσ
  /// (tied), dσ²/2 (untied, orthogonal P: log n + dσ²/2) or dσ² (swap).
  double refined;
  /// The refinement with its two leading errors removed (docs/embedding.md): the self-logit's exact
  /// law (tied: E over z_i = σ√d·χ_d by quadrature, whose mean is below dσ by ≈ σ/4 and whose spread
  /// adds a Jensen term up to Var z_i/8) and the second-order (delta-method) term
  /// −Var S / (2(e^{z_i} + E S)²) of the sum S = Σ_{k≠i} e^{z_k}; for the other parametrisations the
  /// self-logit is taken Gaussian with its exact variance. Neglected: third-order terms,
  /// O(((e^{dσ²} − 1)/n)²), so it is accurate while dσ² ≪ log n (not in the log-normal-tail regime).
  double second_order;
};

/// Predictions for vocabulary n ≥ 2, width d ≥ 1 (even for TiedSwap), σ > 0.
InitialLossPrediction predicted_initial_loss(Parametrisation parametrisation, Index n, Index d, double sigma);

}  // namespace probspace::embedding
