// The batched NBCE step (spec nbce.md §8) in four kernels:
//  1. partial_kernel  [rows × chunks]: the one DRAM pass — per chunk the online (max, Σe, Σe·(z−max))
//     with the input check (e = exp(z − max)).
//  2. finalise_kernel (no truncation) or nucleus_kernel (top-p / top-k, one block per row, the row
//     re-read from L2): LSE, the nucleus (cut, last tie, size) and the partial entropy (§3, §5).
//     Top-p/top-k by selection: a histogram of the mass over d = max − z in bins of 1/64 finds the
//     crossing bin; only its tokens are sorted (a radix refinement on (value, index) keys first if
//     they exceed the shared buffer).
//  3. merge_kernel    [batch × chunks]: the min-entropy selection with η hysteresis (§6) or the
//     pooling weights, the pooled row merged with row 0 (§2, §4) and its online (max, Σ).
//  4. normalise_kernel [batch × chunks]: log_softmax of the merged row in place.
// The nucleus semantics are nbce::Nucleus's: kept iff z > cut, or z == cut and t ≤ last_tie.
#include "backend.hpp"
#include "check.cuh"
#include "rows.cuh"

#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace probspace::inference::cuda_backend {
namespace {

constexpr int kPartialThreads = 512;
constexpr int kNucleusThreads = 1024;
constexpr int kMergeThreads = 512;
constexpr int kBins = 2048;             // histogram bins (11-bit radix digits in the refinement)
constexpr float kBinsPerNat = 64.0f;    // level-1 bin width 1/64 in d = max z − z
constexpr int kCandidates = 2048;       // crossing-bin tokens sorted in shared memory
constexpr double kEntropyClip = -100.0; // §5: clip(l, −100, 0)
constexpr int kLowBits = 12;            // a bin's low sums stay below 2^12 · kNbceMaxVocab = 2^32
constexpr double kFixedScale = 8796093022208.0;  // 2^43: a bin's high sums stay ≤ 2^31 (Σp ≤ 1)

/// Online softmax state of a chunk: m = max z, s = Σ e^{z−m}, a = Σ e^{z−m}(z − m), finite count.
struct Partial {
  float m, s, a;
  int finite, bad;
};
/// A row's log-normaliser, nucleus and partial entropy.
struct RowStat {
  float lse, cut, entropy;
  int last_tie, size;
};

struct Workspace {
  std::ptrdiff_t batch, rows_per_sequence, vocab;
  int row_chunks, merge_chunks;
  Partial* partials;       // [rows × row_chunks]
  RowStat* stats;          // [rows]
  float2* merge_partials;  // [batch × merge_chunks]: (max, Σ exp) of the merged row
  std::int32_t* previous;  // [batch]: the last selection, −1 for none
};

__device__ __forceinline__ void merge_state(float& m, float& s, float& a, float m2, float s2, float a2) {
  if (m2 == -INFINITY) return;  // an empty state (s·(m − mn) would be 0·∞)
  if (m == -INFINITY) {
    m = m2, s = s2, a = a2;
    return;
  }
  const float mn = fmaxf(m, m2);
  const float f1 = __expf(m - mn), f2 = __expf(m2 - mn);
  a = f1 * (a + s * (m - mn)) + f2 * (a2 + s2 * (m2 - mn));
  s = f1 * s + f2 * s2;
  m = mn;
}

template <class In, int VEC>
__global__ void __launch_bounds__(kPartialThreads)
partial_kernel(const In* __restrict__ z, std::ptrdiff_t stride, std::ptrdiff_t vocab, std::ptrdiff_t chunk,
               Partial* __restrict__ partials) {
  __shared__ float shared[3][32];
  __shared__ int shared_n[2][32];
  const std::ptrdiff_t row = blockIdx.x, begin = std::ptrdiff_t(blockIdx.y) * chunk;
  const std::ptrdiff_t end = begin + chunk < vocab ? begin + chunk : vocab;
  const In* zr = z + row * stride;
  float m = -INFINITY, s = 0, a = 0;
  int finite = 0, bad = 0;
  const auto consume = [&](const float* x) {
    float local = -INFINITY;
#pragma unroll
    for (int k = 0; k < VEC; ++k) bad |= int(invalid_logit(x[k])), local = fmaxf(local, x[k]);
    if (local == -INFINITY) return;  // all masked
    if (local > m) {
      if (m != -INFINITY) {
        const float f = __expf(m - local);
        a = f * (a + s * (m - local));
        s *= f;
      }
      m = local;
    }
#pragma unroll
    for (int k = 0; k < VEC; ++k)
      if (x[k] > -INFINITY) {
        const float e = __expf(x[k] - m);
        s += e, a += e * (x[k] - m), ++finite;
      }
  };
  // kUnroll loads in flight per thread before the dependent arithmetic.
  constexpr int kUnroll = 4;
  constexpr std::ptrdiff_t kStep = std::ptrdiff_t(kPartialThreads) * VEC;
  for (std::ptrdiff_t base = begin + std::ptrdiff_t(threadIdx.x) * VEC; base < end; base += kStep * kUnroll) {
    float xs[kUnroll][VEC];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u)
      if (base + u * kStep < end) Loader<In, VEC>::load(zr, base + u * kStep, xs[u]);
#pragma unroll
    for (int u = 0; u < kUnroll; ++u)
      if (base + u * kStep < end) consume(xs[u]);
  }
  for (int offset = 16; offset > 0; offset >>= 1) {
    merge_state(m, s, a, __shfl_xor_sync(~0u, m, offset), __shfl_xor_sync(~0u, s, offset), __shfl_xor_sync(~0u, a, offset));
    finite += __shfl_xor_sync(~0u, finite, offset);
    bad |= __shfl_xor_sync(~0u, bad, offset);
  }
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) shared[0][warp] = m, shared[1][warp] = s, shared[2][warp] = a, shared_n[0][warp] = finite, shared_n[1][warp] = bad;
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int w = 1; w < kPartialThreads / 32; ++w) {
      merge_state(m, s, a, shared[0][w], shared[1][w], shared[2][w]);
      finite += shared_n[0][w], bad |= shared_n[1][w];
    }
    partials[row * gridDim.y + blockIdx.y] = {m, s, a, finite, bad};
  }
}

/// The row's state from its chunks' partials.
__device__ Partial combine(const Partial* p, int chunks) {
  Partial r = p[0];
  for (int c = 1; c < chunks; ++c) {
    merge_state(r.m, r.s, r.a, p[c].m, p[c].s, p[c].a);
    r.finite += p[c].finite, r.bad |= p[c].bad;
  }
  return r;
}

/// No truncation: H = log S − A/S from the partials (as the CPU's exp pass); one thread per row.
__global__ void finalise_kernel(const Partial* __restrict__ partials, int chunks, std::ptrdiff_t rows, RowStat* stats,
                                float* entropies, Report report) {
  const std::ptrdiff_t row = std::ptrdiff_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (row >= rows) return;
  const Partial p = combine(partials + row * chunks, chunks);
  if (p.bad || p.finite == 0) report_index(report, row);
  const float entropy = __logf(p.s) - p.a / p.s;
  stats[row] = {p.m + __logf(p.s), -INFINITY, entropy, -1, p.finite};
  entropies[row] = entropy;
}

/// Sort keys: ascending key = descending value, then ascending index (the order §3's ties take).
__device__ __forceinline__ unsigned long long sort_key(float z, std::uint32_t index) {
  const std::uint32_t u = __float_as_uint(z);
  const std::uint32_t ascending = (u & 0x80000000u) ? ~u : (u | 0x80000000u);
  return (static_cast<unsigned long long>(~ascending) << 32) | index;
}
__device__ __forceinline__ float key_value(unsigned long long key) {
  const std::uint32_t ascending = ~std::uint32_t(key >> 32);
  return __uint_as_float((ascending & 0x80000000u) ? (ascending & 0x7fffffffu) : ~ascending);
}

/// Exclusive prefix sums of two consecutive values per thread (2·blockDim.x values in order).
__device__ void block_scan2(double v0, double v1, double& e0, double& e1, double* warp_totals) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  double incl = v0 + v1;
  for (int offset = 1; offset < 32; offset <<= 1) {
    const double up = __shfl_up_sync(~0u, incl, offset);
    if (lane >= offset) incl += up;
  }
  __syncthreads();
  if (lane == 31) warp_totals[warp] = incl;
  __syncthreads();
  double before = 0;
  for (int w = 0; w < warp; ++w) before += warp_totals[w];
  e0 = before + incl - v0 - v1;
  e1 = e0 + v0;
}

/// f(x, i) for every token of a row, VEC tokens per load.
template <class In, int VEC, class F> __device__ void for_each_token(const In* z, std::ptrdiff_t n, F&& f) {
  float x[VEC];
  for (std::ptrdiff_t i = std::ptrdiff_t(threadIdx.x) * VEC; i < n; i += std::ptrdiff_t(blockDim.x) * VEC) {
    Loader<In, VEC>::load(z, i, x);
#pragma unroll
    for (int k = 0; k < VEC; ++k) f(x[k], i + k);
  }
}

template <class In, int VEC>
__global__ void __launch_bounds__(kNucleusThreads)
nucleus_kernel(const In* __restrict__ z, std::ptrdiff_t stride, std::ptrdiff_t vocab, const Partial* __restrict__ partials,
               int chunks, bool top_k, double target, RowStat* stats, float* entropies, Report report) {
  // Bin weights in fixed point (kFixedBits fractional bits) as two native 32-bit shared atomics: the
  // high part and the low kLowBits; integer sums are exact and independent of the order.
  __shared__ unsigned hist_high[kBins], hist_low[kBins];
  __shared__ int hist_count[kBins];
  __shared__ unsigned long long keys[kCandidates];
  __shared__ double totals[32];
  __shared__ int found, count;
  const std::ptrdiff_t row = blockIdx.x;
  const In* zr = z + row * stride;
  const Partial p = combine(partials + row * chunks, chunks);
  if (p.bad || p.finite == 0) {
    if (threadIdx.x == 0) report_index(report, row);
    return;
  }
  const float m = p.m, lse = p.m + __logf(p.s);
  // A token's weight in fixed point: 1 for top-k, p·2^kFixedBits for top-p (target scaled alike).
  const auto weight = [&](float x) {
    return top_k ? 1ull : static_cast<unsigned long long>(__float2ll_rn(__expf(x - lse) * kFixedScale));
  };
  const auto add_weight = [&](int b, unsigned long long w) {
    atomicAdd(&hist_high[b], unsigned(w >> kLowBits));
    atomicAdd(&hist_low[b], unsigned(w & ((1u << kLowBits) - 1)));
  };
  const auto bin_weight = [&](int b) { return double(hist_high[b]) * double(1u << kLowBits) + double(hist_low[b]); };
  const auto bin = [&](float x) { return min(int((m - x) * kBinsPerNat), kBins - 1); };
  const auto entropy_term = [&](float x) {  // −p·clip(l, −100, 0), summed in float per thread
    const float l = x - lse;
    return -__expf(l) * fmaxf(l, float(kEntropyClip));
  };
  const double top_p = target;
  target = top_k ? fmin(target, double(p.finite)) : target * kFixedScale;

  // Finds the bin where the running weight (in key order) reaches the target: sets `found`, adds
  // the weight before it to `before`. `n_bins` bins of hist are in use.
  const auto crossing = [&](int n_bins, double& before) {
    if (threadIdx.x == 0) found = -1;
    const int b0 = 2 * threadIdx.x, b1 = b0 + 1;
    const double w0 = b0 < n_bins ? bin_weight(b0) : 0.0, w1 = b1 < n_bins ? bin_weight(b1) : 0.0;
    double e0, e1;
    block_scan2(w0, w1, e0, e1, totals);
    if (before + e0 < target && target <= before + e0 + w0) found = b0, totals[31] = e0;
    if (before + e1 < target && target <= before + e1 + w1) found = b1, totals[31] = e1;
    __syncthreads();
    if (found >= 0) before += totals[31];
    __syncthreads();
  };
  const auto clear = [&](int n_bins) {
    for (int b = threadIdx.x; b < n_bins; b += kNucleusThreads) hist_high[b] = 0, hist_low[b] = 0, hist_count[b] = 0;
    __syncthreads();
  };

  // Level 1 over d = m − z. Top-p: a token with p ≤ (1 − top_p)/V is never kept, so only
  // d < log(V/(1 − top_p)) + m − lse enters (a second try takes every token).
  double before = 0;
  int crossing_bin = -1;
  for (int attempt = 0; attempt < 2 && crossing_bin < 0; ++attempt) {
    const float d_limit = top_k || attempt == 1 ? INFINITY : float(log(double(vocab) / (1.0 - top_p)) + double(m - lse));
    clear(kBins);
    for_each_token<In, VEC>(zr, vocab, [&](float x, std::ptrdiff_t) {
      if (x > -INFINITY && m - x < d_limit) add_weight(bin(x), weight(x));
    });
    __syncthreads();
    before = 0;
    crossing(kBins, before);
    crossing_bin = found;
  }

  float cut = -INFINITY;
  int last_tie = -1;
  bool full_pass = true;   // the entropy needs a pass over the row (the rare paths)
  float h_ahead = 0;       // this thread's share of the entropy of the tokens ahead of the set
  int n_ahead = 0;
  if (crossing_bin >= 0) {
    // The crossing set: tokens in the crossing bin whose key starts with `prefix` (shift bits left);
    // tokens ahead of it (earlier bins, smaller prefixes) are all kept.
    int shift = 64;
    unsigned long long prefix = 0;
    const auto key = [&](float x, std::ptrdiff_t i) { return sort_key(x, top_k ? 0u : std::uint32_t(i)); };
    const auto gather = [&] {
      if (threadIdx.x == 0) count = 0;
      __syncthreads();
      h_ahead = 0, n_ahead = 0;
      for_each_token<In, VEC>(zr, vocab, [&](float x, std::ptrdiff_t i) {
        if (!(x > -INFINITY)) return;
        const int b = bin(x);
        if (b > crossing_bin) return;
        const unsigned long long k = key(x, i);
        if (b < crossing_bin || (shift < 64 && (k >> shift) < prefix)) {
          h_ahead += entropy_term(x), ++n_ahead;
        } else if (shift == 64 || (k >> shift) == prefix) {
          const int slot = atomicAdd(&count, 1);
          if (slot < kCandidates) keys[slot] = k;
        }
      });
      __syncthreads();
      return count;
    };
    int n = gather();
    bool single_value = false;
    // Radix refinement on the keys, 11 bits at a time, while the set overflows the buffer (top-k
    // keys have no index bits: a set of one value is final).
    while (n > kCandidates) {
      const int bits = shift < 11 ? shift : 11;
      const int digit_shift = shift - bits;
      clear(1 << bits);
      for_each_token<In, VEC>(zr, vocab, [&](float x, std::ptrdiff_t i) {
        if (!(x > -INFINITY) || bin(x) != crossing_bin) return;
        const unsigned long long k = key(x, i);
        if (shift == 64 || (k >> shift) == prefix) {
          const int digit = int((k >> digit_shift) & ((1u << bits) - 1));
          add_weight(digit, weight(x));
          atomicAdd(&hist_count[digit], 1);
        }
      });
      __syncthreads();
      crossing(1 << bits, before);
      if (found < 0) {  // rounding left the target just past this set's weight: its last token
        if (threadIdx.x == 0) {
          double w = 0;
          int last_digit = 0;
          for (int d = 0; d < (1 << bits); ++d)
            if (hist_count[d] > 0) last_digit = d;
          for (int d = 0; d < last_digit; ++d) w += bin_weight(d);
          found = last_digit, totals[31] = w;
        }
        __syncthreads();
        before += totals[31];
      }
      prefix = (shift == 64 ? 0ull : prefix << bits) | unsigned(found);
      n = hist_count[found];
      shift = digit_shift;
      __syncthreads();
      if (top_k && shift <= 32) {
        single_value = n > kCandidates;
        if (single_value) break;
      }
      if (n <= kCandidates) n = gather();
    }
    if (single_value) {  // top-k: more than kCandidates tokens share the k-th value; all are kept
      cut = key_value(prefix << shift);
      last_tie = int(vocab - 1);
    } else {
      int n_pad = 1;
      while (n_pad < n) n_pad <<= 1;
      for (int j = n + threadIdx.x; j < n_pad; j += kNucleusThreads) keys[j] = ~0ull;
      __syncthreads();
      for (int k = 2; k <= n_pad; k <<= 1)  // bitonic sort, ascending
        for (int j = k >> 1; j > 0; j >>= 1) {
          for (int i = threadIdx.x; i < n_pad; i += kNucleusThreads) {
            const int partner = i ^ j;
            if (partner > i) {
              const unsigned long long a = keys[i], b = keys[partner];
              if ((a > b) == ((i & k) == 0)) keys[i] = b, keys[partner] = a;
            }
          }
          __syncthreads();
        }
      const int j0 = 2 * threadIdx.x, j1 = j0 + 1;
      int last;
      if (top_k) {
        last = min(max(int(target - before) - 1, 0), n - 1);  // the k-th token overall; its ties are kept
        last_tie = int(vocab - 1);
      } else {  // kept while the mass before the token is < top_p
        const double q0 = j0 < n ? double(weight(key_value(keys[j0]))) : 0.0;  // exact integers
        const double q1 = j1 < n ? double(weight(key_value(keys[j1]))) : 0.0;
        double e0, e1;
        block_scan2(q0, q1, e0, e1, totals);
        int kept[1] = {int(j0 < n && before + e0 < target) + int(j1 < n && before + e1 < target)};
        __syncthreads();
        block_reduce(kept, hist_count, Sum{});
        last = max(kept[0] - 1, 0);
        last_tie = int(keys[last] & 0xffffffffu);
      }
      cut = key_value(keys[last]);
      // The set's kept tokens: a prefix of the sorted keys (top-k: every value ≥ the cut).
      for (const int j : {j0, j1})
        if (j < n && (top_k ? key_value(keys[j]) >= cut : j <= last)) h_ahead += entropy_term(key_value(keys[j])), ++n_ahead;
      full_pass = false;
    }
  }
  if (full_pass) {  // every finite token kept, or a top-k tie larger than the buffer
    h_ahead = 0, n_ahead = 0;
    for_each_token<In, VEC>(zr, vocab, [&](float x, std::ptrdiff_t i) {
      if (x > cut || (x == cut && i <= last_tie)) h_ahead += entropy_term(x), ++n_ahead;
    });
  }
  double h[1] = {double(h_ahead)};
  int size[1] = {n_ahead};
  block_reduce(h, totals, Sum{});
  block_reduce(size, hist_count, Sum{});
  if (threadIdx.x == 0) {
    stats[row] = {lse, cut, float(h[0]), last_tie, size[0]};
    entropies[row] = float(h[0]);
  }
}

/// The selection (§6) or the linear pooling weights (§2) of one sequence into w[rows] (shared), by
/// the whole block; returns k* for MinEntropy, else −1.
__device__ int pooling_weights(const RowStat* st, int rows, const NbceParams& params, int previous, float* w,
                               unsigned long long* scratch) {
  const int first = params.select_row0 ? 0 : 1;
  for (int r = threadIdx.x; r < rows; r += blockDim.x) w[r] = 0;
  __syncthreads();
  switch (params.pooling) {
  case NbceParams::MinEntropy: {  // argmin of H_r − η·[r = k_prev], ties to the lowest index
    unsigned long long best[1] = {~0ull};
    for (int r = first + int(threadIdx.x); r < rows; r += blockDim.x) {
      const float h = float(double(st[r].entropy) - (r == previous ? params.eta : 0.0));
      const std::uint32_t u = __float_as_uint(h), ascending = (u & 0x80000000u) ? ~u : (u | 0x80000000u);
      best[0] = min(best[0], (static_cast<unsigned long long>(ascending) << 32) | unsigned(r));
    }
    block_reduce(best, scratch, Min{});
    const int k = int(best[0] & 0xffffffffu);
    if (threadIdx.x == 0) w[k] = 1;
    __syncthreads();
    return k;
  }
  case NbceParams::Average:
    for (int r = 1 + int(threadIdx.x); r < rows; r += blockDim.x) w[r] = float(1.0 / double(rows - 1));
    break;
  case NbceParams::SoftEntropy: {  // w = softmax(−H/T_H), max-shifted
    double low[1] = {INFINITY}, sum[1] = {0};
    for (int r = first + int(threadIdx.x); r < rows; r += blockDim.x) low[0] = fmin(low[0], double(st[r].entropy));
    block_reduce(low, reinterpret_cast<double*>(scratch), Min{});
    for (int r = first + int(threadIdx.x); r < rows; r += blockDim.x)
      sum[0] += exp(-(double(st[r].entropy) - low[0]) / params.soft_temperature);
    block_reduce(sum, reinterpret_cast<double*>(scratch), Sum{});
    for (int r = first + int(threadIdx.x); r < rows; r += blockDim.x)
      w[r] = float(exp(-(double(st[r].entropy) - low[0]) / params.soft_temperature) / sum[0]);
    break;
  }
  case NbceParams::Max: break;
  }
  __syncthreads();
  return -1;
}

template <class In, int VEC>
__global__ void __launch_bounds__(kMergeThreads)
merge_kernel(const In* __restrict__ z, std::ptrdiff_t stride, std::ptrdiff_t vocab, std::ptrdiff_t chunk, int rows,
             const RowStat* __restrict__ stats, NbceParams params, const std::int32_t* __restrict__ previous,
             std::int32_t* selected, float* out, std::ptrdiff_t out_stride, float2* merge_partials) {
  extern __shared__ float shared_weights[];
  __shared__ float shared_m[32], shared_s[32];
  const std::ptrdiff_t b = blockIdx.x, begin = std::ptrdiff_t(blockIdx.y) * chunk;
  const std::ptrdiff_t end = begin + chunk < vocab ? begin + chunk : vocab;
  const RowStat* st = stats + b * rows;
  __shared__ unsigned long long scratch[32];
  const int k = pooling_weights(st, rows, params, previous[b], shared_weights, scratch);  // alike in every block
  if (blockIdx.y == 0 && threadIdx.x == 0) selected[b] = k;
  const In* zb = z + b * rows * stride;
  float* outb = out + b * out_stride;
  const float beta = float(params.beta), threshold = float(params.finite_threshold);
  const bool max_pooling = params.pooling == NbceParams::Max;
  float m = -INFINITY, s = 0;
  float x[VEC], l0[VEC], pooled[VEC];
  const auto truncated = [&](int r, std::ptrdiff_t i, float (&l)[VEC]) {
    Loader<In, VEC>::load(zb + r * stride, i, x);
    const RowStat sr = st[r];
#pragma unroll
    for (int k = 0; k < VEC; ++k)
      l[k] = x[k] > sr.cut || (x[k] == sr.cut && i + k <= sr.last_tie) ? x[k] - sr.lse : -INFINITY;
  };
  for (std::ptrdiff_t i = begin + std::ptrdiff_t(threadIdx.x) * VEC; i < end; i += kMergeThreads * VEC) {
    float l[VEC];
#pragma unroll
    for (int k = 0; k < VEC; ++k) pooled[k] = max_pooling ? -INFINITY : 0.0f;
    for (int r = max_pooling ? 1 : 0; r < rows; ++r) {
      const float w = shared_weights[r];
      if (!max_pooling && w == 0.0f) continue;
      truncated(r, i, l);
#pragma unroll
      for (int k = 0; k < VEC; ++k)  // −inf arithmetic of §3: intersection for sums, union for max
        pooled[k] = max_pooling ? fmaxf(pooled[k], l[k]) : (l[k] > -INFINITY ? pooled[k] + w * l[k] : -INFINITY);
    }
    truncated(0, i, l0);
    float y[VEC];
#pragma unroll
    for (int k = 0; k < VEC; ++k) {  // §4: by branch, never by multiplying masks
      y[k] = !(pooled[k] > -INFINITY) ? pooled[k] : l0[k] > threshold ? (1.0f + beta) * pooled[k] - beta * l0[k] : pooled[k];
      if (y[k] > -INFINITY) {
        if (y[k] > m) s = s * __expf(m - y[k]), m = y[k];
        s += __expf(y[k] - m);
      }
    }
    store<VEC>(outb, i, y);
  }
  block_merge_softmax(m, s, shared_m, shared_s);
  if (threadIdx.x == 0) merge_partials[b * gridDim.y + blockIdx.y] = make_float2(m, s);
}

__global__ void __launch_bounds__(kMergeThreads)
normalise_kernel(std::ptrdiff_t vocab, std::ptrdiff_t chunk, float* out, std::ptrdiff_t out_stride,
                 const float2* __restrict__ merge_partials, const std::int32_t* selected, std::int32_t* previous) {
  const std::ptrdiff_t b = blockIdx.x, begin = std::ptrdiff_t(blockIdx.y) * chunk;
  const std::ptrdiff_t end = begin + chunk < vocab ? begin + chunk : vocab;
  __shared__ float shared_m[32], shared_s[32];
  float m = -INFINITY, s = 0;
  for (unsigned c = threadIdx.x; c < gridDim.y; c += kMergeThreads) {
    const float2 part = merge_partials[b * gridDim.y + c];
    merge_softmax(m, s, part.x, part.y);
  }
  block_merge_softmax(m, s, shared_m, shared_s);
  const float lse = m + __logf(s);
  float* outb = out + b * out_stride;
  for (std::ptrdiff_t i = begin + threadIdx.x; i < end; i += kMergeThreads)
    outb[i] = m == -INFINITY ? -INFINITY : outb[i] - lse;  // an empty pooled support stays −inf
  if (blockIdx.y == 0 && threadIdx.x == 0) previous[b] = selected[b];
}

int multiprocessors() {
  int device = 0, count = 0;
  check(cudaGetDevice(&device), "cudaGetDevice");
  check(cudaDeviceGetAttribute(&count, cudaDevAttrMultiProcessorCount, device), "cudaDeviceGetAttribute");
  return count;
}

/// Chunk length (a multiple of 8 elements) splitting `vocab` into at most `chunks` pieces.
std::ptrdiff_t chunk_length(std::ptrdiff_t vocab, int chunks) {
  const std::ptrdiff_t c = (vocab + chunks - 1) / chunks;
  return (c + 7) / 8 * 8;
}

}  // namespace

void* nbce_create(std::ptrdiff_t batch, std::ptrdiff_t rows_per_sequence, std::ptrdiff_t vocab) {
  auto* ws = new Workspace{batch, rows_per_sequence, vocab, 1, 1, nullptr, nullptr, nullptr, nullptr};
  try {
    const std::ptrdiff_t rows = batch * rows_per_sequence;
    const std::ptrdiff_t resident = 4 * std::ptrdiff_t(multiprocessors());  // blocks of 512 in flight
    const auto chunks = [&](std::ptrdiff_t units, std::ptrdiff_t min_chunk) {
      const std::ptrdiff_t by_blocks = (resident + units - 1) / units, by_size = (vocab + min_chunk - 1) / min_chunk;
      return int(std::max<std::ptrdiff_t>(1, std::min<std::ptrdiff_t>({by_blocks, by_size, 64})));
    };
    ws->row_chunks = chunks(rows, 4096);
    ws->merge_chunks = chunks(batch, 2048);
    ws->row_chunks = int((vocab + chunk_length(vocab, ws->row_chunks) - 1) / chunk_length(vocab, ws->row_chunks));
    ws->merge_chunks = int((vocab + chunk_length(vocab, ws->merge_chunks) - 1) / chunk_length(vocab, ws->merge_chunks));
    ws->partials = static_cast<Partial*>(allocate(sizeof(Partial) * std::size_t(rows * ws->row_chunks)));
    ws->stats = static_cast<RowStat*>(allocate(sizeof(RowStat) * std::size_t(rows)));
    ws->merge_partials = static_cast<float2*>(allocate(sizeof(float2) * std::size_t(batch * ws->merge_chunks)));
    ws->previous = static_cast<std::int32_t*>(allocate(sizeof(std::int32_t) * std::size_t(batch)));
    check(cudaMemset(ws->previous, 0xff, sizeof(std::int32_t) * std::size_t(batch)), "cudaMemset");
  } catch (...) {
    nbce_destroy(ws);
    throw;
  }
  return ws;
}

void nbce_destroy(void* workspace) noexcept {
  auto* ws = static_cast<Workspace*>(workspace);
  for (void* p : {static_cast<void*>(ws->partials), static_cast<void*>(ws->stats), static_cast<void*>(ws->merge_partials), static_cast<void*>(ws->previous)})
    release(p);
  delete ws;
}

void nbce_reset(void* workspace, void* stream) {
  auto* ws = static_cast<Workspace*>(workspace);
  check(cudaMemsetAsync(ws->previous, 0xff, sizeof(std::int32_t) * std::size_t(ws->batch), static_cast<cudaStream_t>(stream)),
        "cudaMemsetAsync");
}

std::ptrdiff_t nbce_step(void* stream_ptr, void* report_handle, void* workspace, const NbceParams& params, InputType type,
                         const void* logits, std::ptrdiff_t logits_stride, float* log_probs,
                         std::ptrdiff_t log_probs_stride, std::int32_t* selected, float* entropies) {
  auto* ws = static_cast<Workspace*>(workspace);
  auto stream = static_cast<cudaStream_t>(stream_ptr);
  const Report report = arm_report(report_handle);
  const std::ptrdiff_t rows = ws->batch * ws->rows_per_sequence, vocab = ws->vocab;
  const std::ptrdiff_t row_chunk = chunk_length(vocab, ws->row_chunks), merge_chunk = chunk_length(vocab, ws->merge_chunks);
  const bool truncated = params.truncation != NbceParams::None && !(params.truncation == NbceParams::TopP && params.top_p >= 1.0);
  with_input(type, logits, vocab, logits_stride, log_probs, log_probs_stride, [&](const auto* zt, auto vec) {
    using In = std::decay_t<decltype(*zt)>;
    constexpr int VEC = decltype(vec)::value;
    partial_kernel<In, VEC><<<dim3(unsigned(rows), unsigned(ws->row_chunks)), kPartialThreads, 0, stream>>>(
        zt, logits_stride, vocab, row_chunk, ws->partials);
    if (truncated) {
      const double target = params.truncation == NbceParams::TopP ? params.top_p : double(params.top_k);
      nucleus_kernel<In, VEC><<<unsigned(rows), kNucleusThreads, 0, stream>>>(
          zt, logits_stride, vocab, ws->partials, ws->row_chunks, params.truncation == NbceParams::TopK, target, ws->stats,
          entropies, report);
    } else {
      finalise_kernel<<<unsigned((rows + 127) / 128), 128, 0, stream>>>(ws->partials, ws->row_chunks, rows, ws->stats,
                                                                         entropies, report);
    }
    merge_kernel<In, VEC><<<dim3(unsigned(ws->batch), unsigned(ws->merge_chunks)), kMergeThreads,
                            sizeof(float) * std::size_t(ws->rows_per_sequence), stream>>>(
        zt, logits_stride, vocab, merge_chunk, int(ws->rows_per_sequence), ws->stats, params, ws->previous, selected,
        log_probs, log_probs_stride, ws->merge_partials);
  });
  normalise_kernel<<<dim3(unsigned(ws->batch), unsigned(ws->merge_chunks)), kMergeThreads, 0, stream>>>(
      vocab, merge_chunk, log_probs, log_probs_stride, ws->merge_partials, selected, ws->previous);
  return read_report(report_handle, stream, "nbce kernels");
}

}  // namespace probspace::inference::cuda_backend
