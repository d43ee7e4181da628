// Top-p by selection, not by sorting (spec nbce.md §3): a bisection on the threshold value with
// vectorised mass counts narrows the crossing token to a bracket of a few candidates; only those
// are sorted. Top-k by nth_element.
#include "row_analysis.hpp"

#include "../core/softmax_kernels.hpp"

#include <probspace/core/error.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

namespace probspace::nbce::kernels {
namespace {

using probspace::detail::require;

template <Real T> using ConstMapA = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;
constexpr double kEntropyClip = -100.0;  // §5: clip(l, −100, 0)

template <Real T> struct Candidate {
  T z;
  T p;
  Index index;
};

template <Real T> struct Scratch {
  std::vector<T> p;       // softmax(z)
  std::vector<T> values;  // top-k: a copy of z for nth_element
  std::vector<Candidate<T>> candidates;
};

template <Real T> Scratch<T>& scratch(Index n) {
  thread_local Scratch<T> s;
  if (Index(s.p.size()) < n) s.p.resize(std::size_t(n));
  return s;
}

/// (Σ_{z_t > θ} p_t, #{z_t > θ}), vectorised in blocks, blocks summed in double.
template <Real T> std::pair<double, Index> mass_above(const T* z, const T* p, Index n, T theta) {
  constexpr Index kBlock = 1024;
  double mass = 0;
  Index count = 0;
  for (Index b = 0; b < n; b += kBlock) {
    const Index len = std::min(kBlock, n - b);
    const auto above = ConstMapA<T>(z + b, len) > theta;
    mass += double(above.select(ConstMapA<T>(p + b, len), T(0)).sum());
    count += above.count();
  }
  return {mass, count};
}

/// Every finite entry: no truncation, or a top-k/top-p that keeps everything.
template <Real T> Nucleus<T> all_finite(const T* z, Index n) {
  Nucleus<T> all;
  all.size = (ConstMapA<T>(z, n) > -std::numeric_limits<T>::infinity()).count();
  return all;
}

/// Top-k (§3): keep every token scoring ≥ the k_eff-th largest, ties included.
template <Real T> Nucleus<T> top_k(const T* z, Index n, Index k, Scratch<T>& s) {
  const Index k_eff = std::min(k, n);
  s.values.assign(z, z + n);
  std::nth_element(s.values.begin(), s.values.begin() + (k_eff - 1), s.values.end(), std::greater<T>());
  const T kth = s.values[std::size_t(k_eff - 1)];
  if (kth == -std::numeric_limits<T>::infinity()) return all_finite(z, n);
  return {kth, n, (ConstMapA<T>(z, n) >= kth).count()};
}

/// Top-p (§3, exact semantics): the token at rank r (descending p, ties by index) is kept iff the
/// mass strictly above it is < top_p. The crossing value c is the one with mass_above(c) < top_p ≤
/// mass_above(c) + mass at c; the bisection keeps mass_above(lo) ≥ top_p > mass_above(hi), so c ∈ (lo, hi].
template <Real T> Nucleus<T> top_p(const T* z, const T* p, Index n, double top_p, double log_norm, T max_z,
                                   Scratch<T>& s) {
  if (top_p >= 1.0) return all_finite(z, n);
  constexpr Index kFew = 48;  // sort the bracket once it holds this many tokens
  T hi = max_z;
  double mass_hi = 0;
  Index count_hi = 0;
  // Every token with p ≤ (1 − top_p)/n is removed (the ascending mass up to it is ≤ 1 − top_p).
  T lo = T(log_norm + std::log((1.0 - top_p) / double(n)));
  auto [mass_lo, count_lo] = mass_above(z, p, n, lo);
  if (!(lo < hi) || mass_lo < top_p) {  // rounding at the extremes: bracket from below the smallest entry
    const auto finite = ConstMapA<T>(z, n) > -std::numeric_limits<T>::infinity();
    lo = std::nextafter(finite.select(ConstMapA<T>(z, n), max_z).minCoeff(), -std::numeric_limits<T>::infinity());
    std::tie(mass_lo, count_lo) = mass_above(z, p, n, lo);
    if (mass_lo < top_p) return all_finite(z, n);  // even all of it does not reach top_p
  }
  while (count_lo - count_hi > kFew) {
    const T mid = lo + (hi - lo) / T(2);
    if (!(mid > lo && mid < hi)) break;  // adjacent values: the bracket holds ties only
    const auto [mass, count] = mass_above(z, p, n, mid);
    if (mass >= top_p) {
      lo = mid;
      count_lo = count;
    } else {
      hi = mid;
      mass_hi = mass;
      count_hi = count;
    }
  }
  auto& cand = s.candidates;
  cand.clear();
  for (Index t = 0; t < n; ++t)
    if (z[t] > lo && z[t] <= hi) cand.push_back({z[t], p[t], t});
  std::sort(cand.begin(), cand.end(),
            [](const Candidate<T>& a, const Candidate<T>& b) { return a.z > b.z || (a.z == b.z && a.index < b.index); });
  Nucleus<T> nucleus{hi, -1, count_hi};
  double mass = mass_hi;
  for (const auto& c : cand) {
    if (!(mass < top_p)) break;
    mass += double(c.p);
    nucleus.cut = c.z;
    nucleus.last_tie = c.index;
    ++nucleus.size;
  }
  return nucleus;
}

/// −Σ_{t∈N} p_t·clip(z_t − log_norm, −100, 0): the tokens strictly above the cut, vectorised, plus
/// the kept ties at the cut (they share one value).
template <Real T> double nucleus_entropy(const T* z, const T* p, Index n, const Nucleus<T>& nu, double log_norm) {
  const T ln = T(log_norm), clip = T(kEntropyClip);
  constexpr Index kBlock = 1024;
  double h = 0;
  Index above = 0;
  for (Index b = 0; b < n; b += kBlock) {
    const Index len = std::min(kBlock, n - b);
    const auto zb = ConstMapA<T>(z + b, len);
    const auto kept = zb > nu.cut;
    h -= double(kept.select(ConstMapA<T>(p + b, len) * (zb - ln).max(clip).min(T(0)), T(0)).sum());
    above += kept.count();
  }
  if (const Index ties = nu.size - above; ties > 0) {
    const double l = std::clamp(double(nu.cut) - log_norm, kEntropyClip, 0.0);
    h -= double(ties) * std::exp(double(nu.cut) - log_norm) * l;
  }
  return h;
}

}  // namespace

void check_truncation(const Truncation& truncation, std::string_view function, std::string_view argument) {
  switch (truncation.kind) {
  case Truncation::Kind::None: return;
  case Truncation::Kind::TopP:
    require(truncation.top_p > 0.0 && truncation.top_p <= 1.0, function, argument,
            "top_p must be in (0, 1], got ", truncation.top_p);
    return;
  case Truncation::Kind::TopK:
    require(truncation.top_k >= 1, function, argument, "top_k must be >= 1, got ", truncation.top_k);
    return;
  }
  probspace::detail::throw_invalid(function, argument, "has an unknown kind");
}

template <Real T> RowAnalysis<T> analyse_row(const T* z, Index n, const Truncation& truncation, T max_z) {
  auto& s = scratch<T>(n);
  RowAnalysis<T> row;
  row.log_norm = probspace::kernels::softmax_row(z, n, s.p.data(), T(1), max_z);
  switch (truncation.kind) {
  case Truncation::Kind::None: row.nucleus = all_finite(z, n); break;
  case Truncation::Kind::TopP: row.nucleus = top_p(z, s.p.data(), n, truncation.top_p, row.log_norm, max_z, s); break;
  case Truncation::Kind::TopK: row.nucleus = top_k(z, n, truncation.top_k, s); break;
  }
  row.entropy = nucleus_entropy(z, s.p.data(), n, row.nucleus, row.log_norm);
  return row;
}

template RowAnalysis<float> analyse_row<float>(const float*, Index, const Truncation&, float);
template RowAnalysis<double> analyse_row<double>(const double*, Index, const Truncation&, double);

}  // namespace probspace::nbce::kernels
