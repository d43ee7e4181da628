#pragma once
// The four output parametrisations of spec embedding.md §3–5 and the σ rules of the init.
#include <probspace/core/types.hpp>

#include <string_view>

namespace probspace::embedding {

/// How the logits z_k = (output of the final norm, possibly transformed) · (output row k) are formed.
enum class Parametrisation {
  Tied,            ///< z_k = h·w_k (§3)
  Untied,          ///< z_k = h·v_k with an independent N(0, σ²) output table V (§4)
  TiedOrthogonal,  ///< z_k = (hP)·w_k, P Haar-random orthogonal d×d (§5 row 3)
  TiedSwap,        ///< z_k = S[h]·w_k, S[h] = concat(h[d/2:], h[:d/2]); needs even d (§5 row 4)
};

/// The standard deviation σ of the N(0, σ²) entries of the embedding table.
enum class SigmaRule {
  Constant,      ///< σ = constant (0.02 in the spec)
  InverseSqrtD,  ///< σ = 1/√d
  LogNOverD,     ///< σ = log n / d, so that e^{dσ} = n (§5 row 1)
};

std::string_view to_string(Parametrisation parametrisation);
std::string_view to_string(SigmaRule rule);

/// σ of `rule` for vocabulary n ≥ 2 and width d ≥ 1; `constant` (> 0) is used by SigmaRule::Constant.
double sigma(SigmaRule rule, Index n, Index d, double constant = 0.02);

}  // namespace probspace::embedding
