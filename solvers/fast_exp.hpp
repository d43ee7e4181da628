#pragma once
// e^x without a division, for loops the compiler vectorises (`#pragma omp simd`): Cody–Waite
// reduction x = k ln2 + r, |r| ≤ ln2/2, a Taylor polynomial for e^r (relative error < 2e-16 in
// double with degree 12, < 6e-9 in float with degree 7), and 2^k built in the exponent bits.
// x is clamped to the normal range, so results below it are the smallest normal instead of 0 —
// callers (the log-domain Sinkhorn sums) treat such sums as untrusted. Private to solvers/.
#include <probspace/core/types.hpp>

#include <array>
#include <bit>
#include <cstdint>

namespace probspace::solvers::detail {

template <Real T> struct ExpConstants;
template <> struct ExpConstants<double> {
  using Bits = std::uint64_t;
  static constexpr double lo = -708.0, hi = 709.0, shifter = 0x1.8p52, ln2_hi = 0x1.62e42fee00000p-1,
                          ln2_lo = 0x1.a39ef35793c76p-33;
  static constexpr int mantissa = 52, bias = 1023, degree = 12;
};
template <> struct ExpConstants<float> {
  using Bits = std::uint32_t;
  static constexpr float lo = -87.0f, hi = 88.0f, shifter = 0x1.8p23f, ln2_hi = 0x1.62e4p-1f,
                         ln2_lo = 0x1.7f7d1cp-20f;
  static constexpr int mantissa = 23, bias = 127, degree = 7;
};

/// 1/d! for d = 0..degree, in T.
template <Real T> constexpr auto inverse_factorials() {
  std::array<T, ExpConstants<T>::degree + 1> c{};
  double f = 1;
  for (int d = 0; d <= ExpConstants<T>::degree; ++d) c[std::size_t(d)] = T(1 / f), f *= d + 1;
  return c;
}

template <Real T> inline T fast_exp(T x) {
  static constexpr auto c = inverse_factorials<T>();
  using E = ExpConstants<T>;
  using Bits = typename E::Bits;
  constexpr T log2e = T(1.4426950408889634);
  x = x < E::lo ? E::lo : (x > E::hi ? E::hi : x);
  const T shifted = x * log2e + E::shifter;  // k = round(x/ln 2) in the low mantissa bits
  const T k = shifted - E::shifter;
  const T r = (x - k * E::ln2_hi) - k * E::ln2_lo;
  T p = c[E::degree];
  for (int d = E::degree - 1; d >= 0; --d) p = p * r + c[std::size_t(d)];  // Horner on Σ r^d/d!
  const Bits scale = (std::bit_cast<Bits>(shifted) + Bits(E::bias)) << E::mantissa;
  return p * std::bit_cast<T>(scale);
}

}  // namespace probspace::solvers::detail
