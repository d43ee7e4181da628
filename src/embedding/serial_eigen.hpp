#pragma once
// Private to src/embedding: Eigen's GEMM picks its blocking from its thread count, so a product
// threaded by Eigen may round differently from a serial one. Code that must give the same bits
// for every OpenMP setting runs its products with Eigen's threading off.
#include <omp.h>

namespace probspace::embedding::kernels {

/// Inside an OpenMP region: later Eigen products of this thread run serially (nthreads-var is a
/// per-task ICV, so this does not leak out of the region).
inline void eigen_serial_in_region() { omp_set_num_threads(1); }

/// Runs f() on one thread with Eigen's own threading off.
template <class F> void run_eigen_serial(F&& f) {
#pragma omp parallel num_threads(1)
  {
    eigen_serial_in_region();
    f();
  }
}

}  // namespace probspace::embedding::kernels
