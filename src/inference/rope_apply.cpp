// RoPE apply on either backend: checked here, then a CPU loop (threaded over tokens) or the CUDA
// backend. The pair layout and the table follow rope::rotate (spec rope.md §1–3).
#include "../core/parallel.hpp"
#include "cuda/backend.hpp"

#include <probspace/core/error.hpp>
#include <probspace/inference/rope_apply.hpp>

#include <type_traits>

namespace probspace::inference {
namespace {

using probspace::detail::require;
constexpr std::string_view kFn = "rope_apply";

}  // namespace

template <class T>
void rope_apply(Context& context, RowsView<T> x, const std::int32_t* positions, RowsView<const float> cos,
                RowsView<const float> sin, std::ptrdiff_t head_dim, RopeLayout layout) {
  const Memory memory = context.device() == Device::Cuda ? Memory::Cuda : Memory::Host;
  require(x.rows >= 0 && x.cols >= 1 && x.stride >= x.cols && (x.rows == 0 || x.data), kFn, "x",
          "must be a valid view, got [", x.rows, ", ", x.cols, "] stride ", x.stride);
  require(x.memory == memory, kFn, "x", "must be in the context's memory");
  require(cos.memory == memory && sin.memory == memory, kFn, "cos", "and sin must be in the context's memory");
  require(cos.rows >= 1 && cos.cols >= 1 && cos.stride >= cos.cols && cos.data, kFn, "cos", "must be a non-empty table");
  require(sin.rows == cos.rows && sin.cols == cos.cols && sin.stride == cos.stride && sin.data, kFn, "sin",
          "must have the shape and stride of cos");
  const std::ptrdiff_t rotary = 2 * cos.cols;
  require(head_dim >= rotary && head_dim % 2 == 0, kFn, "head_dim", "must be even and >= rotary_dim = ", rotary,
          ", got ", head_dim);
  require(x.cols % head_dim == 0, kFn, "head_dim", "must divide x.cols = ", x.cols, ", got ", head_dim);
  require(x.rows == 0 || positions != nullptr, kFn, "positions", "is null");
  const int heads = int(x.cols / head_dim), half = int(rotary / 2);
  const bool interleaved = layout == RopeLayout::Interleaved;

  if (context.device() == Device::Cuda) {
    const auto type = std::is_same_v<T, float> ? cuda_backend::InputType::Float32 : cuda_backend::InputType::BFloat16;
    const std::ptrdiff_t bad = cuda_backend::rope_apply(context.stream(), context.report(), type, x.data, x.rows,
                                                        x.stride, heads, int(head_dim), int(rotary), positions,
                                                        cos.data, sin.data, cos.stride, cos.rows, interleaved);
    require(bad < 0, kFn, kernels::row_name("positions", bad), "is outside the table [0, ", cos.rows, ")");
    return;
  }
  for (std::ptrdiff_t t = 0; t < x.rows; ++t)
    require(positions[t] >= 0 && positions[t] < cos.rows, kFn, kernels::row_name("positions", t), "is ",
            positions[t], ", outside the table [0, ", cos.rows, ")");
  kernels::parallel_rows(x.rows, x.cols, [&](std::ptrdiff_t t) {
    const float* c = cos.data + positions[t] * cos.stride;
    const float* s = sin.data + positions[t] * sin.stride;
    for (int h = 0; h < heads; ++h) {
      T* v = x.data + t * x.stride + h * head_dim;
      for (int i = 0; i < half; ++i) {
        const int a = interleaved ? 2 * i : i, b = interleaved ? 2 * i + 1 : i + half;
        const float xa = to_float(v[a]), xb = to_float(v[b]);
        v[a] = from_float<T>(xa * c[i] - xb * s[i]);
        v[b] = from_float<T>(xa * s[i] + xb * c[i]);
      }
    }
  });
}

template void rope_apply<float>(Context&, RowsView<float>, const std::int32_t*, RowsView<const float>,
                                RowsView<const float>, std::ptrdiff_t, RopeLayout);
template void rope_apply<bfloat16>(Context&, RowsView<bfloat16>, const std::int32_t*, RowsView<const float>,
                                   RowsView<const float>, std::ptrdiff_t, RopeLayout);

}  // namespace probspace::inference
