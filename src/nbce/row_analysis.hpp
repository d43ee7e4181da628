#pragma once
// One row of the NBCE step (spec nbce.md §8, lines 2–4): log-normaliser, nucleus, partial entropy.
// Private to src/; shared by the public truncation functions and the Decoder.
#include <probspace/core/types.hpp>
#include <probspace/nbce/truncation.hpp>

#include <string_view>

namespace probspace::nbce::kernels {

template <Real T> struct RowAnalysis {
  double log_norm = 0;  ///< LSE(z): l = z − log_norm
  Nucleus<T> nucleus;   ///< kept set under the truncation, as a threshold on z
  double entropy = 0;   ///< −Σ_{t∈nucleus} p_t·clip(l_t, −100, 0) (§5)
};

/// Rejects a truncation outside its domain (0 < top_p ≤ 1, top_k ≥ 1), naming `argument`.
void check_truncation(const Truncation& truncation, std::string_view function, std::string_view argument);

/// Analyses a validated row of logits z (max_z = max z, from check_logits). Uses per-thread scratch,
/// so it may run in parallel over rows; no allocation once the scratch has grown to n.
template <Real T> RowAnalysis<T> analyse_row(const T* z, Index n, const Truncation& truncation, T max_z);

}  // namespace probspace::nbce::kernels
