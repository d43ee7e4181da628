// Batched row maps: the single-vector row kernels, threaded over rows with OpenMP.
#include "row_kernels.hpp"
#include "threshold_kernels.hpp"
#include "../core/parallel.hpp"

#include <probspace/core/checks.hpp>
#include <probspace/simplex/batched.hpp>

namespace probspace::simplex::detail {
namespace {

using probspace::detail::check_logits;
using probspace::detail::require;
using probspace::kernels::parallel_rows;
using probspace::kernels::row_name;

void check_shape(Index rows, Index cols, Index out_rows, Index out_cols, std::string_view fn, std::string_view arg) {
  require(rows == out_rows && cols == out_cols, fn, arg, "has shape [", out_rows, ", ", out_cols,
          "], expected [", rows, ", ", cols, "]");
}

/// Maps each row of z to the same row of p with row(z_r, p_r, max_r, scratch), after validating it.
template <Real T, class RowFn>
void map_rows(const ConstRowMatrixRef<T>& z, RowMatrixRef<T>& p, std::string_view fn, std::string_view p_name,
              RowFn&& row) {
  check_shape(z.rows(), z.cols(), p.rows(), p.cols(), fn, p_name);
  require(z.cols() > 0, fn, "z", "must have at least one column");
  parallel_rows(z.rows(), z.cols(), [&](Index r) {
    const T* zr = z.row(r).data();
    const T max_z = check_logits(zr, z.cols(), fn, row_name("z", r));
    row(zr, p.row(r).data(), max_z, kernels::thread_scratch());
  });
}

/// Maps each (p_r, v_r) to out_r with the JVP row kernel, after validating p_r ∈ Δ and v_r finite.
template <Real T, class RowFn>
void jvp_rows(const ConstRowMatrixRef<T>& p, const ConstRowMatrixRef<T>& v, RowMatrixRef<T>& out,
              std::string_view fn, RowFn&& row) {
  check_shape(p.rows(), p.cols(), v.rows(), v.cols(), fn, "v");
  check_shape(p.rows(), p.cols(), out.rows(), out.cols(), fn, "out");
  require(p.cols() > 0, fn, "p", "must have at least one column");
  parallel_rows(p.rows(), p.cols(), [&](Index r) {
    probspace::detail::check_distribution(p.row(r).data(), p.cols(), fn, row_name("p", r));
    require(v.row(r).allFinite(), fn, row_name("v", r), "must be finite");
    row(p.row(r).data(), v.row(r).data(), out.row(r).data());
  });
}

}  // namespace

template <Real T> void softmax_rows(const ConstRowMatrixRef<T>& z, RowMatrixRef<T> p, T temperature) {
  probspace::detail::require_positive(temperature, "softmax_rows", "temperature");
  const Index n = z.cols();
  map_rows(z, p, "softmax_rows", "p", [&](const T* zr, T* pr, T max_z, std::vector<double>&) {
    probspace::kernels::softmax_row(zr, n, pr, T(1) / temperature, max_z);
  });
}

template <Real T> void log_softmax_rows(const ConstRowMatrixRef<T>& z, RowMatrixRef<T> out) {
  const Index n = z.cols();
  map_rows(z, out, "log_softmax_rows", "out", [&](const T* zr, T* outr, T max_z, std::vector<double>&) {
    probspace::kernels::log_softmax_row(zr, n, outr, max_z);
  });
}

template <Real T> void sparsemax_rows(const ConstRowMatrixRef<T>& z, RowMatrixRef<T> p) {
  const Index n = z.cols();
  map_rows(z, p, "sparsemax_rows", "p", [&](const T* zr, T* pr, T max_z, std::vector<double>& work) {
    kernels::project_simplex_row(zr, n, pr, 1.0, max_z, ProjectionMethod::Auto, work);
  });
}

template <Real T>
void entmax_rows(const ConstRowMatrixRef<T>& z, RowMatrixRef<T> p, T alpha, EntmaxMethod method) {
  check_entmax_alpha(double(alpha), method, "entmax_rows");
  const Index n = z.cols();
  map_rows(z, p, "entmax_rows", "p", [&](const T* zr, T* pr, T max_z, std::vector<double>& work) {
    kernels::entmax_row(zr, n, pr, double(alpha), method, max_z, work);
  });
}

template <Real T>
void softmax_vjp_rows(const ConstRowMatrixRef<T>& p, const ConstRowMatrixRef<T>& v, RowMatrixRef<T> out, T temperature) {
  probspace::detail::require_positive(temperature, "softmax_vjp_rows", "temperature");
  const Index n = p.cols();
  jvp_rows(p, v, out, "softmax_vjp_rows",
           [&](const T* pr, const T* vr, T* outr) { kernels::softmax_jvp_row(pr, vr, n, outr, T(1) / temperature); });
}

template <Real T>
void sparsemax_vjp_rows(const ConstRowMatrixRef<T>& p, const ConstRowMatrixRef<T>& v, RowMatrixRef<T> out) {
  const Index n = p.cols();
  jvp_rows(p, v, out, "sparsemax_vjp_rows",
           [&](const T* pr, const T* vr, T* outr) { kernels::sparsemax_jvp_row(pr, vr, n, outr); });
}

template <Real T>
void entmax_vjp_rows(const ConstRowMatrixRef<T>& p, const ConstRowMatrixRef<T>& v, T alpha, RowMatrixRef<T> out) {
  check_entmax_alpha(double(alpha), EntmaxMethod::Auto, "entmax_vjp_rows");
  const Index n = p.cols();
  jvp_rows(p, v, out, "entmax_vjp_rows",
           [&](const T* pr, const T* vr, T* outr) { kernels::entmax_jvp_row(pr, vr, n, outr, double(alpha)); });
}

#define PROBSPACE_INSTANTIATE(T)                                                                           \
  template void softmax_rows<T>(const ConstRowMatrixRef<T>&, RowMatrixRef<T>, T);                         \
  template void log_softmax_rows<T>(const ConstRowMatrixRef<T>&, RowMatrixRef<T>);                        \
  template void sparsemax_rows<T>(const ConstRowMatrixRef<T>&, RowMatrixRef<T>);                          \
  template void entmax_rows<T>(const ConstRowMatrixRef<T>&, RowMatrixRef<T>, T, EntmaxMethod);            \
  template void softmax_vjp_rows<T>(const ConstRowMatrixRef<T>&, const ConstRowMatrixRef<T>&, RowMatrixRef<T>, T); \
  template void sparsemax_vjp_rows<T>(const ConstRowMatrixRef<T>&, const ConstRowMatrixRef<T>&, RowMatrixRef<T>); \
  template void entmax_vjp_rows<T>(const ConstRowMatrixRef<T>&, const ConstRowMatrixRef<T>&, T, RowMatrixRef<T>);
PROBSPACE_INSTANTIATE(float)
PROBSPACE_INSTANTIATE(double)
#undef PROBSPACE_INSTANTIATE

}  // namespace probspace::simplex::detail
