// Selection with hysteresis (spec nbce.md §6), entropy weights (§2) and the public merge (§4).
#include <probspace/core/error.hpp>
#include <probspace/nbce/merge.hpp>
#include <probspace/nbce/pooling.hpp>

#include <cmath>

namespace probspace::nbce {

using probspace::detail::require;

namespace {
void check_entropies(const VectorX<double>& entropies, std::string_view fn) {
  require(entropies.size() > 0, fn, "entropies", "must not be empty");
  require(entropies.allFinite(), fn, "entropies", "must be finite");
}
}  // namespace

Index select_min_entropy(const VectorX<double>& entropies, Index first_row, std::optional<Index> previous,
                         double eta) {
  constexpr std::string_view fn = "select_min_entropy";
  check_entropies(entropies, fn);
  require(first_row >= 0 && first_row < entropies.size(), fn, "first_row", "must index a row, got ", first_row);
  require(std::isfinite(eta) && eta >= 0, fn, "eta", "must be finite and >= 0, got ", eta);
  if (previous)
    require(*previous >= first_row && *previous < entropies.size(), fn, "previous",
            "must index a selectable row, got ", *previous);
  Index best = first_row;
  double best_h = std::numeric_limits<double>::infinity();
  for (Index r = first_row; r < entropies.size(); ++r) {
    const double h = (previous && r == *previous) ? entropies[r] - eta : entropies[r];
    if (h < best_h) {  // strict: ties keep the lowest index
      best = r;
      best_h = h;
    }
  }
  return best;
}

VectorX<double> entropy_weights(const VectorX<double>& entropies, double temperature) {
  check_entropies(entropies, "entropy_weights");
  probspace::detail::require_positive(temperature, "entropy_weights", "temperature");
  const VectorX<double> scaled = -entropies / temperature;
  VectorX<double> w = (scaled.array() - scaled.maxCoeff()).exp();
  return w / w.sum();
}

namespace detail {

template <Real T>
void merge(const ConstVectorRef<T>& l_sel, const ConstVectorRef<T>& l_0, double beta, VectorRef<T> s,
           double finite_threshold) {
  constexpr std::string_view fn = "merge";
  require(std::isfinite(beta) && beta >= -1, fn, "beta", "must be finite and >= -1, got ", beta);
  require(std::isfinite(finite_threshold), fn, "finite_threshold", "must be finite, got ", finite_threshold);
  require(l_0.size() == l_sel.size(), fn, "l_0", "has size ", l_0.size(), ", expected ", l_sel.size());
  require(s.size() == l_sel.size(), fn, "s", "has size ", s.size(), ", expected ", l_sel.size());
  require(!l_sel.hasNaN(), fn, "l_sel", "must not hold NaN");
  require(!l_0.hasNaN(), fn, "l_0", "must not hold NaN");
  for (Index t = 0; t < s.size(); ++t) s[t] = merged_score(l_sel[t], l_0[t], T(beta), T(finite_threshold));
}

template void merge<float>(const ConstVectorRef<float>&, const ConstVectorRef<float>&, double, VectorRef<float>,
                           double);
template void merge<double>(const ConstVectorRef<double>&, const ConstVectorRef<double>&, double,
                            VectorRef<double>, double);

}  // namespace detail
}  // namespace probspace::nbce
