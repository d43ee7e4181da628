// Row-wise softmax / log_softmax: one block per row, an online (max, sum) pass with the input check,
// a block reduction, then one write pass (the row is re-read from L2). float32 accumulation;
// float32 or bfloat16 input.
#include "backend.hpp"
#include "check.cuh"

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

/// VEC consecutive inputs widened to float: one 16-byte load when the row allows (VEC = 4 floats or
/// 8 bfloat16), else VEC = 1.
template <class In, int VEC> struct Loader;
template <> struct Loader<float, 1> {
  __device__ static void load(const float* z, std::ptrdiff_t i, float* x) { x[0] = z[i]; }
};
template <> struct Loader<float, 4> {
  __device__ static void load(const float* z, std::ptrdiff_t i, float* x) {
    const float4 v = *reinterpret_cast<const float4*>(z + i);
    x[0] = v.x, x[1] = v.y, x[2] = v.z, x[3] = v.w;
  }
};
template <> struct Loader<std::uint16_t, 1> {
  __device__ static void load(const std::uint16_t* z, std::ptrdiff_t i, float* x) {
    x[0] = __uint_as_float(std::uint32_t(z[i]) << 16);
  }
};
template <> struct Loader<std::uint16_t, 8> {
  __device__ static void load(const std::uint16_t* z, std::ptrdiff_t i, float* x) {
    const uint4 v = *reinterpret_cast<const uint4*>(z + i);
    const std::uint32_t w[4] = {v.x, v.y, v.z, v.w};
    for (int k = 0; k < 4; ++k) {
      x[2 * k] = __uint_as_float(w[k] << 16);
      x[2 * k + 1] = __uint_as_float(w[k] & 0xffff0000u);
    }
  }
};

/// Merges the online-softmax states (m, s): s·e^{m} is the partial sum of exp.
__device__ __forceinline__ void merge(float& m, float& s, float m2, float s2) {
  const float m_new = fmaxf(m, m2);
  if (m_new == -INFINITY) return;  // both empty
  s = s * __expf(m - m_new) + s2 * __expf(m2 - m_new);
  m = m_new;
}

template <class In, int VEC>
__global__ void __launch_bounds__(kThreads)
softmax_kernel(const In* __restrict__ z, std::ptrdiff_t cols, std::ptrdiff_t z_stride, float* __restrict__ out,
               std::ptrdiff_t out_stride, bool log, unsigned long long* bad_row) {
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
      bad |= int(x[k] != x[k]) | int(x[k] == INFINITY);
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
    merge(m, s, __shfl_xor_sync(0xffffffffu, m, offset), __shfl_xor_sync(0xffffffffu, s, offset));
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
      merge(m, s, __shfl_xor_sync(0xffffffffu, m, offset), __shfl_xor_sync(0xffffffffu, s, offset));
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
    if (threadIdx.x == 0) atomicMin(bad_row, static_cast<unsigned long long>(row));
    return;
  }
  const float lse = m + __logf(s), inv_s = 1.0f / s;
  for (std::ptrdiff_t i = std::ptrdiff_t(threadIdx.x) * VEC; i < cols; i += kThreads * VEC) {
    Loader<In, VEC>::load(zr, i, x);
    float y[VEC];
#pragma unroll
    for (int k = 0; k < VEC; ++k) y[k] = log ? x[k] - lse : __expf(x[k] - m) * inv_s;
    if constexpr (VEC == 1) {
      outr[i] = y[0];
    } else {
#pragma unroll
      for (int k = 0; k < VEC; k += 4)
        *reinterpret_cast<float4*>(outr + i + k) = make_float4(y[k], y[k + 1], y[k + 2], y[k + 3]);
    }
  }
}

/// Whether rows of `cols` elements at these strides allow 16-byte accesses of VEC inputs.
bool vectorisable(const void* z, std::ptrdiff_t cols, std::ptrdiff_t z_stride, const float* out,
                  std::ptrdiff_t out_stride, int vec) {
  return cols % vec == 0 && z_stride % vec == 0 && out_stride % 4 == 0 && reinterpret_cast<std::uintptr_t>(z) % 16 == 0 &&
         reinterpret_cast<std::uintptr_t>(out) % 16 == 0;
}

}  // namespace

std::ptrdiff_t softmax_rows(void* stream_ptr, void* flag_ptr, InputType type, const void* z, std::ptrdiff_t rows,
                            std::ptrdiff_t cols, std::ptrdiff_t z_stride, float* out, std::ptrdiff_t out_stride, bool log) {
  if (rows == 0) return -1;
  auto stream = static_cast<cudaStream_t>(stream_ptr);
  unsigned long long* flag = reset_report(flag_ptr, stream);  // the first bad row, by atomicMin
  const auto launch = [&](auto kernel, const auto* input) {
    kernel<<<unsigned(rows), kThreads, 0, stream>>>(input, cols, z_stride, out, out_stride, log, flag);
  };
  if (type == InputType::Float32) {
    const auto* zf = static_cast<const float*>(z);
    if (vectorisable(z, cols, z_stride, out, out_stride, 4)) launch(softmax_kernel<float, 4>, zf);
    else launch(softmax_kernel<float, 1>, zf);
  } else {
    const auto* zb = static_cast<const std::uint16_t*>(z);
    if (vectorisable(z, cols, z_stride, out, out_stride, 8)) launch(softmax_kernel<std::uint16_t, 8>, zb);
    else launch(softmax_kernel<std::uint16_t, 1>, zb);
  }
  return read_report(flag, stream, "softmax kernel");
}

}  // namespace probspace::inference::cuda_backend
