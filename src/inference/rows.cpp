// Row-wise softmax / log_softmax on either backend: views checked here, then the CPU kernels
// (threaded over rows) or the CUDA backend.
#include "../core/parallel.hpp"
#include "../core/softmax_kernels.hpp"
#include "cuda/backend.hpp"
#include "view_checks.hpp"

#include <probspace/core/checks.hpp>
#include <probspace/inference/rows.hpp>

#include <string>
#include <type_traits>
#include <vector>

namespace probspace::inference {
namespace {

using probspace::detail::require;

/// The logits of one row as float: the row itself, or widened from bfloat16 into scratch.
template <class In> const float* as_float(const In* z, std::ptrdiff_t n) {
  if constexpr (std::is_same_v<In, float>) {
    return z;
  } else {
    thread_local std::vector<float> widened;
    widened.resize(std::size_t(n));
    for (std::ptrdiff_t i = 0; i < n; ++i) widened[std::size_t(i)] = to_float(z[i]);
    return widened.data();
  }
}

template <class In> void rows_map(Context& context, RowsView<const In> z, RowsView<float> out, bool log, const char* fn) {
  check_view(z, context, fn, "z");
  check_view(out, context, fn, "out");
  require(out.rows == z.rows && out.cols == z.cols, fn, "out", "has shape [", out.rows, ", ", out.cols, "], expected [",
          z.rows, ", ", z.cols, "]");
  if (context.device() == Device::Cuda) {
    const auto type = std::is_same_v<In, float> ? cuda_backend::InputType::Float32 : cuda_backend::InputType::BFloat16;
    const std::ptrdiff_t bad =
        cuda_backend::softmax_rows(context.stream(), context.device_flag(), type, z.data, z.rows, z.cols, z.stride,
                                   out.data, out.stride, log);
    require(bad < 0, fn, kernels::row_name("z", bad), "holds NaN or +inf, or only -inf");
    return;
  }
  kernels::parallel_rows(z.rows, z.cols, [&](std::ptrdiff_t r) {
    const float* zr = as_float(z.data + r * z.stride, z.cols);
    const float max_z = probspace::detail::check_logits(zr, z.cols, fn, kernels::row_name("z", r));
    float* outr = out.data + r * out.stride;
    if (log) kernels::log_softmax_row(zr, z.cols, outr, max_z);
    else kernels::softmax_row(zr, z.cols, outr, 1.0f, max_z);
  });
}

}  // namespace

template <class In> void softmax_rows(Context& context, RowsView<const In> z, RowsView<float> p) {
  rows_map(context, z, p, false, "softmax_rows");
}
template <class In> void log_softmax_rows(Context& context, RowsView<const In> z, RowsView<float> out) {
  rows_map(context, z, out, true, "log_softmax_rows");
}

template void softmax_rows<float>(Context&, RowsView<const float>, RowsView<float>);
template void softmax_rows<bfloat16>(Context&, RowsView<const bfloat16>, RowsView<float>);
template void log_softmax_rows<float>(Context&, RowsView<const float>, RowsView<float>);
template void log_softmax_rows<bfloat16>(Context&, RowsView<const bfloat16>, RowsView<float>);

}  // namespace probspace::inference
