// Row-wise softmax / log_softmax: one block per row, an online (max, sum) pass with the input check,
// a block reduction, then one write pass (the row is re-read from L2). float32 accumulation;
// float32 or bfloat16 input.
#include "backend.hpp"
#include "check.cuh"
#include "rows.cuh"

#include <probspace/core/error.hpp>

#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <string>

namespace probspace::inference::cuda_backend {
namespace {

// 1024 threads per row: at most two rows per SM in flight, so the rows being normalised (≤ 264 ×
// 128 KB at V = 32000) stay in the 50 MB L2 for the second read.
constexpr int kThreads = 1024;

template <class In, int VEC>
__global__ void __launch_bounds__(kThreads)
softmax_kernel(const In* __restrict__ z, std::ptrdiff_t cols, std::ptrdiff_t z_stride, float* __restrict__ out,
               std::ptrdiff_t out_stride, bool log, Report report) {
  const std::ptrdiff_t row = blockIdx.x;
  const In* zr = z + row * z_stride;
  float* outr = out + row * out_stride;
  float m = -INFINITY, s = 0.0f;
  int bad = 0;
  float x[VEC];
  for (std::ptrdiff_t i = std::ptrdiff_t(threadIdx.x) * VEC; i < cols; i += kThreads * VEC) {
    Loader<In, VEC>::load(zr, i, x);
    float local = -INFINITY;
#pragma unroll
    for (int k = 0; k < VEC; ++k) {
      bad |= int(invalid_logit(x[k]));
      local = fmaxf(local, x[k]);
    }
    if (local == -INFINITY) continue;  // all masked
    const float m_new = fmaxf(m, local);
    float part = 0.0f;
#pragma unroll
    for (int k = 0; k < VEC; ++k) part += __expf(x[k] - m_new);
    s = s * __expf(m - m_new) + part;
    m = m_new;
  }
  // Warp, then block reduction of (m, s, bad).
  for (int offset = 16; offset > 0; offset >>= 1) {
    merge_softmax(m, s, __shfl_xor_sync(0xffffffffu, m, offset), __shfl_xor_sync(0xffffffffu, s, offset));
    bad |= __shfl_xor_sync(0xffffffffu, bad, offset);
  }
  __shared__ float shared_m[kThreads / 32], shared_s[kThreads / 32];
  __shared__ int shared_bad[kThreads / 32];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) {
    shared_m[warp] = m;
    shared_s[warp] = s;
    shared_bad[warp] = bad;
  }
  __syncthreads();
  if (warp == 0) {
    m = lane < kThreads / 32 ? shared_m[lane] : -INFINITY;
    s = lane < kThreads / 32 ? shared_s[lane] : 0.0f;
    bad = lane < kThreads / 32 ? shared_bad[lane] : 0;
    for (int offset = 16; offset > 0; offset >>= 1) {
      merge_softmax(m, s, __shfl_xor_sync(0xffffffffu, m, offset), __shfl_xor_sync(0xffffffffu, s, offset));
      bad |= __shfl_xor_sync(0xffffffffu, bad, offset);
    }
    if (lane == 0) {
      shared_m[0] = m;
      shared_s[0] = s;
      shared_bad[0] = bad | int(m == -INFINITY);
    }
  }
  __syncthreads();
  m = shared_m[0];
  s = shared_s[0];
  if (shared_bad[0]) {
    if (threadIdx.x == 0) report_index(report, row);
    return;
  }
  const float lse = m + __logf(s), inv_s = 1.0f / s;
  for (std::ptrdiff_t i = std::ptrdiff_t(threadIdx.x) * VEC; i < cols; i += kThreads * VEC) {
    Loader<In, VEC>::load(zr, i, x);
    float y[VEC];
#pragma unroll
    for (int k = 0; k < VEC; ++k) y[k] = log ? x[k] - lse : __expf(x[k] - m) * inv_s;
    store<VEC>(outr, i, y);
  }
}

}  // namespace

std::ptrdiff_t softmax_rows(void* stream_ptr, void* report_handle, InputType type, const void* z, std::ptrdiff_t rows,
                            std::ptrdiff_t cols, std::ptrdiff_t z_stride, float* out, std::ptrdiff_t out_stride, bool log) {
  if (rows == 0) return -1;
  auto stream = static_cast<cudaStream_t>(stream_ptr);
  const Report report = arm_report(report_handle);
  with_input(type, z, cols, z_stride, out, out_stride, [&](const auto* zt, auto vec) {
    using In = std::decay_t<decltype(*zt)>;
    softmax_kernel<In, decltype(vec)::value><<<unsigned(rows), kThreads, 0, stream>>>(zt, cols, z_stride, out, out_stride,
                                                                                      log, report);
  });
  return read_report(report_handle, stream, "softmax kernel");
}

}  // namespace probspace::inference::cuda_backend
