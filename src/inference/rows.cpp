// Row-wise simplex maps on either backend: views checked here, then the CPU kernels (the simplex
// module's row kernels, threaded over rows) or the CUDA backend.
#include "../core/parallel.hpp"
#include "../core/softmax_kernels.hpp"
#include "../simplex/row_kernels.hpp"
#include "cuda/backend.hpp"
#include "view_checks.hpp"

#include <probspace/core/checks.hpp>
#include <probspace/inference/rows.hpp>
#include <probspace/simplex/batched.hpp>

#include <string>
#include <type_traits>

namespace probspace::inference {
namespace {

using probspace::detail::require;
using kernels::row_name;
using FloatRows = Eigen::Map<RowMatrixX<float>, 0, Eigen::OuterStride<>>;
using ConstFloatRows = Eigen::Map<const RowMatrixX<float>, 0, Eigen::OuterStride<>>;

template <class A, class B> void check_same_shape(const RowsView<A>& a, const RowsView<B>& b, std::string_view fn, std::string_view name) {
  require(b.rows == a.rows && b.cols == a.cols, fn, name, "has shape [", b.rows, ", ", b.cols, "], expected [", a.rows,
          ", ", a.cols, "]");
}

template <class In> constexpr cuda_backend::InputType input_type() {
  return std::is_same_v<In, float> ? cuda_backend::InputType::Float32 : cuda_backend::InputType::BFloat16;
}

ConstFloatRows host_map(const RowsView<const float>& v) { return {v.data, v.rows, v.cols, Eigen::OuterStride<>(v.stride)}; }
FloatRows host_map(const RowsView<float>& v) { return {v.data, v.rows, v.cols, Eigen::OuterStride<>(v.stride)}; }

/// The logits as a float32 host matrix: z itself, or (bfloat16) widened into `out`, which the map
/// then overwrites in place (the simplex row maps allow aliasing).
template <class In> ConstFloatRows widened(const RowsView<const In>& z, const RowsView<float>& out) {
  if constexpr (std::is_same_v<In, float>) {
    return host_map(z);
  } else {
    kernels::parallel_rows(z.rows, z.cols, [&](Index r) {
      for (Index c = 0; c < z.cols; ++c) out.data[r * out.stride + c] = to_float(z.data[r * z.stride + c]);
    });
    return host_map(RowsView<const float>(out));
  }
}

/// Checks z and out; on CUDA, runs `cuda(type)` (which returns the first bad row or −1) and reports.
template <class In, class Cuda>
bool dispatched_to_cuda(Context& context, const RowsView<const In>& z, const RowsView<float>& out, const char* fn, Cuda&& cuda) {
  check_view(z, context, fn, "z");
  check_view(out, context, fn, "out");
  check_same_shape(z, out, fn, "out");
  if (context.device() != Device::Cuda) return false;
  const std::ptrdiff_t bad = cuda(input_type<In>());
  require(bad < 0, fn, row_name("z", bad), "holds NaN or +inf, or only -inf");
  return true;
}

template <class In> void softmax_map(Context& context, RowsView<const In> z, RowsView<float> out, bool log, const char* fn) {
  if (dispatched_to_cuda(context, z, out, fn, [&](cuda_backend::InputType type) {
        return cuda_backend::softmax_rows(context.stream(), context.report(), type, z.data, z.rows, z.cols, z.stride,
                                          out.data, out.stride, log);
      }))
    return;
  const ConstFloatRows zf = widened(z, out);
  kernels::parallel_rows(z.rows, z.cols, [&](std::ptrdiff_t r) {
    const float* zr = zf.row(r).data();
    const float max_z = probspace::detail::check_logits(zr, z.cols, fn, row_name("z", r));
    float* outr = out.data + r * out.stride;
    if (log) kernels::log_softmax_row(zr, z.cols, outr, max_z);
    else kernels::softmax_row(zr, z.cols, outr, 1.0f, max_z);
  });
}

template <class In> void entmax_map(Context& context, RowsView<const In> z, RowsView<float> p, float alpha, const char* fn) {
  require(alpha > 1.0f, fn, "alpha", "must be > 1, got ", alpha);
  if (dispatched_to_cuda(context, z, p, fn, [&](cuda_backend::InputType type) {
        return cuda_backend::entmax_rows(context.stream(), context.report(), type, z.data, z.rows, z.cols, z.stride,
                                         p.data, p.stride, alpha, kRowsEntmaxTolerance);
      }))
    return;
  const ConstFloatRows zf = widened(z, p);
  if (alpha == 2.0f) simplex::detail::sparsemax_rows<float>(zf, host_map(p));
  else simplex::detail::entmax_rows<float>(zf, host_map(p), alpha, simplex::EntmaxMethod::Auto);
}

/// Checks the three views of a backward pass; on CUDA runs the backend's kernel and reports.
bool backward_on_cuda(Context& context, const RowsView<const float>& y, const RowsView<const float>& g,
                      const RowsView<float>& dz, cuda_backend::Backward kind, float alpha, const char* fn, const char* y_name) {
  check_view(y, context, fn, y_name);
  check_view(g, context, fn, "g");
  check_view(dz, context, fn, "dz");
  check_same_shape(y, g, fn, "g");
  check_same_shape(y, dz, fn, "dz");
  if (context.device() != Device::Cuda) return false;
  const std::ptrdiff_t bad = cuda_backend::rows_backward(context.stream(), context.report(), kind, alpha, y.data,
                                                         y.stride, g.data, g.stride, dz.data, dz.stride, y.rows, y.cols);
  require(bad < 0, fn, row_name(std::string(y_name) + " or g", bad), "is not a valid forward output, or g is not finite");
  return true;
}

}  // namespace

template <class In> void softmax_rows(Context& context, RowsView<const In> z, RowsView<float> p) {
  softmax_map(context, z, p, false, "softmax_rows");
}
template <class In> void log_softmax_rows(Context& context, RowsView<const In> z, RowsView<float> out) {
  softmax_map(context, z, out, true, "log_softmax_rows");
}
template <class In> void sparsemax_rows(Context& context, RowsView<const In> z, RowsView<float> p) {
  entmax_map(context, z, p, 2.0f, "sparsemax_rows");
}
template <class In> void entmax_rows(Context& context, RowsView<const In> z, RowsView<float> p, float alpha) {
  entmax_map(context, z, p, alpha, "entmax_rows");
}

/// The CPU backward of a map onto the simplex: each row checked (p a distribution, g finite), then
/// the simplex module's VJP row kernel row(p_r, g_r, dz_r).
template <class Row>
void simplex_backward_on_cpu(const RowsView<const float>& p, const RowsView<const float>& g, const RowsView<float>& dz,
                             const char* fn, Row&& row) {
  kernels::parallel_rows(p.rows, p.cols, [&](Index r) {
    const float* pr = p.data + r * p.stride;
    const float* gr = g.data + r * g.stride;
    probspace::detail::check_distribution(pr, p.cols, fn, row_name("p", r));
    require(host_map(g).row(r).allFinite(), fn, row_name("g", r), "must be finite");
    row(pr, gr, dz.data + r * dz.stride);
  });
}

void softmax_backward(Context& context, RowsView<const float> p, RowsView<const float> g, RowsView<float> dz) {
  constexpr const char* fn = "softmax_backward";
  if (backward_on_cuda(context, p, g, dz, cuda_backend::Backward::Softmax, 1.0f, fn, "p")) return;
  simplex_backward_on_cpu(p, g, dz, fn, [&](const float* pr, const float* gr, float* out) {
    simplex::kernels::softmax_jvp_row(pr, gr, p.cols, out, 1.0f);
  });
}

void log_softmax_backward(Context& context, RowsView<const float> log_p, RowsView<const float> g, RowsView<float> dz) {
  constexpr const char* fn = "log_softmax_backward";
  if (backward_on_cuda(context, log_p, g, dz, cuda_backend::Backward::LogSoftmax, 1.0f, fn, "log_p")) return;
  kernels::parallel_rows(log_p.rows, log_p.cols, [&](Index r) {
    const auto lp = host_map(log_p).row(r);
    const auto gr = host_map(g).row(r);
    require(gr.allFinite(), fn, row_name("g", r), "must be finite");
    require(!lp.array().isNaN().any() && (lp.array() <= 0.0f).all(), fn, row_name("log_p", r),
            "must hold log-probabilities (<= 0, no NaN)");
    const float sum_g = gr.sum();
    host_map(dz).row(r) = gr - lp.array().exp().matrix() * sum_g;
  });
}

void entmax_backward(Context& context, RowsView<const float> p, RowsView<const float> g, RowsView<float> dz, float alpha) {
  constexpr const char* fn = "entmax_backward";
  require(alpha > 1.0f, fn, "alpha", "must be > 1, got ", alpha);
  if (backward_on_cuda(context, p, g, dz, cuda_backend::Backward::Entmax, alpha, fn, "p")) return;
  simplex_backward_on_cpu(p, g, dz, fn, [&](const float* pr, const float* gr, float* out) {
    if (alpha == 2.0f) simplex::kernels::sparsemax_jvp_row(pr, gr, p.cols, out);
    else simplex::kernels::entmax_jvp_row(pr, gr, p.cols, out, double(alpha));
  });
}

#define PROBSPACE_ROWS(In)                                                                   \
  template void softmax_rows<In>(Context&, RowsView<const In>, RowsView<float>);             \
  template void log_softmax_rows<In>(Context&, RowsView<const In>, RowsView<float>);         \
  template void sparsemax_rows<In>(Context&, RowsView<const In>, RowsView<float>);           \
  template void entmax_rows<In>(Context&, RowsView<const In>, RowsView<float>, float);
PROBSPACE_ROWS(float)
PROBSPACE_ROWS(bfloat16)
#undef PROBSPACE_ROWS

}  // namespace probspace::inference
