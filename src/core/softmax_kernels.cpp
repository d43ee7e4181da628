// softmax and log_softmax row kernels: one max pass (fused with the input check, by the caller),
// one vectorised exp pass, one scale pass.
#include "softmax_kernels.hpp"

#include <algorithm>
#include <cmath>

namespace probspace::kernels {
namespace {

template <Real T> using MapA = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>;
template <Real T> using ConstMapA = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;

/// Σ x_i with SIMD partial sums per block of 512, blocks accumulated in double.
template <Real T> double blocked_sum(const T* x, Index n) {
  constexpr Index kBlock = 512;
  double s = 0;
  for (Index i = 0; i < n; i += kBlock)
    s += double(ConstMapA<T>(x + i, std::min(kBlock, n - i)).sum());
  return s;
}

}  // namespace

template <Real T> double softmax_row(const T* z, Index n, T* p, T inv_temperature, T max_z) {
  MapA<T> pm(p, n);
  // Eigen's vectorised exp; exp(−inf) is 0, so masked entries get exactly 0.
  pm = ((ConstMapA<T>(z, n) - max_z) * inv_temperature).exp();
  const double s = blocked_sum(p, n);
  pm *= T(1.0 / s);
  return double(max_z) * double(inv_temperature) + std::log(s);
}

template <Real T> void log_softmax_row(const T* z, Index n, T* out, T max_z) {
  // The exp pass only reduces (no store), so `out` may alias `z`.
  constexpr Index kBlock = 512;
  double s = 0;
  for (Index i = 0; i < n; i += kBlock)
    s += double((ConstMapA<T>(z + i, std::min(kBlock, n - i)) - max_z).exp().sum());
  const T lse = T(double(max_z) + std::log(s));
  MapA<T>(out, n) = ConstMapA<T>(z, n) - lse;
}

template double softmax_row<float>(const float*, Index, float*, float, float);
template double softmax_row<double>(const double*, Index, double*, double, double);
template void log_softmax_row<float>(const float*, Index, float*, float);
template void log_softmax_row<double>(const double*, Index, double*, double);

}  // namespace probspace::kernels
