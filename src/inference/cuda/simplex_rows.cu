// Row-wise sparsemax / entmax-1.5 / α-entmax and the backward passes of every row map, one block per
// row. Forward: a max pass with the input check; a gather of the only entries that can be in the
// support, (α−1)z > (α−1)max z − 1 (spec probability.md §4: τ ≥ max X − 1), into shared memory; the
// threshold solved on those candidates in double; one write pass. The rows are re-read from L2.
#include "backend.hpp"
#include "check.cuh"
#include "rows.cuh"

#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>

namespace probspace::inference::cuda_backend {
namespace {

constexpr int kThreads = 512;
constexpr int kCapacity = 4096;  // candidates held in shared memory; beyond, the solve re-reads the row
constexpr int kMaxIterations = 200;

enum class Family { Sparsemax, Entmax15, General };

/// The threshold τ on the scale X = (α−1)z, from the candidates (every entry with X > max X − 1).
/// visit(f) calls f(X) for each candidate (every thread a share); `sums` is shared scratch.
template <class Visit> __device__ double solve_threshold(Family family, double x_max, double beta, double tolerance, Visit visit,
                                                         double* sums, double& norm) {
  double tau = x_max - 1.0;  // f(τ) ≥ 0 here: the largest entry alone gives (X − τ)^β = 1
  norm = 1.0;
  if (family == Family::Sparsemax) {
    // Michelot: τ ← (Σ_{X>τ} X − 1)/|{X > τ}| rises to τ* and stops when the support stops shrinking.
    double previous = -1;
    for (int it = 0; it < kMaxIterations; ++it) {
      double v[2] = {0, 0};
      visit([&](double x) {
        if (x > tau) v[0] += 1, v[1] += x - tau;
      });
      block_reduce(v, sums, Sum{});
      const double next = tau + (v[1] - 1.0) / v[0];
      if (v[0] == previous || !(next > tau)) return next > tau ? next : tau;
      previous = v[0], tau = next;
    }
    return tau;
  }
  if (family == Family::Entmax15) {
    // Newton on the convex f(τ) = Σ(X − τ)₊² − 1 from the left keeps S = {X > τ} ⊇ S*; on S the exact
    // root τ + δ, δ = (Σd − √((Σd)² − |S|(Σd² − 1)))/|S| with d = X − τ, is τ* once δ ≤ min d.
    for (int it = 0; it < kMaxIterations; ++it) {
      double v[3] = {0, 0, 0}, low[1] = {INFINITY};
      visit([&](double x) {
        const double d = x - tau;
        if (d > 0) v[0] += 1, v[1] += d, v[2] += d * d, low[0] = fmin(low[0], d);
      });
      block_reduce(v, sums, Sum{});
      block_reduce(low, sums, Min{});
      const double disc = v[1] * v[1] - v[0] * (v[2] - 1.0);
      const double delta = (v[1] - sqrt(fmax(disc, 0.0))) / v[0];
      if ((disc >= 0 && delta <= low[0]) || it + 1 == kMaxIterations) return tau + delta;
      tau += (v[2] - 1.0) / (2.0 * v[1]);
    }
    return tau;
  }
  // General α: safeguarded Newton on f(τ) = Σ(X − τ)₊^β − 1 inside [lo, hi], f(lo) ≥ 0 ≥ f(hi).
  double lo = tau, hi = x_max;
  for (int it = 0; it < kMaxIterations; ++it) {
    double v[2] = {0, 0};
    visit([&](double x) {
      const double d = x - tau;
      if (d > 0) {
        const double p = pow(d, beta);
        v[0] += p, v[1] += beta * p / d;
      }
    });
    block_reduce(v, sums, Sum{});
    norm = v[0];
    const double f = v[0] - 1.0;
    if (fabs(f) <= tolerance || hi - lo <= 1e-15 * fmax(1.0, fabs(tau))) break;
    (f > 0 ? lo : hi) = tau;
    const double newton = tau + f / v[1];
    tau = newton > lo && newton < hi ? newton : 0.5 * (lo + hi);
  }
  double v[1] = {0};
  visit([&](double x) {
    if (x > tau) v[0] += pow(x - tau, beta);
  });
  block_reduce(v, sums, Sum{});
  norm = v[0];
  return tau;
}

template <class In, int VEC>
__global__ void __launch_bounds__(kThreads)
entmax_kernel(const In* __restrict__ z, std::ptrdiff_t cols, std::ptrdiff_t z_stride, float* __restrict__ p,
              std::ptrdiff_t p_stride, Family family, double am1, double tolerance, Report report) {
  __shared__ float candidates[kCapacity];
  __shared__ int count;
  __shared__ double sums[3 * 32];
  __shared__ float max_shared[32];
  __shared__ int bad_shared[32];
  const std::ptrdiff_t row = blockIdx.x;
  const In* zr = z + row * z_stride;
  float* pr = p + row * p_stride;
  float x[VEC];

  float z_max[1] = {-INFINITY};
  int bad[1] = {0};
  for (std::ptrdiff_t i = std::ptrdiff_t(threadIdx.x) * VEC; i < cols; i += kThreads * VEC) {
    Loader<In, VEC>::load(zr, i, x);
#pragma unroll
    for (int k = 0; k < VEC; ++k) bad[0] |= int(invalid_logit(x[k])), z_max[0] = fmaxf(z_max[0], x[k]);
  }
  block_reduce(z_max, max_shared, Max{});
  block_reduce(bad, bad_shared, Max{});
  if (bad[0] || z_max[0] == -INFINITY) {
    if (threadIdx.x == 0) report_index(report, row);
    return;
  }
  // Candidates z > max z − 1/(α−1), the bound lowered by two ulps so rounding cannot drop one.
  const float z_low = nextafterf(nextafterf(z_max[0] - float(1.0 / am1), -INFINITY), -INFINITY);
  if (threadIdx.x == 0) count = 0;
  __syncthreads();
  for (std::ptrdiff_t i = std::ptrdiff_t(threadIdx.x) * VEC; i < cols; i += kThreads * VEC) {
    Loader<In, VEC>::load(zr, i, x);
#pragma unroll
    for (int k = 0; k < VEC; ++k)
      if (x[k] > z_low) {
        const int slot = atomicAdd(&count, 1);
        if (slot < kCapacity) candidates[slot] = x[k];
      }
  }
  __syncthreads();
  const int n = count;
  const auto visit = [&](auto&& f) {
    if (n <= kCapacity) {
      for (int j = threadIdx.x; j < n; j += kThreads) f(am1 * double(candidates[j]));
    } else {
      for (std::ptrdiff_t i = std::ptrdiff_t(threadIdx.x) * VEC; i < cols; i += kThreads * VEC) {
        Loader<In, VEC>::load(zr, i, x);
#pragma unroll
        for (int k = 0; k < VEC; ++k)
          if (x[k] > z_low) f(am1 * double(x[k]));
      }
    }
  };
  double norm = 1.0;
  const double tau = solve_threshold(family, am1 * double(z_max[0]), 1.0 / am1, tolerance, visit, sums, norm);

  // p = [X − τ]₊^{1/(α−1)} (renormalised for general α).
  // τ as τ_hi + τ_lo: X − τ_hi is exact near τ, so entries far below one ulp of X keep their precision.
  const float tau_f = float(tau), tau_lo = float(tau - double(tau_f)), half_f = 0.5f;
  for (std::ptrdiff_t i = std::ptrdiff_t(threadIdx.x) * VEC; i < cols; i += kThreads * VEC) {
    Loader<In, VEC>::load(zr, i, x);
    float y[VEC];
#pragma unroll
    for (int k = 0; k < VEC; ++k) {
      if (family == Family::Sparsemax) {
        y[k] = fmaxf((x[k] - tau_f) - tau_lo, 0.0f);
      } else if (family == Family::Entmax15) {
        const float d = fmaxf((half_f * x[k] - tau_f) - tau_lo, 0.0f);
        y[k] = d * d;
      } else {
        const double d = am1 * double(x[k]) - tau;
        y[k] = d > 0 ? float(pow(d, 1.0 / am1) / norm) : 0.0f;
      }
    }
    store<VEC>(pr, i, y);
  }
}

constexpr int kBackwardThreads = 1024;

/// The weight s of dz = s ⊙ g − (⟨s, g⟩/Σs)·s (Entmax: s = p^{2−α} on the support).
__device__ __forceinline__ float entmax_weight(float p, float two_minus_alpha) {
  if (!(p > 0.0f)) return 0.0f;
  if (two_minus_alpha == 0.0f) return 1.0f;
  if (two_minus_alpha == 0.5f) return sqrtf(p);
  return powf(p, two_minus_alpha);
}

template <Backward K, int VEC>
__global__ void __launch_bounds__(kBackwardThreads)
backward_kernel(const float* __restrict__ y, std::ptrdiff_t y_stride, const float* __restrict__ g, std::ptrdiff_t g_stride,
                float* __restrict__ dz, std::ptrdiff_t dz_stride, std::ptrdiff_t cols, float two_minus_alpha,
                Report report) {
  __shared__ float sums[2 * 32];
  __shared__ int bad_shared[32];
  const std::ptrdiff_t row = blockIdx.x;
  const float* yr = y + row * y_stride;
  const float* gr = g + row * g_stride;
  float* dzr = dz + row * dz_stride;
  float yv[VEC], gv[VEC];
  float acc[2] = {0, 0};  // Softmax: ⟨p, g⟩; LogSoftmax: Σg; Entmax: ⟨s, g⟩, Σs
  int bad[1] = {0};
  for (std::ptrdiff_t i = std::ptrdiff_t(threadIdx.x) * VEC; i < cols; i += kBackwardThreads * VEC) {
    Loader<float, VEC>::load(yr, i, yv);
    Loader<float, VEC>::load(gr, i, gv);
#pragma unroll
    for (int k = 0; k < VEC; ++k) {
      bad[0] |= int(!isfinite(gv[k]));
      if constexpr (K == Backward::LogSoftmax) {
        bad[0] |= int(!(yv[k] <= 0.0f));
        acc[0] += gv[k];
      } else {
        bad[0] |= int(!(yv[k] >= 0.0f && yv[k] <= 1.0f));
        const float s = K == Backward::Softmax ? yv[k] : entmax_weight(yv[k], two_minus_alpha);
        acc[0] += s * gv[k];
        acc[1] += s;
      }
    }
  }
  block_reduce(acc, sums, Sum{});
  block_reduce(bad, bad_shared, Max{});
  if (bad[0]) {
    if (threadIdx.x == 0) report_index(report, row);
    return;
  }
  const float c = K == Backward::Entmax ? acc[0] / acc[1] : acc[0];
  for (std::ptrdiff_t i = std::ptrdiff_t(threadIdx.x) * VEC; i < cols; i += kBackwardThreads * VEC) {
    Loader<float, VEC>::load(yr, i, yv);
    Loader<float, VEC>::load(gr, i, gv);
    float out[VEC];
#pragma unroll
    for (int k = 0; k < VEC; ++k) {
      if constexpr (K == Backward::Softmax) out[k] = yv[k] * (gv[k] - c);
      else if constexpr (K == Backward::LogSoftmax) out[k] = gv[k] - __expf(yv[k]) * c;
      else out[k] = entmax_weight(yv[k], two_minus_alpha) * (gv[k] - c);
    }
    store<VEC>(dzr, i, out);
  }
}

}  // namespace

std::ptrdiff_t entmax_rows(void* stream_ptr, void* report_handle, InputType type, const void* z, std::ptrdiff_t rows,
                           std::ptrdiff_t cols, std::ptrdiff_t z_stride, float* p, std::ptrdiff_t p_stride, float alpha, double tolerance) {
  if (rows == 0) return -1;
  auto stream = static_cast<cudaStream_t>(stream_ptr);
  const Report report = arm_report(report_handle);
  const Family family = alpha == 2.0f ? Family::Sparsemax : alpha == 1.5f ? Family::Entmax15 : Family::General;
  with_input(type, z, cols, z_stride, p, p_stride, [&](const auto* zt, auto vec) {
    using In = std::decay_t<decltype(*zt)>;
    entmax_kernel<In, decltype(vec)::value><<<unsigned(rows), kThreads, 0, stream>>>(zt, cols, z_stride, p, p_stride, family,
                                                                                     double(alpha) - 1.0, tolerance, report);
  });
  return read_report(report_handle, stream, "entmax kernel");
}

std::ptrdiff_t rows_backward(void* stream_ptr, void* report_handle, Backward kind, float alpha, const float* y,
                             std::ptrdiff_t y_stride, const float* g, std::ptrdiff_t g_stride, float* dz,
                             std::ptrdiff_t dz_stride, std::ptrdiff_t rows, std::ptrdiff_t cols) {
  if (rows == 0) return -1;
  auto stream = static_cast<cudaStream_t>(stream_ptr);
  const Report report = arm_report(report_handle);
  const bool vec4 = vectorisable(y, cols, y_stride, dz, dz_stride, 4) && vectorisable(g, cols, g_stride, dz, dz_stride, 4);
  const auto launch = [&](auto kernel) {
    kernel<<<unsigned(rows), kBackwardThreads, 0, stream>>>(y, y_stride, g, g_stride, dz, dz_stride, cols, 2.0f - alpha, report);
  };
  switch (kind) {
  case Backward::Softmax: vec4 ? launch(backward_kernel<Backward::Softmax, 4>) : launch(backward_kernel<Backward::Softmax, 1>); break;
  case Backward::LogSoftmax:
    vec4 ? launch(backward_kernel<Backward::LogSoftmax, 4>) : launch(backward_kernel<Backward::LogSoftmax, 1>);
    break;
  case Backward::Entmax: vec4 ? launch(backward_kernel<Backward::Entmax, 4>) : launch(backward_kernel<Backward::Entmax, 1>); break;
  }
  return read_report(report_handle, stream, "backward kernel");
}

}  // namespace probspace::inference::cuda_backend
