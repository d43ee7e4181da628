#pragma once
// Device helpers shared by the row kernels (one block per row): widening loads of float32 or
// bfloat16 inputs, the online-softmax merge, and block-wide reductions.
#include "backend.hpp"

#include <cuda_runtime.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace probspace::inference::cuda_backend {

/// VEC consecutive inputs widened to float: one 16-byte load when the row allows (VEC = 4 floats or
/// 8 bfloat16), else VEC = 1. bfloat16 arrives as its 16 storage bits.
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

/// One float32 or bfloat16 (its 16 storage bits) element widened to float, and a float stored as
/// either (bfloat16: round to nearest even, NaN stays NaN).
__device__ __forceinline__ float to_f(float x) { return x; }
__device__ __forceinline__ float to_f(std::uint16_t x) { return __uint_as_float(std::uint32_t(x) << 16); }
__device__ __forceinline__ void from_f(float v, float* out) { *out = v; }
__device__ __forceinline__ void from_f(float v, std::uint16_t* out) {
  const std::uint32_t u = __float_as_uint(v);
  *out = (u & 0x7fffffffu) > 0x7f800000u ? std::uint16_t((u >> 16) | 0x40u)
                                         : std::uint16_t((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

/// Writes VEC floats at out + i (one 16-byte store per 4 when VEC > 1).
/// kStreaming: evict-first (st.global.cs), for outputs not read again soon.
template <int VEC, bool kStreaming = false> __device__ __forceinline__ void store(float* out, std::ptrdiff_t i, const float* y) {
  if constexpr (VEC == 1) {
    if constexpr (kStreaming) __stcs(out + i, y[0]);
    else out[i] = y[0];
  } else {
#pragma unroll
    for (int k = 0; k < VEC; k += 4) {
      const float4 v = make_float4(y[k], y[k + 1], y[k + 2], y[k + 3]);
      if constexpr (kStreaming) __stcs(reinterpret_cast<float4*>(out + i + k), v);
      else *reinterpret_cast<float4*>(out + i + k) = v;
    }
  }
}

/// Reads back the VEC floats store<VEC> wrote at out + i.
template <int VEC> __device__ __forceinline__ void load_stored(const float* out, std::ptrdiff_t i, float* y) {
  if constexpr (VEC == 1) {
    y[0] = out[i];
  } else {
#pragma unroll
    for (int k = 0; k < VEC; k += 4) Loader<float, 4>::load(out, i + k, y + k);
  }
}

/// Whether rows at these pointers and strides allow 16-byte accesses of `vec` inputs and outputs.
inline bool vectorisable(const void* z, std::ptrdiff_t cols, std::ptrdiff_t z_stride, const float* out,
                         std::ptrdiff_t out_stride, int vec) {
  return cols % vec == 0 && z_stride % vec == 0 && out_stride % 4 == 0 && reinterpret_cast<std::uintptr_t>(z) % 16 == 0 &&
         reinterpret_cast<std::uintptr_t>(out) % 16 == 0;
}

/// Calls launch(z, std::integral_constant<int, VEC>) with z typed as float or std::uint16_t
/// (bfloat16 bits), VEC = 16 bytes of inputs when the rows allow, else 1.
template <class Launch>
void with_input(InputType type, const void* z, std::ptrdiff_t cols, std::ptrdiff_t z_stride, const float* out,
                std::ptrdiff_t out_stride, Launch&& launch) {
  if (type == InputType::Float32) {
    const auto* zf = static_cast<const float*>(z);
    if (vectorisable(z, cols, z_stride, out, out_stride, 4)) launch(zf, std::integral_constant<int, 4>{});
    else launch(zf, std::integral_constant<int, 1>{});
  } else {
    const auto* zb = static_cast<const std::uint16_t*>(z);
    if (vectorisable(z, cols, z_stride, out, out_stride, 8)) launch(zb, std::integral_constant<int, 8>{});
    else launch(zb, std::integral_constant<int, 1>{});
  }
}

/// True for NaN or +inf (invalid logits; −inf is a mask).
__device__ __forceinline__ bool invalid_logit(float x) { return x != x || x == INFINITY; }

constexpr float kLog2e = 1.4426950408889634f;
constexpr float kLn2 = 0.6931471805599453f;

/// 2^x by ex2.approx (one MUFU.EX2; subnormal results flush to 0, 2^−inf = 0).
__device__ __forceinline__ float exp2_approx(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}

/// max that propagates NaN (fmaxf drops it): one instruction on sm_80+.
__device__ __forceinline__ float max_nan(float a, float b) {
  float y;
  asm("max.NaN.f32 %0, %1, %2;" : "=f"(y) : "f"(a), "f"(b));
  return y;
}

/// Programmatic dependent launch (sm_90): lets the next kernel of the stream, launched with
/// cudaLaunchAttributeProgrammaticStreamSerialization, start its blocks before this grid ends ...
__device__ __forceinline__ void trigger_dependents() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}
/// ... which waits here for the previous grid's completion and its memory (a no-op when launched
/// without that attribute).
__device__ __forceinline__ void wait_for_previous_grid() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}

/// One load of VEC inputs as it arrives, for loops that keep several in flight: float32 widened at
/// once; 16 bytes of bfloat16 kept as loaded (fewer registers while the loads are in flight) and
/// widened one value at a time.
/// load_last: the last read of those inputs, evict-first (ld.global.cs).
template <class In, int VEC> struct Packed {
  float v[VEC];
  __device__ void load(const In* z, std::ptrdiff_t i) { Loader<In, VEC>::load(z, i, v); }
  __device__ void load_last(const In* z, std::ptrdiff_t i) {
    if constexpr (VEC == 1) {
      v[0] = to_f(__ldcs(z + i));
    } else {
      static_assert(std::is_same_v<In, float> && VEC == 4);
      const float4 x = __ldcs(reinterpret_cast<const float4*>(z + i));
      v[0] = x.x, v[1] = x.y, v[2] = x.z, v[3] = x.w;
    }
  }
  __device__ void mask() {
#pragma unroll
    for (int k = 0; k < VEC; ++k) v[k] = -INFINITY;
  }
  __device__ float operator[](int k) const { return v[k]; }
  /// The NaN-propagating max of the group's values.
  template <int U> __device__ static float max(const Packed (&group)[U]) {
    float r = -INFINITY;
#pragma unroll
    for (int u = 0; u < U; ++u)
#pragma unroll
      for (int k = 0; k < VEC; ++k) r = max_nan(r, group[u].v[k]);
    return r;
  }
};
template <> struct Packed<std::uint16_t, 8> {
  std::uint32_t w[4];  // bfloat16 pairs, the lower index in the low half
  __device__ void load(const std::uint16_t* z, std::ptrdiff_t i) { unpack(*reinterpret_cast<const uint4*>(z + i)); }
  __device__ void load_last(const std::uint16_t* z, std::ptrdiff_t i) { unpack(__ldcs(reinterpret_cast<const uint4*>(z + i))); }
  __device__ void unpack(uint4 v) { w[0] = v.x, w[1] = v.y, w[2] = v.z, w[3] = v.w; }
  __device__ void mask() {
#pragma unroll
    for (int j = 0; j < 4; ++j) w[j] = 0xff80ff80u;  // bfloat16 −inf twice
  }
  __device__ float operator[](int k) const {
    return __uint_as_float(k % 2 ? w[k / 2] & 0xffff0000u : w[k / 2] << 16);
  }
  /// The NaN-propagating max of the group's values, pairwise in bfloat16 (exact), then of the pair.
  template <int U> __device__ static float max(const Packed (&group)[U]) {
    std::uint32_t r = 0xff80ff80u;
#pragma unroll
    for (int u = 0; u < U; ++u)
#pragma unroll
      for (int j = 0; j < 4; ++j) asm("max.NaN.bf16x2 %0, %1, %2;" : "=r"(r) : "r"(r), "r"(group[u].w[j]));
    return max_nan(__uint_as_float(r << 16), __uint_as_float(r & 0xffff0000u));
  }
};

/// Merges the online-softmax states (m, s): s·e^{m} is the partial sum of exp.
__device__ __forceinline__ void merge_softmax(float& m, float& s, float m2, float s2) {
  const float m_new = fmaxf(m, m2);
  if (m_new == -INFINITY) return;  // both empty
  s = s * __expf(m - m_new) + s2 * __expf(m2 - m_new);
  m = m_new;
}

/// Block-wide merge of the online-softmax states (every thread gets the result): a butterfly in each
/// warp, then over the warps' states in warp 0 (lane 0's result, published); `m_shared` and
/// `s_shared` hold 32 floats each.
__device__ inline void block_merge_softmax(float& m, float& s, float* m_shared, float* s_shared) {
  const auto butterfly = [&] {
    for (int offset = 16; offset > 0; offset >>= 1)
      merge_softmax(m, s, __shfl_xor_sync(0xffffffffu, m, offset), __shfl_xor_sync(0xffffffffu, s, offset));
  };
  butterfly();
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  __syncthreads();  // the shared states may still be read from the previous merge
  if (lane == 0) m_shared[warp] = m, s_shared[warp] = s;
  __syncthreads();
  if (warp == 0) {
    const bool held = lane < int(blockDim.x / 32);
    m = held ? m_shared[lane] : -INFINITY, s = held ? s_shared[lane] : 0.0f;
    butterfly();  // its shuffles order every lane's reads before lane 0's writes below
    if (lane == 0) m_shared[0] = m, s_shared[0] = s;
  }
  __syncthreads();
  m = m_shared[0], s = s_shared[0];
}

/// Block-wide reduction of N values with `op` (every thread gets the result). `shared` holds
/// N · 32 values of T; blockDim.x is a multiple of 32.
template <int N, class T, class Op> __device__ void block_reduce(T (&v)[N], T* shared, Op op) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, warps = blockDim.x / 32;
#pragma unroll
  for (int k = 0; k < N; ++k)
    for (int offset = 16; offset > 0; offset >>= 1) v[k] = op(v[k], __shfl_xor_sync(0xffffffffu, v[k], offset));
  __syncthreads();  // `shared` may still be read from the previous reduction
  if (lane == 0)
#pragma unroll
    for (int k = 0; k < N; ++k) shared[k * 32 + warp] = v[k];
  __syncthreads();
#pragma unroll
  for (int k = 0; k < N; ++k) {
    v[k] = shared[k * 32];
    for (int w = 1; w < warps; ++w) v[k] = op(v[k], shared[k * 32 + w]);
  }
}

struct Sum {
  template <class T> __device__ T operator()(T a, T b) const { return a + b; }
};
struct Max {
  __device__ float operator()(float a, float b) const { return fmaxf(a, b); }
  __device__ int operator()(int a, int b) const { return a > b ? a : b; }
};
struct Min {
  __device__ double operator()(double a, double b) const { return fmin(a, b); }
  __device__ unsigned long long operator()(unsigned long long a, unsigned long long b) const { return a < b ? a : b; }
};

}  // namespace probspace::inference::cuda_backend
