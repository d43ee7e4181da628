// Jacobian-vector products (spec §5); reductions in double.
#include "row_kernels.hpp"

#include <probspace/core/checks.hpp>
#include <probspace/simplex/jacobian.hpp>

#include <cmath>

namespace probspace::simplex {
namespace kernels {

// softmax and sparsemax: the sums accumulate in double with `omp simd` reductions, partial sums in
// SIMD lanes instead of one serial chain (the result changes only in the last bits).
template <Real T> void softmax_jvp_row(const T* p, const T* v, Index n, T* out, T inv_temperature) {
  double pv = 0;
#pragma omp simd reduction(+ : pv)
  for (Index i = 0; i < n; ++i) pv += double(p[i]) * double(v[i]);
  const T c = T(pv);
  for (Index i = 0; i < n; ++i) out[i] = inv_temperature * p[i] * (v[i] - c);
}

template <Real T> void sparsemax_jvp_row(const T* p, const T* v, Index n, T* out) {
  double sv = 0;
  Index support = 0;
#pragma omp simd reduction(+ : sv, support)
  for (Index i = 0; i < n; ++i) {
    const bool in = p[i] > T(0);
    sv += in ? double(v[i]) : 0.0;
    support += in ? 1 : 0;
  }
  const T mean = T(sv / double(support));
  for (Index i = 0; i < n; ++i) out[i] = p[i] > T(0) ? v[i] - mean : T(0);
}

template <Real T> void entmax_jvp_row(const T* p, const T* v, Index n, T* out, double alpha) {
  // h_i = p_i^{2−α}: sqrt for α = 1.5, the indicator for α = 2.
  const auto h = [alpha](T pi) -> double {
    if (!(pi > T(0))) return 0.0;
    return alpha == 1.5 ? std::sqrt(double(pi)) : std::pow(double(pi), 2.0 - alpha);
  };
  double hv = 0, hsum = 0;
  for (Index i = 0; i < n; ++i) {
    const double hi = h(p[i]);
    hv += hi * double(v[i]);
    hsum += hi;
  }
  const double c = hv / hsum;
  for (Index i = 0; i < n; ++i) out[i] = T(h(p[i]) * (double(v[i]) - c));
}

#define PROBSPACE_INSTANTIATE(T)                                                   \
  template void softmax_jvp_row<T>(const T*, const T*, Index, T*, T);              \
  template void sparsemax_jvp_row<T>(const T*, const T*, Index, T*);               \
  template void entmax_jvp_row<T>(const T*, const T*, Index, T*, double);
PROBSPACE_INSTANTIATE(float)
PROBSPACE_INSTANTIATE(double)
#undef PROBSPACE_INSTANTIATE

}  // namespace kernels

namespace detail {
namespace {
/// p ∈ Δ, v finite of the same size, out of the same size.
template <Real T>
void check_jvp_args(const ConstVectorRef<T>& p, const ConstVectorRef<T>& v, const VectorRef<T>& out,
                    std::string_view function) {
  probspace::detail::check_distribution(p.data(), p.size(), function, "p");
  probspace::detail::check_same_size(p.size(), v.size(), function, "v");
  probspace::detail::check_same_size(p.size(), out.size(), function, "out");
  probspace::detail::require(v.allFinite(), function, "v", "must be finite");
}
}  // namespace

template <Real T>
void softmax_jvp(const ConstVectorRef<T>& p, const ConstVectorRef<T>& v, VectorRef<T> out, T temperature) {
  check_jvp_args(p, v, out, "softmax_jvp");
  probspace::detail::require_positive(temperature, "softmax_jvp", "temperature");
  kernels::softmax_jvp_row(p.data(), v.data(), p.size(), out.data(), T(1) / temperature);
}

template <Real T> void sparsemax_jvp(const ConstVectorRef<T>& p, const ConstVectorRef<T>& v, VectorRef<T> out) {
  check_jvp_args(p, v, out, "sparsemax_jvp");
  kernels::sparsemax_jvp_row(p.data(), v.data(), p.size(), out.data());
}

template <Real T>
void entmax_jvp(const ConstVectorRef<T>& p, const ConstVectorRef<T>& v, T alpha, VectorRef<T> out) {
  check_jvp_args(p, v, out, "entmax_jvp");
  check_entmax_alpha(double(alpha), EntmaxMethod::Auto, "entmax_jvp");
  kernels::entmax_jvp_row(p.data(), v.data(), p.size(), out.data(), double(alpha));
}

#define PROBSPACE_INSTANTIATE(T)                                                                       \
  template void softmax_jvp<T>(const ConstVectorRef<T>&, const ConstVectorRef<T>&, VectorRef<T>, T);   \
  template void sparsemax_jvp<T>(const ConstVectorRef<T>&, const ConstVectorRef<T>&, VectorRef<T>);    \
  template void entmax_jvp<T>(const ConstVectorRef<T>&, const ConstVectorRef<T>&, T, VectorRef<T>);
PROBSPACE_INSTANTIATE(float)
PROBSPACE_INSTANTIATE(double)
#undef PROBSPACE_INSTANTIATE

}  // namespace detail
}  // namespace probspace::simplex
