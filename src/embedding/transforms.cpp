// RMSNorm, half swap and Haar-random orthogonal matrices (spec embedding.md §1, §5, §6).
#include "random.hpp"
#include "row_maps.hpp"
#include "serial_eigen.hpp"

#include <probspace/core/error.hpp>
#include <probspace/embedding/transforms.hpp>

#include <Eigen/QR>

namespace probspace::embedding::detail {

using probspace::detail::require;

namespace {
template <Real T> void check_finite_vector(const ConstVectorRef<T>& x, std::string_view fn) {
  require(x.size() > 0, fn, "x", "must not be empty");
  for (Index i = 0; i < x.size(); ++i)
    require(std::isfinite(x[i]), fn, "x", "must be finite, got ", x[i], " at index ", i);
}
}  // namespace

template <Real T> void rms_normalise(const ConstVectorRef<T>& x, VectorRef<T> out) {
  check_finite_vector(x, "rms_normalise");
  require(!x.isZero(0), "rms_normalise", "x", "must not be the zero vector");
  require(out.size() == x.size(), "rms_normalise", "out", "has size ", out.size(), ", expected ", x.size());
  kernels::rms_normalise_row(x.data(), out.data(), x.size());
}

template <Real T> void half_swap(const ConstVectorRef<T>& x, VectorRef<T> out) {
  check_finite_vector(x, "half_swap");
  require(x.size() % 2 == 0, "half_swap", "x", "must have even size, got ", x.size());
  require(out.size() == x.size(), "half_swap", "out", "has size ", out.size(), ", expected ", x.size());
  kernels::half_swap_row(x.data(), out.data(), x.size());
}

template <Real T> RowMatrixX<T> haar_orthogonal(Index d, std::uint64_t seed) {
  require(d >= 1, "haar_orthogonal", "d", "must be >= 1, got ", d);
  RowMatrixX<double> gaussian(d, d);
  kernels::fill_normal(gaussian.data(), d, d, 1.0, seed, omp_get_max_threads());
  RowMatrixX<T> q;
  kernels::run_eigen_serial([&] {  // the same bits for every thread count
    const Eigen::HouseholderQR<Eigen::MatrixXd> qr(gaussian);
    Eigen::MatrixXd full = qr.householderQ();
    // Haar measure needs diag R > 0: Q ← Q·diag(sign R_kk) (Mezzadri 2007).
    for (Index k = 0; k < d; ++k)
      if (qr.matrixQR()(k, k) < 0) full.col(k) = -full.col(k);
    q = full.cast<T>();
  });
  return q;
}

template void rms_normalise<float>(const ConstVectorRef<float>&, VectorRef<float>);
template void rms_normalise<double>(const ConstVectorRef<double>&, VectorRef<double>);
template void half_swap<float>(const ConstVectorRef<float>&, VectorRef<float>);
template void half_swap<double>(const ConstVectorRef<double>&, VectorRef<double>);
template RowMatrixX<float> haar_orthogonal<float>(Index, std::uint64_t);
template RowMatrixX<double> haar_orthogonal<double>(Index, std::uint64_t);

}  // namespace probspace::embedding::detail
