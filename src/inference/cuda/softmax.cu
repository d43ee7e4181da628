// Row-wise softmax / log_softmax: one block per row, an online (max, sum) pass with the input check,
// a block reduction, then one write pass (the row is re-read from L2). Both passes keep several
// loads (16 bytes each when the row allows) in flight per thread; the exponentials are in base 2
// (one FMA and one ex2 per element). The second pass reads and writes evict-first, so L2 keeps the
// rows still to be re-read. float32 accumulation; float32 or bfloat16 input.
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

// 1024 threads per row (two blocks per SM): at most two rows per SM in flight, so the rows being normalised (≤ 264 ×
// 128 KB at V = 32000) stay in the 50 MB L2 for the second read.
constexpr int kThreads = 1024;
// Loads in flight per thread: the first pass from DRAM, the second from L2 (≤ 32 registers: two
// blocks per SM).
constexpr int kLoads = 4, kL2Loads = 2;

template <class In, int VEC>
__global__ void __launch_bounds__(kThreads, 2)
softmax_kernel(const In* __restrict__ z, std::ptrdiff_t cols, std::ptrdiff_t z_stride, float* __restrict__ out,
               std::ptrdiff_t out_stride, bool log, Report report) {
  const std::ptrdiff_t row = blockIdx.x;
  const In* zr = z + row * z_stride;
  float* outr = out + row * out_stride;
  constexpr std::ptrdiff_t kStep = std::ptrdiff_t(kThreads) * VEC;
  // Σ 2^{z·log2e − m2} against m2 = m·log2e rounded (one FMA per element), rescaled when the max
  // grows; the check on the NaN-propagating max of each group of loads.
  float m = -INFINITY, m2 = -INFINITY, s = 0.0f, checked = -INFINITY;
  for (std::ptrdiff_t base = std::ptrdiff_t(threadIdx.x) * VEC; base < cols; base += kStep * kLoads) {
    Packed<In, VEC> x[kLoads];
#pragma unroll
    for (int u = 0; u < kLoads; ++u) {
      if (base + u * kStep < cols) x[u].load(zr, base + u * kStep);
      else x[u].mask();
    }
    const float group = Packed<In, VEC>::max(x);
    checked = max_nan(checked, group);
    if (!(group > -INFINITY)) continue;  // all masked (or NaN: the row is reported)
    if (group > m) {
      const float next = group * kLog2e;
      s *= exp2_approx(m2 - next);  // 0 while m = −inf (s = 0)
      m = group, m2 = next;
    }
#pragma unroll
    for (int u = 0; u < kLoads; ++u)
#pragma unroll
      for (int k = 0; k < VEC; ++k) s += exp2_approx(fmaf(x[u][k], kLog2e, -m2));
  }
  // Back to base e against m itself: m2 = m·log2e − δ exactly, so Σ e^{z−m} = 2^{−δ}·s.
  if (m > -INFINITY && m < INFINITY) s *= exp2_approx(-fmaf(m, kLog2e, -m2));
  int bad = int(!(checked < INFINITY));  // NaN or +inf
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
  // e^{z−m}/s = 2^{z·log2e − m2}·2^{−δ}/s (m2, δ as above, now of the row's max).
  const float lse = m + __logf(s), row_m2 = m * kLog2e, scale = exp2_approx(-fmaf(m, kLog2e, -row_m2)) / s;
  for (std::ptrdiff_t base = std::ptrdiff_t(threadIdx.x) * VEC; base < cols; base += kStep * kL2Loads) {
    Packed<In, VEC> x[kL2Loads];
#pragma unroll
    for (int u = 0; u < kL2Loads; ++u)
      if (base + u * kStep < cols) x[u].load_last(zr, base + u * kStep);
#pragma unroll
    for (int u = 0; u < kL2Loads; ++u) {
      if (base + u * kStep >= cols) continue;
      float y[VEC];
#pragma unroll
      for (int k = 0; k < VEC; ++k) y[k] = log ? x[u][k] - lse : exp2_approx(fmaf(x[u][k], kLog2e, -row_m2)) * scale;
      store<VEC, true>(outr, base + u * kStep, y);
    }
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
