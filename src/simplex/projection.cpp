// Π_{Δ_a} and the ℓ1-ball projection (spec §4.1) on top of the threshold kernels.
#include "row_kernels.hpp"
#include "threshold_kernels.hpp"

#include "../core/simd.hpp"

#include <probspace/core/checks.hpp>
#include <probspace/simplex/projection.hpp>
#include <probspace/simplex/sparsemax.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace probspace::simplex {

namespace {
/// out = [(y − τ) − τ_lo]₊ (spec §4.1), τ + τ_lo the threshold in two floating-point numbers. An output too large to stay in cache is written with streaming
/// stores, which skip reading each line for ownership first; where Condat's pass skipped a piece
/// of y whole (bit set in `skipped`, if given) the output is 0 and y is not read again.
template <Real T>
void positive_part_shifted(const T* y, Index n, T tau, T tau_lo, T* out, const std::vector<std::uint64_t>* skipped) {
  constexpr std::size_t kStreamBytes = std::size_t(8) << 20;
  Index i = 0;
  if (std::size_t(n) * sizeof(T) >= kStreamBytes) {
    using V = typename simd::Simd<T>::V;
    constexpr Index w = simd::kWidth<T>;
    const auto zero_piece = [&](Index p) {
      return skipped && ((*skipped)[std::size_t(p / 64)] >> (p % 64) & 1) != 0;
    };
    for (; reinterpret_cast<std::uintptr_t>(out + i) % sizeof(V) != 0; ++i) out[i] = std::max((y[i] - tau) - tau_lo, T(0));
    const V t = V{} + tau, t_lo = V{} + tau_lo, zero = {};
    for (; i + w <= n; i += w) {
      if (zero_piece(i / kernels::kCondatPiece) && zero_piece((i + w - 1) / kernels::kCondatPiece)) {
        simd::stream(out + i, zero);
      } else {
        const V d = (simd::load(y + i) - t) - t_lo;
        simd::stream(out + i, d < zero ? zero : d);  // = std::max(d, 0), lane by lane
      }
    }
    simd::stream_fence();
  }
  for (; i < n; ++i) out[i] = std::max((y[i] - tau) - tau_lo, T(0));
}
}  // namespace

template <Real T>
Threshold<T> kernels::project_simplex_row(const T* y, Index n, T* out, double a, T max_y,
                                          ProjectionMethod method, std::vector<double>& work) {
  thread_local std::vector<std::uint64_t> skipped;
  const bool condat = runs_condat(method, n);
  const auto t = condat ? threshold_condat(y, n, a, work, &skipped) : threshold(y, n, a, max_y, method, work);
  if (t.support_size == 0) return {T(t.tau), 0};  // Condat found invalid input: out untouched
  // τ as an unevaluated sum τ_hi + τ_lo: y − τ_hi is exact near τ (Sterbenz), so entries far below
  // one ulp of y (e.g. 1/32000 next to y ≈ 1 in float) keep their relative precision.
  const T tau = T(t.tau), tau_lo = T(t.tau - double(tau));
  positive_part_shifted(y, n, tau, tau_lo, out, condat ? &skipped : nullptr);
  return {tau, t.support_size};
}
template Threshold<float> kernels::project_simplex_row<float>(const float*, Index, float*, double, float,
                                                              ProjectionMethod, std::vector<double>&);
template Threshold<double> kernels::project_simplex_row<double>(const double*, Index, double*, double, double,
                                                                ProjectionMethod, std::vector<double>&);

namespace detail {

using probspace::detail::check_logits;
using probspace::detail::check_same_size;
using probspace::detail::require;
using probspace::detail::require_positive;

namespace {
/// Π_{Δ_a}(y) behind project_simplex and sparsemax, which differ only in the names they report.
template <Real T>
Threshold<T> checked_projection(const ConstVectorRef<T>& y, VectorRef<T> out, T radius, ProjectionMethod method,
                                const char* fn, const char* y_name, const char* out_name) {
  check_same_size(y.size(), out.size(), fn, out_name);
  require(y.size() > 0, fn, y_name, "must not be empty");
  // Condat checks y in its own pass (one read of y fewer); the other methods need max y first.
  const bool fused = kernels::runs_condat(method, y.size());
  const T max_y = fused ? T(0) : check_logits(y.data(), y.size(), fn, y_name);
  require_positive(radius, fn, "radius");
  const auto t = kernels::project_simplex_row(y.data(), y.size(), out.data(), double(radius), max_y, method,
                                              kernels::thread_scratch());
  if (t.support_size == 0) check_logits(y.data(), y.size(), fn, y_name);  // throws, naming the fault
  return t;
}
}  // namespace

template <Real T>
Threshold<T> project_simplex(const ConstVectorRef<T>& y, VectorRef<T> out, T radius, ProjectionMethod method) {
  return checked_projection(y, out, radius, method, "project_simplex", "y", "out");
}

template <Real T> Threshold<T> sparsemax(const ConstVectorRef<T>& z, VectorRef<T> p, ProjectionMethod method) {
  return checked_projection(z, p, T(1), method, "sparsemax", "z", "p");
}

template <Real T>
Threshold<T> project_l1_ball(const ConstVectorRef<T>& y, VectorRef<T> out, T radius, ProjectionMethod method) {
  check_same_size(y.size(), out.size(), "project_l1_ball", "out");
  require(y.size() > 0, "project_l1_ball", "y", "must not be empty");
  require(y.allFinite(), "project_l1_ball", "y", "must be finite");
  require_positive(radius, "project_l1_ball", "radius");
  double norm = 0;
  for (Index i = 0; i < y.size(); ++i) norm += std::abs(double(y[i]));
  if (norm <= double(radius)) {
    if (out.data() != y.data()) out = y;
    return {T(0), Index((y.array() != T(0)).count())};
  }
  thread_local VectorX<T> magnitude;
  magnitude = y.cwiseAbs();
  const auto t = kernels::threshold(magnitude.data(), magnitude.size(), double(radius),
                                    magnitude.maxCoeff(), method, kernels::thread_scratch());
  const T tau = T(t.tau);
  for (Index i = 0; i < y.size(); ++i)
    out[i] = std::copysign(std::max(magnitude[i] - tau, T(0)), y[i]);
  return {tau, t.support_size};
}

#define PROBSPACE_INSTANTIATE(T)                                                                   \
  template Threshold<T> project_simplex<T>(const ConstVectorRef<T>&, VectorRef<T>, T, ProjectionMethod); \
  template Threshold<T> project_l1_ball<T>(const ConstVectorRef<T>&, VectorRef<T>, T, ProjectionMethod); \
  template Threshold<T> sparsemax<T>(const ConstVectorRef<T>&, VectorRef<T>, ProjectionMethod);
PROBSPACE_INSTANTIATE(float)
PROBSPACE_INSTANTIATE(double)

}  // namespace detail
}  // namespace probspace::simplex
