// Public truncation primitives (spec nbce.md §3, §5) on top of the row analysis.
#include "row_analysis.hpp"

#include <probspace/core/checks.hpp>
#include <probspace/nbce/truncation.hpp>

namespace probspace::nbce::detail {

using probspace::detail::check_logits;
using probspace::detail::require;

template <Real T> Nucleus<T> nucleus(const ConstVectorRef<T>& x, const Truncation& truncation) {
  kernels::check_truncation(truncation, "nucleus", "truncation");
  const T max_x = check_logits(x.data(), x.size(), "nucleus", "x");
  return kernels::analyse_row(x.data(), x.size(), truncation, max_x).nucleus;
}

template <Real T> Nucleus<T> truncate(VectorRef<T> log_probs, const Truncation& truncation) {
  kernels::check_truncation(truncation, "truncate", "truncation");
  const T max_l = check_logits(log_probs.data(), log_probs.size(), "truncate", "log_probs");
  const Nucleus<T> nu = kernels::analyse_row(log_probs.data(), log_probs.size(), truncation, max_l).nucleus;
  for (Index t = 0; t < log_probs.size(); ++t)
    if (!nu.contains(log_probs[t], t)) log_probs[t] = -std::numeric_limits<T>::infinity();
  return nu;
}

template <Real T> double partial_entropy(const ConstVectorRef<T>& log_probs) {
  require(log_probs.size() > 0, "partial_entropy", "log_probs", "must not be empty");
  double h = 0;
  for (Index t = 0; t < log_probs.size(); ++t) {
    const double l = double(log_probs[t]);
    require(!std::isnan(l) && l <= 0.0, "partial_entropy", "log_probs", "must be <= 0 and not NaN, got ", l,
            " at index ", t);
    h -= std::exp(l) * std::max(l, -100.0);  // clip(l, −100, 0): −inf contributes 0·(−100) = 0
  }
  return h;
}

template Nucleus<float> nucleus<float>(const ConstVectorRef<float>&, const Truncation&);
template Nucleus<double> nucleus<double>(const ConstVectorRef<double>&, const Truncation&);
template Nucleus<float> truncate<float>(VectorRef<float>, const Truncation&);
template Nucleus<double> truncate<double>(VectorRef<double>, const Truncation&);
template double partial_entropy<float>(const ConstVectorRef<float>&);
template double partial_entropy<double>(const ConstVectorRef<double>&);

}  // namespace probspace::nbce::detail
