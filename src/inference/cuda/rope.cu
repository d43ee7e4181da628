// RoPE apply in place: one thread per rotated pair of one head of one token; the pair's cos/sin come
// from the table row of the token's position. float32 arithmetic; float32 or bfloat16 storage.
#include "backend.hpp"
#include "check.cuh"
#include "rows.cuh"

#include <probspace/core/error.hpp>

#include <cuda_runtime.h>

#include <cstdint>
#include <string>

namespace probspace::inference::cuda_backend {
namespace {

template <class T>
__global__ void rope_kernel(T* __restrict__ x, std::ptrdiff_t tokens, std::ptrdiff_t x_stride, int heads,
                            int head_dim, int half_rotary, const std::int32_t* __restrict__ positions,
                            const float* __restrict__ cos, const float* __restrict__ sin, std::ptrdiff_t table_stride,
                            std::ptrdiff_t length, bool interleaved, Report report) {
  const std::ptrdiff_t pairs_per_token = std::ptrdiff_t(heads) * half_rotary;
  const std::ptrdiff_t id = std::ptrdiff_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (id >= tokens * pairs_per_token) return;
  const std::ptrdiff_t token = id / pairs_per_token;
  const int rest = int(id % pairs_per_token), head = rest / half_rotary, i = rest % half_rotary;
  const std::int32_t p = positions[token];
  if (p < 0 || p >= length) {
    report_index(report, token);
    return;
  }
  T* h = x + token * x_stride + std::ptrdiff_t(head) * head_dim;
  const int a = interleaved ? 2 * i : i, b = interleaved ? 2 * i + 1 : i + half_rotary;
  const float c = cos[p * table_stride + i], s = sin[p * table_stride + i];
  const float xa = to_f(h[a]), xb = to_f(h[b]);
  from_f(xa * c - xb * s, h + a);
  from_f(xa * s + xb * c, h + b);
}

}  // namespace

std::ptrdiff_t rope_apply(void* stream_ptr, void* report_handle, InputType type, void* x, std::ptrdiff_t tokens,
                          std::ptrdiff_t x_stride, int heads, int head_dim, int rotary_dim,
                          const std::int32_t* positions, const float* cos, const float* sin,
                          std::ptrdiff_t table_stride, std::ptrdiff_t length, bool interleaved) {
  const std::ptrdiff_t work = tokens * heads * (rotary_dim / 2);
  if (work == 0) return -1;
  auto stream = static_cast<cudaStream_t>(stream_ptr);
  const Report report = arm_report(report_handle);
  constexpr int kThreads = 256;
  const unsigned blocks = unsigned((work + kThreads - 1) / kThreads);
  if (type == InputType::Float32)
    rope_kernel<<<blocks, kThreads, 0, stream>>>(static_cast<float*>(x), tokens, x_stride, heads, head_dim,
                                                 rotary_dim / 2, positions, cos, sin, table_stride, length,
                                                 interleaved, report);
  else
    rope_kernel<<<blocks, kThreads, 0, stream>>>(static_cast<std::uint16_t*>(x), tokens, x_stride, heads, head_dim,
                                                 rotary_dim / 2, positions, cos, sin, table_stride, length,
                                                 interleaved, report);
  return read_report(report_handle, stream, "rope kernel");
}

}  // namespace probspace::inference::cuda_backend
