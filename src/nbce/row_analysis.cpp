// Top-p by selection, not by sorting (spec nbce.md §3): a bisection on the threshold value with
// vectorised mass counts narrows the crossing token to a bracket of a few candidates; only those
// are sorted. Top-k by nth_element.
#include "row_analysis.hpp"

#include "../core/simd.hpp"

#include <probspace/core/error.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <tuple>
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
  std::vector<T> bracket_z, bracket_p;  // top-p: the tokens inside the bracket, compacted
  std::vector<Index> bracket_index;
  std::vector<Candidate<T>> candidates;
};

template <Real T> Scratch<T>& scratch(Index n) {
  thread_local Scratch<T> s;
  if (Index(s.p.size()) < n) {
    s.p.resize(std::size_t(n));
    s.bracket_z.resize(std::size_t(n));
    s.bracket_p.resize(std::size_t(n));
    s.bracket_index.resize(std::size_t(n));
  }
  return s;
}

using simd::kWidth;
using simd::load;
template <Real T> using Simd = simd::Simd<T>;

/// For K thresholds at once: mass[k] = base mass + Σ_{z_t > θ_k} p_t and count[k] = base count +
/// #{z_t > θ_k}, in one pass: two vectors per step with separate accumulators, lane sums per block of
/// 1024, blocks accumulated in double.
constexpr int kThresholds = 3;
constexpr Index kBlock = 1024;
template <Real T>
void masses_above(const T* z, const T* p, Index n, const T (&theta)[kThresholds], std::pair<double, Index> base,
                  double (&mass)[kThresholds], Index (&count)[kThresholds]) {
  using V = typename Simd<T>::V;
  using M = typename Simd<T>::M;
  constexpr Index w = kWidth<T>;
  std::fill(std::begin(mass), std::end(mass), base.first);
  std::fill(std::begin(count), std::end(count), base.second);
  for (Index b = 0; b < n; b += kBlock) {
    const Index end = std::min(kBlock, n - b) + b;
    V acc[2][kThresholds] = {};
    M cnt[2][kThresholds] = {};
    Index i = b;
    for (; i + 2 * w <= end; i += 2 * w)
      for (int u = 0; u < 2; ++u) {
        const V zv = load(z + i + u * w), pv = load(p + i + u * w);
        for (int k = 0; k < kThresholds; ++k) {
          const M above = zv > theta[k];  // lanes: −1 where above, else 0
          acc[u][k] += (V)((M)pv & above);
          cnt[u][k] -= above;
        }
      }
    for (int k = 0; k < kThresholds; ++k) {
      for (Index j = 0; j < w; ++j) {
        mass[k] += double(acc[0][k][j]) + double(acc[1][k][j]);
        count[k] += Index(cnt[0][k][j]) + Index(cnt[1][k][j]);
      }
      for (Index t = i; t < end; ++t) {
        mass[k] += z[t] > theta[k] ? double(p[t]) : 0.0;
        count[k] += z[t] > theta[k];
      }
    }
  }
}

/// The top-p search state: the crossing value c lies in (lo, hi], with mass_above(lo) ≥ top_p >
/// mass_above(hi) over the whole row; counts are of the row's tokens above each end.
template <Real T> struct Bracket {
  T lo, hi;
  double mass_hi;
  Index count_lo, count_hi;
  Index size() const { return count_lo - count_hi; }
};

/// Moves the bracket to the thresholds θ_first..θ_{K−1} just evaluated: thresholds rise and masses
/// fall, so lo goes to the last θ with mass ≥ top_p and hi to the next. False if none was inside.
template <Real T>
bool advance(Bracket<T>& b, const T (&theta)[kThresholds], const double (&mass)[kThresholds],
             const Index (&count)[kThresholds], double top_p, int first) {
  bool inside = false;
  for (int k = first; k < kThresholds; ++k) {
    if (!(theta[k] > b.lo && theta[k] < b.hi)) continue;
    inside = true;
    if (mass[k] >= top_p) {
      b.lo = theta[k];
      b.count_lo = count[k];
    } else {
      b.hi = theta[k];
      b.mass_hi = mass[k];
      b.count_hi = count[k];
      return true;
    }
  }
  return inside;
}

/// Narrows the bracket, K thresholds per pass over the tokens (z, p)[0, n) that lie in it (the whole
/// row, or a compacted bracket with `base` = mass and count of the row above it), until it holds
/// ≤ target tokens or lo and hi are adjacent values (ties only).
template <Real T>
void narrow(const T* z, const T* p, Index n, double top_p, Bracket<T>& b, Index target, std::pair<double, Index> base) {
  T theta[kThresholds];
  double mass[kThresholds];
  Index count[kThresholds];
  while (b.size() > target) {
    for (int k = 0; k < kThresholds; ++k)
      theta[k] = T(double(b.lo) + (double(b.hi) - double(b.lo)) * (k + 1) / (kThresholds + 1));
    masses_above(z, p, n, theta, base, mass, count);
    if (!advance(b, theta, mass, count, top_p, 0)) return;
  }
}

/// Copies the tokens with lo < z ≤ hi into (bz, bp, bi), skipping 64-token blocks that hold none
/// (the test per block vectorises; the copy is branch-free). Returns how many were copied.
template <Real T> Index compact(const T* z, const T* p, Index n, T lo, T hi, T* bz, T* bp, Index* bi) {
  constexpr Index kSkip = 64;
  Index k = 0;
  for (Index b = 0; b < n; b += kSkip) {
    const Index end = std::min(kSkip, n - b) + b;
    int any = 0;
    for (Index t = b; t < end; ++t) any |= int(z[t] > lo) & int(z[t] <= hi);
    if (!any) continue;
    for (Index t = b; t < end; ++t) {
      bz[k] = z[t];
      bp[k] = p[t];
      bi[k] = t;
      k += int(z[t] > lo) & int(z[t] <= hi);
    }
  }
  return k;
}

/// e_t = exp(z_t − max_z) into e (Eigen's vectorised exp, per L1 block), with S = Σ e,
/// W = Σ_{z_t > −inf} e_t·(z_t − max_z) and the number of finite entries, in the same pass.
struct ExpSums {
  double sum = 0, weighted = 0;
  Index finite = 0;
};
template <Real T> ExpSums exp_pass(const T* z, Index n, T max_z, T* e) {
  using V = typename Simd<T>::V;
  using M = typename Simd<T>::M;
  constexpr Index w = kWidth<T>;
  constexpr T kNegInf = -std::numeric_limits<T>::infinity();
  ExpSums out;
  for (Index b = 0; b < n; b += kBlock) {
    const Index len = std::min(kBlock, n - b), end = b + len;
    Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>(e + b, len) = (ConstMapA<T>(z + b, len) - max_z).exp();
    V sum = {}, weighted = {};
    M finite = {};
    Index i = b;
    for (; i + w <= end; i += w) {
      const V zv = load(z + i), ev = load(e + i);
      const M is_finite = zv > kNegInf;  // e = 0 there, but 0·(−inf) would be NaN
      sum += ev;
      weighted += (V)((M)(ev * (zv - max_z)) & is_finite);
      finite -= is_finite;
    }
    for (Index j = 0; j < w; ++j) {
      out.sum += double(sum[j]);
      out.weighted += double(weighted[j]);
      out.finite += Index(finite[j]);
    }
    for (; i < end; ++i) {
      out.sum += double(e[i]);
      if (z[i] > kNegInf) {
        out.weighted += double(e[i]) * double(z[i] - max_z);
        ++out.finite;
      }
    }
  }
  return out;
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
/// mass_above(c) + mass at c; the search keeps mass_above(lo) ≥ top_p > mass_above(hi), so c ∈ (lo, hi].
/// p holds unnormalised e_t = exp(z_t − max_z) with Σ e = e_sum; masses are compared in those units.
template <Real T> Nucleus<T> top_p(const T* z, const T* p, Index n, double top_p_fraction, double e_sum,
                                   double log_norm, T max_z, Scratch<T>& s) {
  constexpr T kNegInf = -std::numeric_limits<T>::infinity();
  if (top_p_fraction >= 1.0) return all_finite(z, n);
  const double top_p = top_p_fraction * e_sum;  // the target mass in units of e
  constexpr Index kFew = 48;  // sort the bracket once it holds this many tokens
  // Every token with p ≤ (1 − top_p)/n is removed (the ascending mass up to it is ≤ 1 − top_p):
  // the search starts from there, verified; rounding at the extremes falls back to below the minimum.
  T theta[kThresholds];
  double mass[kThresholds];
  Index count[kThresholds];
  // The first pass checks lo and splits [lo, max z] at two more thresholds.
  const auto first_pass = [&](T lo) {
    for (int k = 0; k < kThresholds; ++k) theta[k] = T(double(lo) + (double(max_z) - double(lo)) * k / kThresholds);
    masses_above(z, p, n, theta, {0.0, 0}, mass, count);
    return mass[0] >= top_p;
  };
  T lo = std::min(T(log_norm + std::log((1.0 - top_p_fraction) / double(n))), max_z);
  if (!first_pass(lo)) {
    lo = std::nextafter((ConstMapA<T>(z, n) > kNegInf).select(ConstMapA<T>(z, n), max_z).minCoeff(), kNegInf);
    if (!first_pass(lo)) return all_finite(z, n);  // even all of it does not reach top_p
  }
  // Narrow on the whole row, compact the bracket, narrow on the compacted tokens, sort the few left.
  Bracket<T> br{lo, max_z, 0.0, count[0], 0};
  advance(br, theta, mass, count, top_p, 1);
  narrow(z, p, n, top_p, br, std::max(kFew, n / 64), {0.0, 0});
  const Index m = compact(z, p, n, br.lo, br.hi, s.bracket_z.data(), s.bracket_p.data(), s.bracket_index.data());
  narrow(s.bracket_z.data(), s.bracket_p.data(), m, top_p, br, kFew, {br.mass_hi, br.count_hi});
  auto& cand = s.candidates;
  cand.clear();
  for (Index i = 0; i < m; ++i)
    if (s.bracket_z[i] > br.lo && s.bracket_z[i] <= br.hi)
      cand.push_back({s.bracket_z[i], s.bracket_p[i], s.bracket_index[i]});
  std::sort(cand.begin(), cand.end(), [](const Candidate<T>& a, const Candidate<T>& c) {
    return a.z > c.z || (a.z == c.z && a.index < c.index);
  });
  Nucleus<T> nucleus{br.hi, -1, br.count_hi};
  double kept_mass = br.mass_hi;
  for (const auto& c : cand) {
    if (!(kept_mass < top_p)) break;
    kept_mass += double(c.p);
    nucleus.cut = c.z;
    nucleus.last_tie = c.index;
    ++nucleus.size;
  }
  return nucleus;
}

/// −Σ_{t∈N} p_t·clip(z_t − log_norm, −100, 0) and #{z_t > cut}: the tokens strictly above the cut
/// in one vector pass, plus the kept ties at the cut (they share one value).
/// p holds unnormalised e_t = exp(z_t − max_z) with Σ e = e_sum.
template <Real T>
std::pair<double, Index> nucleus_entropy(const T* z, const T* p, Index n, const Nucleus<T>& nu, double log_norm,
                                         double e_sum) {
  using V = typename Simd<T>::V;
  using M = typename Simd<T>::M;
  constexpr Index w = kWidth<T>;
  const T ln = T(log_norm), clip = T(kEntropyClip), cut = nu.cut;
  const auto term = [&](T zt, T pt) { return pt * std::min(std::max(zt - ln, clip), T(0)); };
  double h = 0;
  Index above = 0;
  for (Index b = 0; b < n; b += kBlock) {
    const Index end = std::min(kBlock, n - b) + b;
    V acc = {};
    M cnt = {};
    Index i = b;
    for (; i + w <= end; i += w) {
      const V zv = load(z + i), pv = load(p + i);
      V l = zv - ln;
      l = l < clip ? clip : l;
      l = l > T(0) ? T(0) : l;
      const M kept = zv > cut;
      acc += (V)((M)(pv * l) & kept);
      cnt -= kept;
    }
    for (Index j = 0; j < w; ++j) {
      h -= double(acc[j]);
      above += Index(cnt[j]);
    }
    for (; i < end; ++i)
      if (z[i] > cut) {
        h -= double(term(z[i], p[i]));
        ++above;
      }
  }
  h /= e_sum;
  if (const Index ties = nu.size - above; ties > 0) {
    const double l = std::clamp(double(nu.cut) - log_norm, kEntropyClip, 0.0);
    h -= double(ties) * std::exp(double(nu.cut) - log_norm) * l;
  }
  return {h, above};
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
  const ExpSums sums = exp_pass(z, n, max_z, s.p.data());  // s.p holds e = exp(z − max z)
  row.log_norm = double(max_z) + std::log(sums.sum);
  switch (truncation.kind) {
  case Truncation::Kind::None:
    // H = LSE − Σ p·z = log S − W/S from the exp pass. The clip at −100 of §5 changes only terms
    // below e^{−100}·100 ≈ 4e−42 (float underflows them to 0 anyway).
    row.nucleus.size = sums.finite;
    row.entropy = std::log(sums.sum) - sums.weighted / sums.sum;
    return row;
  case Truncation::Kind::TopP:
    row.nucleus = top_p(z, s.p.data(), n, truncation.top_p, sums.sum, row.log_norm, max_z, s);
    break;
  case Truncation::Kind::TopK: row.nucleus = top_k(z, n, truncation.top_k, s); break;
  }
  row.entropy = nucleus_entropy(z, s.p.data(), n, row.nucleus, row.log_norm, sums.sum).first;
  return row;
}

template RowAnalysis<float> analyse_row<float>(const float*, Index, const Truncation&, float);
template RowAnalysis<double> analyse_row<double>(const double*, Index, const Truncation&, double);

}  // namespace probspace::nbce::kernels
