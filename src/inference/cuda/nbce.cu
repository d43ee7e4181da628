// The batched NBCE step (spec nbce.md §8): the one DRAM pass, the nucleus kernels with truncation,
// then the two kernels of the tail:
//  1. partial_kernel  [rows × chunks]: the one DRAM pass — per chunk the online (max, Σe, Σe·(z−max))
//     with the input check (e = exp(z − max), in base 2: one FMA and one ex2 per token; the check on a
//     NaN-propagating max per load group). The chunk count fills whole waves of resident blocks.
//  2. top-p / top-k only, two kernels (each reads the rows again): LSE, the nucleus (cut, last tie,
//     size) and the partial entropy (§3, §5) by selection. histogram_kernel [rows × chunks]: a
//     histogram of the mass over d = max − z in bins of 1/64 and, top-p, of the moments Σ p·(d − bin
//     start) (32-bit shared atomics that return nothing; integer atomics into the row's bins) finds
//     the crossing bin and the entropy of the tokens ahead of it; gather_kernel [rows × chunks]: the
//     crossing bin's tokens' keys and the count of the tokens ahead of it (top-k: their entropy), then
//     the block finishing the row's last chunk narrows the crossing bin's tokens to one of 256
//     sub-bins, sorts only those (a radix refinement on (value, index) keys over the row first if
//     the bin's tokens exceed the shared buffer) and places the cut. In the fallbacks below only,
//     then, once per sequence (the block finishing its sequence's last row), the min-entropy
//     selection with η hysteresis (§6) or the pooling weights (§2) as the list of rows of nonzero
//     weight.
//  3. tail_kernel [batch × chunks], a programmatic dependent of the kernel before it (its blocks
//     start as that grid's retire, load what does not depend on it, then wait for its completion).
//     Every block selects its sequence's pool itself from the rows' entropies (the same code on the
//     same data: every block of the sequence agrees), into shared memory; without truncation it
//     first derives the row statistics (LSE, H = log S − A/S) from the partials. Each block pools
//     the listed rows and merges them with row 0 (§2, §4) over its vocabulary chunk, stores them and
//     publishes the chunk's online (max, Σ). normalise_kernel [batch × chunks], a programmatic
//     dependent of tail_kernel, combines each sequence's (max, Σ) in a fixed order into the LSE and
//     normalises the chunk in place (from L2). Fallback: more rows per sequence than the shared
//     pool holds: finalise_kernel (one block per sequence; without truncation) or gather_kernel
//     computes the pool before the tail.
// The nucleus semantics are nbce::Nucleus's: kept iff z > cut, or z == cut and t ≤ last_tie.
#include "backend.hpp"
#include "check.cuh"
#include "rows.cuh"

#include <cuda_runtime.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <iterator>
#include <tuple>
#include <type_traits>

namespace probspace::inference::cuda_backend {
namespace {

constexpr int kPartialThreads = 512;
constexpr int kFinaliseThreads = 256;
constexpr int kMergeThreads = 512;
constexpr int kMergeBlocksPerSm = 2;   // tail_kernel (≤ 64 registers)
constexpr int kLevel1BlocksPerSm = 3;  // histogram_kernel, gather_kernel (≤ 40 registers)
constexpr int kBins = 2048;             // histogram bins (11-bit radix digits in the refinement)
constexpr float kBinsPerNat = 64.0f;    // level-1 bin width 1/64 in d = max z − z
constexpr int kCandidates = 2048;       // crossing-bin tokens sorted in shared memory
constexpr int kSubBins = 256;           // the crossing bin's sub-bins, narrowing its tokens before the sort
static_assert(kCandidates % kPartialThreads == 0 && kSubBins <= kBins, "nucleus_row's narrowing");
constexpr double kEntropyClip = -100.0; // §5: clip(l, −100, 0)
constexpr double kFixedScale = 8796093022208.0;  // 2^43: a bin's weight stays < 2^44 (Σp ≤ 1)
constexpr double kMomentScale = 2147483648.0;    // 2^31: a row's Σ p·frac stays < 2^32 in fixed point
constexpr std::ptrdiff_t kLevel1Chunk = 1 << 20;  // most tokens per histogram_kernel block (BinWeights::add)

/// Online softmax state of a chunk: m = max z, s = Σ e^{z−m}, a = Σ e^{z−m}(z − m), the finite
/// logits (counted for top-k only; otherwise the threads that saw one: 0 iff there is none), bad:
/// a NaN or +inf seen.
struct Partial {
  float m, s, a;
  int finite, bad;
};
/// A row's log-normaliser, nucleus and partial entropy.
struct RowStat {
  float lse, cut, entropy;
  int last_tie, size;
};

/// A pooled row and its weight (§2; 1 for min-entropy and max pooling).
struct PoolEntry {
  std::int32_t row;
  float weight;
};
/// tail_kernel's shared memory per row of a sequence when it selects the pool (LSE, entropy, pool
/// entry), and the most it takes (more rows: gather_kernel or finalise_kernel lists the pool first).
constexpr std::size_t kTailRowBytes = 2 * sizeof(float) + sizeof(PoolEntry);
constexpr std::size_t kTailMaxShared = 32 * 1024;
/// Each sequence's pooled rows: those of nonzero weight in ascending order (max pooling: 1 … n).
struct Pools {
  int rows;                // n + 1 per sequence
  PoolEntry* entries;      // [batch × rows], count[b] in use
  std::int32_t* count;     // [batch]
  std::int32_t* selected;  // [batch] (the caller's): k* of min-entropy pooling, else −1
  std::int32_t* previous;  // [batch]: the last selection, −1 for none
  unsigned* done;          // [batch]: rows of the step finished (gather_kernel), 0 between steps
  bool in_tail;            // tail_kernel selects each sequence's pool itself: gather_kernel lists none
};

struct Crossing;
/// A chunk's tokens ahead of the crossing bin: Σ −p·clip(l) and their count.
struct Ahead {
  double h;
  int n;
};
/// The nucleus split over row chunks (histogram_kernel, gather_kernel) for the row's last block.
struct Level1 {
  unsigned long long* bins;        // [rows × kBins]: bin weights (fixed point), 0 between steps
  unsigned* moments;               // [rows × kBins]: top-p, Σ p·frac·2^31 per bin (< 2^32), 0 between steps
  unsigned* done;                  // [rows]: chunks finished, 0 between steps
  Crossing* crossing;              // [rows]
  unsigned long long* candidates;  // [rows × kCandidates]: the crossing bin's sort keys, unordered
  unsigned* count;                 // [rows]: crossing-bin tokens (may exceed kCandidates), 0 between steps
  Ahead* ahead;                    // [rows × chunks]
  int chunks;                      // level-1 chunks per row (of the input instance in use)
};

struct Workspace {
  std::ptrdiff_t batch, rows_per_sequence, vocab;
  int row_chunks[4];     // per partial_kernel instance (input_instance)
  int level1_chunks[4];  // per histogram_kernel and gather_kernel instance
  int merge_chunks;
  Partial* partials;       // [rows × max row_chunks]
  RowStat* stats;          // [rows]
  float2* merge_partials;  // [batch × merge_chunks]: (max, Σ exp) of the merged row
  PoolEntry* pool_entries;
  std::int32_t* pool_count;
  std::int32_t* previous;
  unsigned* done;
  Level1 level1;
  bool pool_in_tail = false;      // a sequence's rows fit tail_kernel's shared memory: it selects the pool
  bool dependent_tail = true;     // the tail's kernels launched as programmatic dependents (until refused)
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

/// The chunk's online state (§8: m = max z, s = Σ e^{z−m}, a = Σ e^{z−m}(z − m)) per block
/// [rows × chunks]. Each thread takes kUnroll loads (16 bytes each when VEC > 1) at once, then their
/// max and the exponentials in base 2 against its running max: d = z·log2e − m·log2e by one FMA,
/// e = 2^d (MUFU.EX2), s += e, a2 += e·d (a in units of log 2). The check of the input rides on a
/// NaN-propagating max per load group (NaN or +inf there: the row is invalid); kCount: the finite
/// logits counted (top-k's target), else `finite` only says whether the chunk holds one.
template <class In, int VEC, bool kCount>
__global__ void __launch_bounds__(kPartialThreads)
partial_kernel(const In* __restrict__ z, std::ptrdiff_t stride, std::ptrdiff_t vocab, std::ptrdiff_t chunk,
               Partial* __restrict__ partials) {
  // tail_kernel (launched as a programmatic dependent) may start its blocks as these retire; it
  // waits for this grid's completion before it reads the partials.
  trigger_dependents();
  __shared__ Partial warps[kPartialThreads / 32];
  const std::ptrdiff_t row = blockIdx.x, begin = std::ptrdiff_t(blockIdx.y) * chunk;
  const std::ptrdiff_t end = begin + chunk < vocab ? begin + chunk : vocab;
  const In* zr = z + row * stride;
  float m = -INFINITY, m2 = -INFINITY, s = 0, a2 = 0;  // m2 = m·log2e rounded: the base of s and a2
  float local = -INFINITY;                              // NaN-propagating max of every load group
  int finite = 0;
  constexpr int kUnroll = 4;  // loads in flight per thread before the dependent arithmetic
  constexpr std::ptrdiff_t kStep = std::ptrdiff_t(kPartialThreads) * VEC;
  for (std::ptrdiff_t base = begin + std::ptrdiff_t(threadIdx.x) * VEC; base < end; base += kStep * kUnroll) {
    Packed<In, VEC> x[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      if (base + u * kStep < end) x[u].load(zr, base + u * kStep);
      else x[u].mask();  // past the chunk: masked
    }
    const float group = Packed<In, VEC>::max(x);
    local = max_nan(local, group);
    if (!(group > -INFINITY)) continue;  // all masked (or NaN: the row is reported)
    if (group > m) {  // a new max: rescale (s, a2) to it
      const float next = group * kLog2e;
      if (m != -INFINITY) {
        const float f = exp2_approx(m2 - next);
        a2 = f * (a2 + s * (m2 - next));
        s *= f;
      }
      m = group, m2 = next;
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u)
#pragma unroll
      for (int k = 0; k < VEC; ++k) {
        const float d = fmaf(x[u][k], kLog2e, -m2), e = exp2_approx(d);  // −inf: e = 0
        s += e;
        a2 = fmaf(e, fmaxf(d, -FLT_MAX), a2);  // (d = −inf: 0·(−FLT_MAX), not 0·∞)
        if constexpr (kCount) finite += int(x[u][k] > -INFINITY);
      }
  }
  // Back to base e: m2 = m·log2e − δ exactly (δ by one FMA), so Σ e^{z−m} = 2^{−δ}·s and
  // Σ e^{z−m}(z − m) = ln 2 · 2^{−δ}·(a2 − δ·s).
  float a = 0;
  if (m > -INFINITY && m < INFINITY) {
    const float delta = fmaf(m, kLog2e, -m2), c = exp2_approx(-delta);
    a = kLn2 * c * (a2 - delta * s);
    s *= c;
  }
  if constexpr (!kCount) finite = int(m > -INFINITY);
  int bad = int(!(local < INFINITY));  // NaN or +inf
  for (int offset = 16; offset > 0; offset >>= 1) {
    merge_state(m, s, a, __shfl_xor_sync(~0u, m, offset), __shfl_xor_sync(~0u, s, offset), __shfl_xor_sync(~0u, a, offset));
    finite += __shfl_xor_sync(~0u, finite, offset);
    bad |= __shfl_xor_sync(~0u, bad, offset);
  }
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) warps[warp] = {m, s, a, finite, bad};
  __syncthreads();
  if (warp == 0) {  // the warps' states by a butterfly over lanes 0 … 15 (lane 0's is the block's)
    Partial p = lane < kPartialThreads / 32 ? warps[lane] : Partial{-INFINITY, 0.0f, 0.0f, 0, 0};
    for (int offset = kPartialThreads / 64; offset > 0; offset >>= 1) {
      merge_state(p.m, p.s, p.a, __shfl_xor_sync(~0u, p.m, offset), __shfl_xor_sync(~0u, p.s, offset),
                  __shfl_xor_sync(~0u, p.a, offset));
      p.finite += __shfl_xor_sync(~0u, p.finite, offset);
      p.bad |= __shfl_xor_sync(~0u, p.bad, offset);
    }
    if (lane == 0) partials[row * gridDim.y + blockIdx.y] = p;
  }
}

/// The row's state from its chunks' partials, merged in chunk order (the loads unrolled ahead of the
/// chain).
__device__ Partial combine(const Partial* p, int chunks) {
  Partial r = p[0];
#pragma unroll 4
  for (int c = 1; c < chunks; ++c) {
    merge_state(r.m, r.s, r.a, p[c].m, p[c].s, p[c].a);
    r.finite += p[c].finite, r.bad |= p[c].bad;
  }
  return r;
}

/// No truncation: a row's LSE and entropy H = log S − A/S (as the CPU's exp pass) from its chunks'
/// partials; not valid: a row to report.
struct FullRow {
  float lse, entropy;
  int finite;
  bool valid;
};
__device__ FullRow full_row(const Partial* partials, int chunks) {
  const Partial p = combine(partials, chunks);
  return {p.m + __logf(p.s), __logf(p.s) - p.a / p.s, p.finite, !(p.bad || p.finite == 0)};
}

/// A float's bits as an unsigned key in the floats' order (NaN aside), and back.
__device__ __forceinline__ std::uint32_t ordered(float v) {
  const std::uint32_t u = __float_as_uint(v);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}
__device__ __forceinline__ float from_ordered(std::uint32_t k) {
  return __uint_as_float((k & 0x80000000u) ? (k & 0x7fffffffu) : ~k);
}

/// A sequence's pool from its rows' entropies entropy(r) (double), by the whole block: the
/// min-entropy selection (§6: argmin of H_r − η·[r = previous], ties to the lowest index) or the
/// linear pooling weights (§2), listed in row order into `entries` by warp 0, which gets their count
/// in `count`. Returns k* of min-entropy pooling, else −1 (every thread). The same entropies give the
/// same list in every block.
template <class Entropy>
__device__ int select_pool(Entropy entropy, int rows, int previous, const NbceParams& params, PoolEntry* entries,
                           int& count) {
  __shared__ double scratch[32];
  const int first = params.select_row0 ? 0 : 1;
  int k = -1;
  double low[1] = {INFINITY}, sum[1] = {0};
  if (params.pooling == NbceParams::MinEntropy) {
    unsigned long long best[1] = {~0ull};
    for (int r = first + int(threadIdx.x); r < rows; r += blockDim.x) {
      const float h = float(entropy(r) - (r == previous ? params.eta : 0.0));
      best[0] = min(best[0], (static_cast<unsigned long long>(ordered(h)) << 32) | unsigned(r));
    }
    block_reduce(best, reinterpret_cast<unsigned long long*>(scratch), Min{});
    k = int(best[0] & 0xffffffffu);
  } else if (params.pooling == NbceParams::SoftEntropy) {  // w = softmax(−H/T_H), max-shifted
    for (int r = first + int(threadIdx.x); r < rows; r += blockDim.x) low[0] = fmin(low[0], entropy(r));
    block_reduce(low, scratch, Min{});
    for (int r = first + int(threadIdx.x); r < rows; r += blockDim.x)
      sum[0] += exp(-(entropy(r) - low[0]) / params.soft_temperature);
    block_reduce(sum, scratch, Sum{});
  }
  if (threadIdx.x >= 32) return k;
  const auto weight = [&](int r) {
    switch (params.pooling) {
    case NbceParams::MinEntropy: return r == k ? 1.0f : 0.0f;
    case NbceParams::Average: return r >= 1 ? float(1.0 / double(rows - 1)) : 0.0f;
    case NbceParams::SoftEntropy:
      return r >= first ? float(exp(-(entropy(r) - low[0]) / params.soft_temperature) / sum[0]) : 0.0f;
    case NbceParams::Max: break;
    }
    return r >= 1 ? 1.0f : 0.0f;  // max pooling: every context row, unweighted
  };
  const unsigned lane = threadIdx.x;
  int n = 0;
  for (int base = 0; base < rows; base += 32) {
    const int r = base + int(lane);
    const float w = r < rows ? weight(r) : 0.0f;
    const unsigned listed = __ballot_sync(~0u, w != 0.0f);
    if (w != 0.0f) entries[n + __popc(listed & ((1u << lane) - 1))] = {r, w};
    n += __popc(listed);
  }
  count = n;
  return k;
}

/// select_pool for sequence b from its rows' statistics (written in this step, read past L1) into
/// the global lists; the selection becomes previous[b] (read, by min-entropy pooling only, by every
/// thread before select_pool's barriers; rewritten by thread 0 after them).
__device__ void publish_pool(const RowStat* st, std::ptrdiff_t b, const NbceParams& params, const Pools& pools) {
  const int previous = params.pooling == NbceParams::MinEntropy ? pools.previous[b] : -1;
  int n = 0;
  const int k = select_pool([&](int r) { return double(__ldcg(&st[r].entropy)); }, pools.rows, previous, params,
                            pools.entries + b * pools.rows, n);
  if (threadIdx.x == 0) pools.count[b] = n, pools.selected[b] = k, pools.previous[b] = k;
}

/// No truncation, when the tail cannot derive the statistics itself: each row's statistics and
/// entropy, the report of bad rows, then the pool; one block per sequence.
__global__ void __launch_bounds__(kFinaliseThreads)
finalise_kernel(const Partial* __restrict__ partials, int chunks, RowStat* stats, float* entropies, Report report,
                NbceParams params, Pools pools) {
  const std::ptrdiff_t b = blockIdx.x;
  for (int r = threadIdx.x; r < pools.rows; r += kFinaliseThreads) {
    const std::ptrdiff_t row = b * pools.rows + r;
    const FullRow f = full_row(partials + row * chunks, chunks);
    if (!f.valid) report_index(report, row);
    stats[row] = {f.lse, -INFINITY, f.entropy, -1, f.finite};
    entropies[row] = f.entropy;
  }
  __syncthreads();
  publish_pool(stats + b * pools.rows, b, params, pools);
}

/// Sort keys: ascending key = descending value, then ascending index (the order §3's ties take).
__device__ __forceinline__ unsigned long long sort_key(float z, std::uint32_t index) {
  return (static_cast<unsigned long long>(~ordered(z)) << 32) | index;
}
__device__ __forceinline__ float key_value(unsigned long long key) { return from_ordered(~std::uint32_t(key >> 32)); }

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

/// f(x, i) for every token of a row, each thread's in ascending i, VEC tokens per load and LOADS
/// loads (by default up to 16 tokens) in flight per thread (one load at a time leaves the block
/// waiting on L2 latency).
template <class In, int VEC, int LOADS = (VEC == 1 ? 4 : 16 / VEC), class F>
__device__ void for_each_token(const In* z, std::ptrdiff_t n, F&& f) {
  constexpr int kTokenLoads = LOADS;
  const std::ptrdiff_t step = std::ptrdiff_t(blockDim.x) * VEC;
  for (std::ptrdiff_t base = std::ptrdiff_t(threadIdx.x) * VEC; base < n; base += step * kTokenLoads) {
    float x[kTokenLoads][VEC];
#pragma unroll
    for (int u = 0; u < kTokenLoads; ++u)
      if (base + u * step < n) Loader<In, VEC>::load(z, base + u * step, x[u]);
#pragma unroll
    for (int u = 0; u < kTokenLoads; ++u)
      if (base + u * step < n)
#pragma unroll
        for (int k = 0; k < VEC; ++k) f(x[u][k], base + u * step + k);
  }
}

/// A token's level-1 bin: min(⌊pos⌋, kBins − 1) of its position pos = 64·(m − z) ≥ 0, and pos's
/// fraction past the bin's start (by one round-toward-zero add of 2^23, no conversion instruction).
struct BinPosition {
  int bin;
  float frac;
  __device__ explicit BinPosition(float pos) {
    const float clamped = fminf(pos, float(kBins) - 0.5f), t = __fadd_rz(clamped, 8388608.0f);  // 2^23 + ⌊clamped⌋
    bin = __float_as_int(t) - 0x4b000000;
    frac = clamped - (t - 8388608.0f);
  }
};

/// A valid row's constants for the nucleus (§3): max, LSE, the target in bin-weight units and the
/// level-1 limit on pos = 64·(m − z).
struct RowFrame {
  float m, lse;
  bool top_k;
  double target;  // top-p: top_p·2^43 (fixed point); top-k: min(k, finite tokens)
  float pos_limit;
  /// A top-p token's weight p·2^43 before rounding (the fixed-point weight rounds it to nearest).
  __device__ float scaled_p(float x) const { return __expf(x - lse) * kFixedScale; }
  /// A token's weight in fixed point: 1 for top-k, p·2^43 for top-p.
  __device__ unsigned long long weight(float x) const { return top_k ? 1ull : __float2ull_rn(scaled_p(x)); }
  /// 64·(m − z): +inf for z = −inf, so below pos_limit (finite for top-k) only finite tokens.
  __device__ float pos(float x) const { return (m - x) * kBinsPerNat; }
  __device__ int bin(float x) const { return BinPosition(pos(x)).bin; }
  /// The value t with pos(z) < limit ⟺ z > t for every z ≤ m but NaN (pos is monotone in z), by a
  /// whole warp: the 32 floats around m − limit/64 probed at once (the bracket is most often found
  /// there), then a 32-way search over the floats in order (their ordered keys); limit ≤ 0: m (no
  /// such z).
  __device__ float value_below(float limit) const {
    if (!(limit > 0.0f)) return m;
    std::uint32_t lo = ordered(-INFINITY), hi = ordered(m);  // pos(lo) = +inf ≥ limit > 0 = pos(hi)
    const unsigned lane = threadIdx.x % 32;
    if (hi - lo > 32) {  // probes w0 … w0 + 31 within (lo, hi), ascending in z, so pos(probe) < limit for a suffix
      const std::uint32_t centre = ordered(m - limit / kBinsPerNat);
      const std::uint32_t w0 = max(lo + 1, min(centre >= 16 ? centre - 16 : 0u, hi - 32));
      const unsigned below = __ballot_sync(~0u, pos(from_ordered(w0 + lane)) < limit);
      if (below == ~0u) hi = w0;
      else if (below == 0) lo = w0 + 31;
      else return from_ordered(w0 + unsigned(__ffs(below)) - 2);  // the last probe with pos ≥ limit
    }
    while (hi - lo > 1) {  // lane l probes lo + (l + 1)·step; lane 31 probes hi
      const std::uint32_t step = (hi - lo + 31) / 32;
      const auto probe = std::uint32_t(min(std::uint64_t(lo) + std::uint64_t(step) * (lane + 1), std::uint64_t(hi)));
      const int first = __ffs(__ballot_sync(~0u, pos(from_ordered(probe)) < limit)) - 1;  // the first probe below limit
      const std::uint32_t below = __shfl_sync(~0u, probe, first), above = __shfl_sync(~0u, probe, first > 0 ? first - 1 : 0);
      lo = first > 0 ? above : lo, hi = below;
    }
    return from_ordered(lo);
  }
  __device__ float entropy_term(float x) const {  // −p·clip(l, −100, 0), summed in float per thread
    const float l = x - lse;
    return -__expf(l) * fmaxf(l, float(kEntropyClip));
  }
  /// Top-k keys have no index bits: a set of one value is final.
  __device__ unsigned long long key(float x, std::ptrdiff_t i) const { return sort_key(x, top_k ? 0u : std::uint32_t(i)); }
};

/// combine by each warp of a block on one row: lane l merges the chunks c ≡ l (mod 32) (the loads
/// in parallel, not a chain), then a butterfly; lane 0's state (merges are not bitwise symmetric) is
/// every thread's, in every kernel that combines the row so.
__device__ Partial warp_combine(const Partial* p, int chunks) {
  Partial r{-INFINITY, 0.0f, 0.0f, 0, 0};
  for (int c = int(threadIdx.x % 32); c < chunks; c += 32) {
    const Partial q = p[c];
    merge_state(r.m, r.s, r.a, q.m, q.s, q.a);
    r.finite += q.finite, r.bad |= q.bad;
  }
  for (int offset = 16; offset > 0; offset >>= 1) {
    merge_state(r.m, r.s, r.a, __shfl_xor_sync(~0u, r.m, offset), __shfl_xor_sync(~0u, r.s, offset),
                __shfl_xor_sync(~0u, r.a, offset));
    r.finite += __shfl_xor_sync(~0u, r.finite, offset);
    r.bad |= __shfl_xor_sync(~0u, r.bad, offset);
  }
  return {__shfl_sync(~0u, r.m, 0), __shfl_sync(~0u, r.s, 0), __shfl_sync(~0u, r.a, 0), r.finite, r.bad};
}

/// A row's frame (valid: not to be reported), its level-1 crossing bin (−1: the target was not
/// reached even with every token) and the weight of the bins ahead of it (exact integers), from
/// histogram_kernel: the one frame of the row in the later kernels.
struct Crossing {
  RowFrame frame;
  int bin;
  double before;
  double entropy_ahead;  // top-p: of the tokens in the bins ahead (entropy_ahead); top-k: 0
  float ahead_below;     // bin(z) < bin ⟺ z > ahead_below (RowFrame::value_below)
  float crossing_below;  // bin(z) ≤ bin ⟺ z > crossing_below, for finite z
  bool valid;
};

/// The frame of the row whose chunks' partials are `partials` (by whole warps); false for a row to
/// report (a non-finite logit other than −inf, or no finite one).
/// keep: top-p, log(V/(1 − top_p)) (the host's).
__device__ bool row_frame(const Partial* partials, int chunks, bool top_k, double target, double keep, RowFrame& f) {
  const Partial p = warp_combine(partials, chunks);
  if (p.bad || p.finite == 0) return false;
  f.m = p.m, f.lse = p.m + __logf(p.s), f.top_k = top_k;
  f.target = top_k ? fmin(target, double(p.finite)) : target * kFixedScale;
  // Top-p: a token with p ≤ (1 − top_p)/V is never kept, so only d = m − z < log(V/(1 − top_p)) + m − lse
  // enters level 1 (histogram_kernel retries with every token when rounding leaves the target unreached).
  f.pos_limit = top_k ? FLT_MAX : float(keep + double(f.m - f.lse)) * kBinsPerNat;
  return true;
}

/// 64-bit bin weights in fixed point from native 32-bit shared atomics: a weight's low 12 bits go
/// to the low word, the rest to the high word; the bin holds high·2^12 + low, exact, so independent
/// of the order. The high words stay below 2^32 (a bin's weight is < 2^44: Σp ≤ 1, and 2^43 per unit
/// of p). add (add_one: a weight of 1): at most kLevel1Chunk tokens per clear (each low word then
/// stays below 2^32), by atomics that return nothing (no wait on shared memory); add_any: any number
/// of tokens, the low word's wrap (seen in the value its atomic returns) carried into the high word.
struct BinWeights {
  unsigned high[kBins], low[kBins];
  __device__ void clear(int n_bins) {
    for (int b = threadIdx.x; b < n_bins; b += blockDim.x) high[b] = 0, low[b] = 0;
  }
  __device__ void add(int b, unsigned long long w) {
    atomicAdd(&low[b], unsigned(w) & 0xfffu);
    atomicAdd(&high[b], unsigned(w >> 12));
  }
  __device__ void add_one(int b) { atomicAdd(&low[b], 1u); }  // add(b, 1): a top-k token
  __device__ void set(int b, unsigned long long w) { high[b] = unsigned(w >> 12), low[b] = unsigned(w) & 0xfffu; }
  __device__ void add_any(int b, unsigned long long w) {
    const unsigned w_low = unsigned(w) & 0xfffu, old = atomicAdd(&low[b], w_low);
    const unsigned carry = unsigned(w >> 12) + (old + w_low < old ? 1u << 20 : 0u);  // 2^32 = 2^20·2^12
    if (carry != 0) atomicAdd(&high[b], carry);
  }
  __device__ unsigned long long operator[](int b) const {
    return (static_cast<unsigned long long>(high[b]) << 12) + low[b];
  }
};

/// The first of `n_bins` bins (weights w(b): exact integers in double, so any summation order gives
/// the same result) where the running weight from `before` reaches `target`, by the whole block; −1
/// if none. `before` gains the weight of the bins ahead of it (unchanged when none).
template <class W> __device__ int find_crossing(int n_bins, const W& w, double target, double& before) {
  __shared__ double totals[32];
  __shared__ double ahead;
  __shared__ int found;
  double running = before;
  for (int base = 0; base < n_bins; base += 2 * int(blockDim.x)) {
    if (threadIdx.x == 0) found = -1;  // ordered before the writes below by block_scan2's barriers
    const int b0 = base + 2 * int(threadIdx.x), b1 = b0 + 1;
    const double w0 = b0 < n_bins ? w(b0) : 0.0, w1 = b1 < n_bins ? w(b1) : 0.0;
    double e0, e1;
    block_scan2(w0, w1, e0, e1, totals);
    if (running + e0 < target && target <= running + e0 + w0) found = b0, ahead = e0;
    if (running + e1 < target && target <= running + e1 + w1) found = b1, ahead = e1;
    __syncthreads();
    const int bin = found;
    double group = 0;  // totals[0 … warps − 1]: the warps' totals
    for (int k = 0; k < int(blockDim.x / 32); ++k) group += totals[k];
    running += bin >= 0 ? ahead : group;
    __syncthreads();  // found, ahead and totals are rewritten next
    if (bin >= 0) {
      before = running;
      return bin;
    }
  }
  return -1;
}

/// Loads in flight per thread in histogram_kernel's rare pass over a whole row (the default would
/// double its registers).
constexpr int kRareLoads = 1;

/// A top-p token's moment p·frac in fixed point (2^31 per unit) from its weight p·2^43 before rounding.
__device__ __forceinline__ unsigned moment(float scaled_p, float frac) {
  return __float2uint_rn(scaled_p * frac * float(kMomentScale / kFixedScale));
}

/// Bins per thread of histogram_kernel's last block (one group each) and per lane of its warp scan.
constexpr int kGroupBins = kBins / kPartialThreads;
constexpr int kLaneGroups = kPartialThreads / 32;
static_assert(kGroupBins == 4, "histogram_kernel loads a group's bins as 16-byte vectors");

/// A bin's share of the moment of the entropy ahead (entropy_ahead): b·w + 2^12·u (w = Σ p·2^43,
/// u = Σ p·frac·2^31), an exact integer: a row's sum stays below 2^11·2^44 + 2^44 < 2^56.
__device__ __forceinline__ unsigned long long bin_moment(int b, unsigned long long w, unsigned u) {
  return w * unsigned(b) + (static_cast<unsigned long long>(u) << 12);
}

/// Level 1's crossing bin as find_crossing's from `before` = 0 (−1: none) with the weight ahead of
/// it and the moment Σ bin_moment over the bins ahead of it.
struct BinScan {
  int bin;
  unsigned long long before, moment;
};
/// Per group of kGroupBins bins (thread t's: the bins kGroupBins·t …): Σ w and Σ bin_moment.
struct BinGroups {
  unsigned long long weight[kPartialThreads], moment[kPartialThreads];
};

/// The crossing bin of the row's kBins bins (weights `hist`, moments `moments`, group sums `groups`)
/// by one warp: the first bin b with Σ_{b′<b} w(b′) < target ≤ Σ_{b′≤b} w(b′), find_crossing's
/// definition. Exact integers (a row's weight < 2^44), so any order of summation gives the same.
/// Lane l takes the bins 64·l … 64·l + 63 (the sums of kLaneGroups groups): a scan over the lanes
/// finds the lane whose bins reach the target, then a scan of two of its bins per lane the bin.
__device__ BinScan warp_crossing(const BinWeights& hist, const unsigned* moments, const BinGroups& groups, double target) {
  const int lane = int(threadIdx.x % 32);
  const auto reaches = [&](unsigned long long ahead, unsigned long long through) {  // exact in double (< 2^53)
    return double(ahead) < target && target <= double(through);
  };
  const auto inclusive_scan = [&](unsigned long long v) {
    for (int offset = 1; offset < 32; offset <<= 1) {
      const unsigned long long up = __shfl_up_sync(~0u, v, offset);
      if (lane >= offset) v += up;
    }
    return v;
  };
  unsigned long long w = 0, moment = 0;
  for (int j = 0; j < kLaneGroups; ++j) {
    const int g = lane * kLaneGroups + (j + lane) % kLaneGroups;  // rotated: no bank conflicts
    w += groups.weight[g], moment += groups.moment[g];
  }
  const unsigned long long through = inclusive_scan(w);
  const int at = __ffs(__ballot_sync(~0u, reaches(through - w, through))) - 1;
  if (at < 0) return {-1, 0, 0};
  if (lane >= at) moment = 0;  // the lanes ahead of lane `at` are wholly ahead of the crossing
  const int b0 = at * (kBins / 32) + 2 * lane, b1 = b0 + 1;
  const unsigned long long w0 = hist[b0], w1 = hist[b1];
  const unsigned long long ahead = __shfl_sync(~0u, through - w, at) + inclusive_scan(w0 + w1) - (w0 + w1);
  const bool first = reaches(ahead, ahead + w0), second = reaches(ahead + w0, ahead + w0 + w1);
  const int found = __ffs(__ballot_sync(~0u, first || second)) - 1;  // one lane: lane `at`'s bins reach the target
  const int bin = __shfl_sync(~0u, first ? b0 : b1, found);
  const unsigned long long before = __shfl_sync(~0u, first ? ahead : ahead + w0, found);
  if (b0 < bin) moment += bin_moment(b0, w0, moments[b0]);
  if (b1 < bin) moment += bin_moment(b1, w1, moments[b1]);
  for (int offset = 16; offset > 0; offset >>= 1) moment += __shfl_xor_sync(~0u, moment, offset);
  return {bin, before, moment};
}

/// Top-p: the entropy of the tokens in the bins ahead of the crossing (all kept; §5) from their
/// weight W = Σ p·2^43 and moment M = Σ bin_moment: −p·l = p·(lse − m) + p·d with d = m − z =
/// (b + frac)/64, so H = W/2^43·(lse − m) + M/(2^43·64). No clip: there d < 32 and lse − m ≤ log V.
__device__ double entropy_ahead(const BinScan& scan, const RowFrame& f) {
  return double(scan.before) / kFixedScale * (double(f.lse) - double(f.m)) +
         double(scan.moment) / (kFixedScale * double(kBinsPerNat));
}

/// Level 1 of the nucleus over pos = 64·(m − z), per chunk of a row [rows × chunks]: the chunk's
/// histogram (and, top-p, its moments) in shared memory added into the row's with integer atomics
/// (exact in any order). The block finishing the row's last chunk (its chunks' atomics published by
/// fences before the count) takes the row's bins and moments into shared memory, zeroing them behind;
/// warp 0 finds the crossing bin, the weight ahead of it and, top-p, the entropy of the tokens ahead
/// of it (warp_crossing; if the target is not reached within pos_limit, over the block's own
/// histogram of every token of the row), then warps 1 and 2 the bins' bounds by value.
template <class In, int VEC>
__global__ void __launch_bounds__(kPartialThreads, kLevel1BlocksPerSm)
histogram_kernel(const In* __restrict__ z, std::ptrdiff_t stride, std::ptrdiff_t vocab, std::ptrdiff_t chunk,
                 const Partial* __restrict__ partials, int partial_chunks, bool top_k, double target, double keep,
                 Level1 level1) {
  __shared__ BinWeights hist;
  __shared__ unsigned moments[kBins];
  __shared__ BinGroups groups;
  __shared__ BinScan scan;
  __shared__ bool last;
  const std::ptrdiff_t row = blockIdx.x, begin = std::ptrdiff_t(blockIdx.y) * chunk;
  const std::ptrdiff_t end = begin + chunk < vocab ? begin + chunk : vocab;
  unsigned long long* bins = level1.bins + row * kBins;
  unsigned* row_moments = level1.moments + row * kBins;
  RowFrame f{};
  const bool valid = row_frame(partials + row * partial_chunks, partial_chunks, top_k, target, keep, f);
  if (blockIdx.y == 0 && threadIdx.x == 0) level1.crossing[row].frame = f, level1.crossing[row].valid = valid;
  const auto clear = [&] {
    hist.clear(kBins);
    for (int b = threadIdx.x; b < kBins; b += blockDim.x) moments[b] = 0;
    __syncthreads();
  };
  // A top-p token at pos: its weight into its bin (add_any: past kLevel1Chunk tokens) and its moment.
  const auto add_mass = [&](float pos, float x, bool any_count) {
    const BinPosition at(pos);
    const float w = f.scaled_p(x);
    if (any_count) hist.add_any(at.bin, __float2ull_rn(w));
    else hist.add(at.bin, __float2ull_rn(w));
    atomicAdd(&moments[at.bin], moment(w, at.frac));
  };
  if (valid) {
    clear();
    const In* zc = z + row * stride + begin;
    if (f.top_k)
      for_each_token<In, VEC>(zc, end - begin, [&](float x, std::ptrdiff_t) {
        if (f.pos(x) < f.pos_limit) hist.add_one(f.bin(x));
      });
    else
      for_each_token<In, VEC>(zc, end - begin, [&](float x, std::ptrdiff_t) {
        if (const float pos = f.pos(x); pos < f.pos_limit) add_mass(pos, x, false);
      });
    __syncthreads();
    for (int b = threadIdx.x; b < kBins; b += kPartialThreads) {
      if (const unsigned long long w = hist[b]; w != 0) atomicAdd(&bins[b], w);
      if (moments[b] != 0) atomicAdd(&row_moments[b], moments[b]);
    }
  }
  __threadfence();
  __syncthreads();
  if (threadIdx.x == 0) last = atomicAdd(&level1.done[row], 1u) == gridDim.y - 1;
  __syncthreads();
  if (!last) return;
  __threadfence();
  if (valid) {
    // The thread's group of bins g0 … g0 + 3 in w, u: their sums into `groups`, then warp 0's scan.
    const int g0 = kGroupBins * int(threadIdx.x);
    unsigned long long w[kGroupBins];
    unsigned u[kGroupBins];
    const auto scan_row = [&] {
      unsigned long long group_weight = 0, group_moment = 0;
#pragma unroll
      for (int k = 0; k < kGroupBins; ++k) group_weight += w[k], group_moment += bin_moment(g0 + k, w[k], u[k]);
      groups.weight[threadIdx.x] = group_weight, groups.moment[threadIdx.x] = group_moment;
      __syncthreads();
      if (threadIdx.x < 32) {
        const BinScan found = warp_crossing(hist, moments, groups, f.target);
        if (threadIdx.x == 0) scan = found;
      }
      __syncthreads();
    };
    auto* bins_group = reinterpret_cast<ulonglong2*>(bins + g0);  // 16-byte aligned: kGroupBins = 4
    auto* moments_group = reinterpret_cast<uint4*>(row_moments + g0);
    const ulonglong2 w01 = __ldcg(bins_group), w23 = __ldcg(bins_group + 1);
    const uint4 u4 = __ldcg(moments_group);
    bins_group[0] = bins_group[1] = make_ulonglong2(0, 0), moments_group[0] = make_uint4(0, 0, 0, 0);
    w[0] = w01.x, w[1] = w01.y, w[2] = w23.x, w[3] = w23.y;
    u[0] = u4.x, u[1] = u4.y, u[2] = u4.z, u[3] = u4.w;
#pragma unroll
    for (int k = 0; k < kGroupBins; ++k) hist.set(g0 + k, w[k]), moments[g0 + k] = u[k];
    scan_row();
    if (scan.bin < 0) {  // top-p: rounding left the target past the weight within pos_limit; every token
      clear();
      for_each_token<In, VEC, kRareLoads>(z + row * stride, vocab, [&](float x, std::ptrdiff_t) {
        if (!(x > -INFINITY)) return;
        if (f.top_k) hist.add_any(f.bin(x), 1);
        else add_mass(f.pos(x), x, true);
      });
      __syncthreads();
#pragma unroll
      for (int k = 0; k < kGroupBins; ++k) w[k] = hist[g0 + k], u[k] = moments[g0 + k];
      scan_row();
    }
  }
  const int crossing = valid ? scan.bin : -1;
  Crossing& c = level1.crossing[row];
  const int warp = threadIdx.x / 32;
  if (crossing >= 0 && (warp == 1 || warp == 2)) {  // bin(z) < crossing + warp − 1 ⟺ z > below (gather_kernel)
    const int limit = crossing + warp - 1;
    const float below = limit == kBins ? -INFINITY : f.value_below(float(limit));  // the last bin: every finite z
    if (threadIdx.x % 32 == 0) *(warp == 1 ? &c.ahead_below : &c.crossing_below) = below;
  }
  if (threadIdx.x == 0) {
    c.bin = crossing, c.before = crossing >= 0 ? double(scan.before) : 0.0;
    c.entropy_ahead = crossing >= 0 && !f.top_k ? entropy_ahead(scan, f) : 0.0;
    level1.done[row] = 0;
  }
}

/// One row's LSE, nucleus and partial entropy (the row of blockIdx.x), by the whole block, from
/// histogram_kernel's crossing bin and the candidate keys and chunk sums of the row's
/// gather_kernel blocks (written by other blocks: read past L1), sorted in `keys` (kCandidates); the
/// rare paths (a crossing bin over kCandidates tokens, no crossing bin) pass over the row in the block.
template <class In, int VEC>
__device__ void nucleus_row(const In* __restrict__ z, std::ptrdiff_t stride, std::ptrdiff_t vocab, const Level1& level1,
                            unsigned long long* keys, RowStat* stats, float* entropies, Report report) {
  __shared__ BinWeights hist;
  __shared__ int hist_count[kBins];
  __shared__ double totals[2 * 32];
  __shared__ double last_weight;
  __shared__ int last_digit, count;
  __shared__ Ahead chunks_ahead;  // gather_kernel's tokens ahead of the crossing set when it is used
  const std::ptrdiff_t row = blockIdx.x;
  const In* zr = z + row * stride;
  __shared__ Crossing level;  // read in the loops from shared memory (the row's registers are few)
  if (threadIdx.x == 0) level = level1.crossing[row];
  __syncthreads();
  const RowFrame& f = level.frame;
  if (!level.valid) {
    if (threadIdx.x == 0) report_index(report, row);
    return;
  }
  double before = level.before;
  int crossing_bin = level.bin;
  int n = int(min(__ldcg(&level1.count[row]), unsigned(kCandidates) + 1u));  // > kCandidates: overflowed
  if (threadIdx.x == 0) chunks_ahead = {0.0, 0};
  __syncthreads();
  if (threadIdx.x == 0) level1.count[row] = 0;  // read by every thread
  const auto bin_weight = [&](int b) { return double(hist[b]); };
  // The digit of `hist` (and hist_count) where the running weight from `before` reaches the target,
  // `before` gaining the weight ahead of it; when rounding leaves the target just past the set's
  // weight, its last digit.
  const auto crossing_digit = [&](int n_digits) {
    int found = find_crossing(n_digits, bin_weight, f.target, before);
    if (found < 0) {
      if (threadIdx.x == 0) {
        double w = 0;
        int last_d = 0;
        for (int d = 0; d < n_digits; ++d)
          if (hist_count[d] > 0) last_d = d;
        for (int d = 0; d < last_d; ++d) w += bin_weight(d);
        last_digit = last_d, last_weight = w;
      }
      __syncthreads();
      found = last_digit;
      before += last_weight;
    }
    return found;
  };

  float cut = -INFINITY;
  int last_tie = -1;
  bool full_pass = true;  // the entropy needs a pass over the row (the rare paths)
  float h_ahead = 0;      // this thread's share of the entropy of the tokens ahead of the set
  int n_ahead = 0;
  if (crossing_bin >= 0) {
    // The crossing set: tokens in the crossing bin whose key starts with `prefix` (shift bits left);
    // tokens ahead of it (earlier bins, smaller prefixes) are all kept.
    int shift = 64;
    unsigned long long prefix = 0;
    const auto gather = [&] {
      if (threadIdx.x == 0) count = 0;
      __syncthreads();
      h_ahead = 0, n_ahead = 0;
      for_each_token<In, VEC, kRareLoads>(zr, vocab, [&](float x, std::ptrdiff_t i) {
        if (!(x > -INFINITY)) return;
        const int b = f.bin(x);
        if (b > crossing_bin) return;
        const unsigned long long k = f.key(x, i);
        if (b < crossing_bin || (shift < 64 && (k >> shift) < prefix)) {
          h_ahead += f.entropy_term(x), ++n_ahead;
        } else if (shift == 64 || (k >> shift) == prefix) {
          const int slot = atomicAdd(&count, 1);
          if (slot < kCandidates) keys[slot] = k;
        }
      });
      __syncthreads();
      return count;
    };
    if (n <= kCandidates) {  // gather_kernel's candidates and chunk sums
      for (int j = threadIdx.x; j < n; j += blockDim.x) keys[j] = __ldcg(&level1.candidates[row * kCandidates + j]);
      if (threadIdx.x < 32) {  // warp 0, in a fixed order
        double h = 0;
        int n_kept = 0;
        for (int c = threadIdx.x; c < level1.chunks; c += 32) {
          const Ahead& a = level1.ahead[row * level1.chunks + c];
          h += __ldcg(&a.h), n_kept += __ldcg(&a.n);
        }
        for (int offset = 16; offset > 0; offset >>= 1)
          h += __shfl_xor_sync(~0u, h, offset), n_kept += __shfl_xor_sync(~0u, n_kept, offset);
        if (threadIdx.x == 0) chunks_ahead = {h + level.entropy_ahead, n_kept};
      }
      __syncthreads();
    }
    bool single_value = false;
    // Radix refinement on the keys, 11 bits at a time, while the set overflows the buffer (top-k
    // keys have no index bits: a set of one value is final).
    while (n > kCandidates) {
      const int bits = shift < 11 ? shift : 11;
      const int digit_shift = shift - bits;
      hist.clear(1 << bits);
      for (int d = threadIdx.x; d < (1 << bits); d += blockDim.x) hist_count[d] = 0;
      __syncthreads();
      for_each_token<In, VEC, kRareLoads>(zr, vocab, [&](float x, std::ptrdiff_t i) {
        if (!(x > -INFINITY) || f.bin(x) != crossing_bin) return;
        const unsigned long long k = f.key(x, i);
        if (shift == 64 || (k >> shift) == prefix) {
          const int digit = int((k >> digit_shift) & ((1u << bits) - 1));
          hist.add_any(digit, f.weight(x));
          atomicAdd(&hist_count[digit], 1);
        }
      });
      __syncthreads();
      const int found = crossing_digit(1 << bits);
      prefix = (shift == 64 ? 0ull : prefix << bits) | unsigned(found);
      n = hist_count[found];
      shift = digit_shift;
      __syncthreads();
      if (f.top_k && shift <= 32) {
        single_value = n > kCandidates;
        if (single_value) break;
      }
      if (n <= kCandidates) n = gather();
    }
    if (!single_value && n > 32) {
      // Before the sort, the set narrowed to one of kSubBins sub-bins of pos in the crossing bin
      // (ascending with the keys), found like a digit; the sub-bins ahead of it are all kept. (The
      // last bin holds every pos ≥ kBins − 1, most of it in its last sub-bin.)
      const float start = float(crossing_bin);
      const auto sub_bin = [&](unsigned long long k) {
        return int(fminf((f.pos(key_value(k)) - start) * float(kSubBins), float(kSubBins - 1)));  // pos may be +inf
      };
      __syncthreads();  // count may still be read (gather)
      if (threadIdx.x == 0) count = 0;
      hist.clear(kSubBins);
      for (int d = threadIdx.x; d < kSubBins; d += blockDim.x) hist_count[d] = 0;
      __syncthreads();
      for (int j = threadIdx.x; j < n; j += blockDim.x) {
        const int d = sub_bin(keys[j]);
        hist.add(d, f.weight(key_value(keys[j])));  // ≤ kCandidates tokens
        atomicAdd(&hist_count[d], 1);
      }
      __syncthreads();
      const int found = crossing_digit(kSubBins);
      // The crossing sub-bin's keys compacted in place, blockDim.x keys at a time: a round writes
      // below the keys read so far.
      for (int base = 0; base < n; base += blockDim.x) {
        const int j = base + int(threadIdx.x);
        const unsigned long long k = j < n ? keys[j] : 0ull;
        __syncthreads();
        if (j < n) {
          const int d = sub_bin(k);
          if (d < found) h_ahead += f.entropy_term(key_value(k)), ++n_ahead;
          else if (d == found) keys[atomicAdd(&count, 1)] = k;
        }
        __syncthreads();
      }
      n = count;
    }
    if (single_value) {  // top-k: more than kCandidates tokens share the k-th value; all are kept
      cut = key_value(prefix << shift);
      last_tie = int(vocab - 1);
    } else {
      int n_pad = 1;
      while (n_pad < n) n_pad <<= 1;
      for (int j = n + threadIdx.x; j < n_pad; j += blockDim.x) keys[j] = ~0ull;
      __syncthreads();
      for (int k = 2; k <= n_pad; k <<= 1)  // bitonic sort, ascending
        for (int j = k >> 1; j > 0; j >>= 1) {
          for (int i = threadIdx.x; i < n_pad; i += blockDim.x) {
            const int partner = i ^ j;
            if (partner > i) {
              const unsigned long long a = keys[i], b = keys[partner];
              if ((a > b) == ((i & k) == 0)) keys[i] = b, keys[partner] = a;
            }
          }
          __syncthreads();
        }
      int last;
      if (f.top_k) {
        last = min(max(int(f.target - before) - 1, 0), n - 1);  // the k-th token overall; its ties are kept
        last_tie = int(vocab - 1);
      } else {  // kept while the mass before the token is < top_p: through the first key reaching it
        double mass = before;  // < target (the crossing bin's or digit's), so the set's first key is kept
        last = find_crossing(n, [&](int j) { return double(f.weight(key_value(keys[j]))); }, f.target, mass);
        if (last < 0) last = n - 1;  // rounding left the target past the set's weight: all of it
        last_tie = int(keys[last] & 0xffffffffu);
      }
      cut = key_value(keys[last]);
      // The set's kept tokens: a prefix of the sorted keys (top-k: every value ≥ the cut).
      for (int j = threadIdx.x; j < n; j += blockDim.x)
        if (f.top_k ? key_value(keys[j]) >= cut : j <= last) h_ahead += f.entropy_term(key_value(keys[j])), ++n_ahead;
      full_pass = false;
    }
  }
  if (full_pass) {  // every finite token kept, or a top-k tie larger than the buffer
    h_ahead = 0, n_ahead = 0;
    for_each_token<In, VEC, kRareLoads>(zr, vocab, [&](float x, std::ptrdiff_t i) {
      if (x > cut || (x == cut && i <= last_tie)) h_ahead += f.entropy_term(x), ++n_ahead;
    });
  }
  double sums[2] = {double(h_ahead), double(n_ahead)};  // entropy, kept count (exact in double)
  block_reduce(sums, totals, Sum{});
  if (threadIdx.x == 0) {
    const float entropy = float(sums[0] + chunks_ahead.h);
    stats[row] = {f.lse, cut, entropy, last_tie, int(sums[1]) + chunks_ahead.n};
    entropies[row] = entropy;
  }
}

/// Per chunk of a row [rows × chunks]: the crossing bin's tokens appended to the row's candidate
/// keys (staged in shared memory, then one range per block; in any order: the sort orders them;
/// those past kCandidates only counted), and the count of the tokens ahead of it (all kept) and,
/// top-k, their entropy terms (top-p: histogram_kernel's entropy_ahead), in a fixed order. The block
/// finishing the row's last chunk (its chunks' writes published by fences before the count, as in
/// the CUDA programming guide's threadfence example) then runs nucleus_row, and, when tail_kernel
/// does not select the pool (Pools::in_tail), the block finishing the sequence's last row lists it.
template <class In, int VEC>
__global__ void __launch_bounds__(kPartialThreads, kLevel1BlocksPerSm)
gather_kernel(const In* __restrict__ z, std::ptrdiff_t stride, std::ptrdiff_t vocab, std::ptrdiff_t chunk, Level1 level1,
              RowStat* stats, float* entropies, Report report, NbceParams params, Pools pools) {
  __shared__ unsigned long long keys[kCandidates];  // the chunk's staged keys, then the row's candidates
  __shared__ double h_shared[32];
  __shared__ int n_shared[32];
  __shared__ unsigned n_staged, first;
  __shared__ bool last_chunk, last_row;
  const std::ptrdiff_t row = blockIdx.x, begin = std::ptrdiff_t(blockIdx.y) * chunk;
  const std::ptrdiff_t end = begin + chunk < vocab ? begin + chunk : vocab;
  const Crossing level = level1.crossing[row];
  const RowFrame& f = level.frame;
  const int crossing = level.bin;
  if (level.valid && crossing >= 0) {  // else nothing to gather: nucleus_row reports the row or keeps every token
    if (threadIdx.x == 0) n_staged = 0;
    __syncthreads();
    float h_ahead = 0;
    int n_ahead = 0;
    // The bins by value (one comparison each): bin < crossing ⟺ z > ahead_below; bin == crossing
    // ⟺ ahead_below ≥ z > crossing_below.
    const float ahead_below = level.ahead_below, crossing_below = level.crossing_below;
    for_each_token<In, VEC>(z + row * stride + begin, end - begin, [&](float x, std::ptrdiff_t i) {
      const bool ahead = x > ahead_below;
      n_ahead += ahead ? 1 : 0;
      if (f.top_k && ahead) h_ahead += f.entropy_term(x);  // top-p: histogram_kernel's entropy_ahead
      if (!ahead && x > crossing_below) {
        const unsigned slot = atomicAdd(&n_staged, 1u);
        if (slot < unsigned(kCandidates)) keys[slot] = f.key(x, begin + i);
      }
    });
    double h[1] = {double(h_ahead)};
    int n[1] = {n_ahead};
    block_reduce(h, h_shared, Sum{});  // its barriers publish n_staged and keys
    block_reduce(n, n_shared, Sum{});
    if (threadIdx.x == 0) {
      level1.ahead[row * gridDim.y + blockIdx.y] = {h[0], n[0]};
      first = n_staged > 0 ? atomicAdd(&level1.count[row], n_staged) : 0u;
    }
    __syncthreads();
    unsigned long long* candidates = level1.candidates + row * kCandidates;
    const unsigned staged = min(n_staged, unsigned(kCandidates));
    for (unsigned j = threadIdx.x; j < staged && first + j < unsigned(kCandidates); j += kPartialThreads)
      candidates[first + j] = keys[j];
  }
  __threadfence();
  __syncthreads();  // also: every read of the staged keys is done before nucleus_row overwrites them
  if (threadIdx.x == 0) last_chunk = atomicAdd(&level1.done[row], 1u) == gridDim.y - 1;
  __syncthreads();
  if (!last_chunk) return;
  __threadfence();
  nucleus_row<In, VEC>(z, stride, vocab, level1, keys, stats, entropies, report);
  if (threadIdx.x == 0) level1.done[row] = 0;
  if (pools.in_tail) return;  // tail_kernel selects the pool
  const std::ptrdiff_t b = row / pools.rows;
  if (threadIdx.x == 0) {  // thread 0 wrote the row's statistics (or reported the row)
    __threadfence();
    last_row = atomicAdd(&pools.done[b], 1u) == unsigned(pools.rows - 1);
  }
  __syncthreads();
  if (!last_row) return;
  __threadfence();
  publish_pool(stats + b * pools.rows, b, params, pools);
  if (threadIdx.x == 0) pools.done[b] = 0;
}

/// §2, §4 over the tokens [begin, end) of a sequence's rows zb, by the whole block: the `pooled_rows`
/// entries of `pool` (stat(r): row r's RowStat, its LSE and nucleus) pooled and merged with row 0 by
/// branch (input(r, i, x): row r's VEC inputs at i); each thread's VEC tokens at i go to keep(i, y).
/// Returns the chunk's online (max, Σ e^{y − max}) (every thread).
template <class In, int VEC, class Stat, class Input, class Keep>
__device__ float2 merge_chunk(std::ptrdiff_t begin, std::ptrdiff_t end, const PoolEntry* pool, int pooled_rows,
                              Stat stat, const NbceParams& params, Input input, Keep keep) {
  __shared__ float shared_m[32], shared_s[32];
  const float beta = float(params.beta), threshold = float(params.finite_threshold);
  const bool max_pooling = params.pooling == NbceParams::Max;
  float m = -INFINITY, s = 0;
  float l0[VEC], pooled[VEC];
  const auto truncated = [&](int r, std::ptrdiff_t i, const float (&x)[VEC], float (&l)[VEC]) {
    const RowStat sr = stat(r);
#pragma unroll
    for (int k = 0; k < VEC; ++k)
      l[k] = x[k] > sr.cut || (x[k] == sr.cut && i + k <= sr.last_tie) ? x[k] - sr.lse : -INFINITY;
  };
  for (std::ptrdiff_t i = begin + std::ptrdiff_t(threadIdx.x) * VEC; i < end; i += kMergeThreads * VEC) {
    float x[VEC], l[VEC];
#pragma unroll
    for (int k = 0; k < VEC; ++k) pooled[k] = max_pooling ? -INFINITY : 0.0f;
    for (int j = 0; j < pooled_rows; ++j) {
      const PoolEntry e = pool[j];
      input(e.row, i, x);
      truncated(e.row, i, x, l);
#pragma unroll
      for (int k = 0; k < VEC; ++k)  // −inf arithmetic of §3: intersection for sums, union for max
        pooled[k] = max_pooling ? fmaxf(pooled[k], l[k]) : (l[k] > -INFINITY ? pooled[k] + e.weight * l[k] : -INFINITY);
    }
    input(0, i, x);
    truncated(0, i, x, l0);
    float y[VEC];
#pragma unroll
    for (int k = 0; k < VEC; ++k) {  // §4: by branch, never by multiplying masks
      y[k] = !(pooled[k] > -INFINITY) ? pooled[k] : l0[k] > threshold ? (1.0f + beta) * pooled[k] - beta * l0[k] : pooled[k];
      if (y[k] > -INFINITY) {
        if (y[k] > m) s = s * __expf(m - y[k]), m = y[k];
        s += __expf(y[k] - m);
      }
    }
    keep(i, y);
  }
  block_merge_softmax(m, s, shared_m, shared_s);
  return make_float2(m, s);
}

/// The merged row's (max, LSE) from its chunks' (max, Σ) (written by other blocks: read past L1),
/// combined in one fixed order, so that every block of the sequence gets the same; by the whole block.
__device__ float2 merged_normaliser(const float2* parts, int chunks) {
  __shared__ float shared_m[32], shared_s[32];
  float m = -INFINITY, s = 0;
  for (int c = threadIdx.x; c < chunks; c += blockDim.x) {
    const float2 part = __ldcg(parts + c);
    merge_softmax(m, s, part.x, part.y);
  }
  block_merge_softmax(m, s, shared_m, shared_s);
  return make_float2(m, m + __logf(s));
}

/// log_softmax of a merged token; an empty pooled support (max −inf) stays −inf.
__device__ __forceinline__ float normalised(float y, float2 normaliser) {
  return normaliser.x == -INFINITY ? -INFINITY : y - normaliser.y;
}

/// Stage 3's second kernel [batch × chunks], a programmatic dependent of tail_kernel: log_softmax of
/// the merged row in place from its chunks' (max, Σ), W floats per access (16 bytes when the rows
/// allow); block (b, 0) then records the selection as previous[b] (§6) where tail_kernel made it
/// (`previous` non-null), after every block of tail_kernel has read the old one.
template <int W>
__global__ void __launch_bounds__(kMergeThreads)
normalise_kernel(std::ptrdiff_t vocab, std::ptrdiff_t chunk, float* out, std::ptrdiff_t out_stride,
                 const float2* __restrict__ merge_partials, const std::int32_t* selected, std::int32_t* previous) {
  const std::ptrdiff_t b = blockIdx.x, begin = std::ptrdiff_t(blockIdx.y) * chunk;
  const std::ptrdiff_t end = begin + chunk < vocab ? begin + chunk : vocab;
  wait_for_previous_grid();
  if (previous != nullptr && blockIdx.y == 0 && threadIdx.x == 0) previous[b] = selected[b];
  const float2 normaliser = merged_normaliser(merge_partials + b * gridDim.y, int(gridDim.y));
  float* outb = out + b * out_stride;
  for (std::ptrdiff_t i = begin + std::ptrdiff_t(threadIdx.x) * W; i < end; i += kMergeThreads * W) {
    float y[W];
    Loader<float, W>::load(outb, i, y);
#pragma unroll
    for (int k = 0; k < W; ++k) y[k] = normalised(y[k], normaliser);
    store<W>(outb, i, y);
  }
}

/// Where tail_kernel's pool comes from: the list of gather_kernel or finalise_kernel (Listed), or
/// selected by every block itself from its sequence's rows' entropies: those of the nucleus kernels
/// (FromStats, with truncation) or derived from the partials (FromPartials, without).
enum class TailPool { Listed, FromStats, FromPartials };

/// Stage 3's first kernel [batch × chunks]. kPool ≠ Listed: every block of sequence b selects the
/// pool into shared memory from its rows' entropies, identical in every block (the same code on the
/// same data); FromPartials (no truncation) first derives the rows' LSE and entropy from the
/// partials, and block (b, 0) alone writes the entropies and the report. Block (b, 0) writes the
/// selection (normalise_kernel records it as previous[b]). Listed: the pool of gather_kernel or
/// finalise_kernel. Then merge_chunk: y stored unnormalised, the chunk's (max, Σ) into
/// merge_partials. Launched as a programmatic dependent of the kernel before it (no grid barrier, so
/// its blocks start as that grid's retire), the blocks first read what does not depend on it (a
/// thread's one access of row 0 and, when selecting with min-entropy pooling, of the previous
/// selection, which the hysteresis of §6 most often keeps), then wait for that kernel's completion.
template <class In, int VEC, TailPool kPool>
__global__ void __launch_bounds__(kMergeThreads, kMergeBlocksPerSm)
tail_kernel(const In* __restrict__ z, std::ptrdiff_t stride, std::ptrdiff_t vocab, std::ptrdiff_t chunk,
            const Partial* __restrict__ partials, int row_chunks, const RowStat* __restrict__ stats, float* entropies,
            Report report, NbceParams params, Pools pools, float* out, std::ptrdiff_t out_stride, float2* merge_partials) {
  extern __shared__ float tail_shared[];  // kPool ≠ Listed: LSE [rows] (FromPartials), entropy [rows], the pool [rows]
  __shared__ int pool_size, pool_selection;
  const int rows = pools.rows;
  const std::ptrdiff_t b = blockIdx.x, begin = std::ptrdiff_t(blockIdx.y) * chunk;
  const std::ptrdiff_t end = begin + chunk < vocab ? begin + chunk : vocab;
  const In* zb = z + b * rows * stride;
  float* outb = out + b * out_stride;
  const bool in_registers = end - begin <= std::ptrdiff_t(kMergeThreads) * VEC;  // the same in the whole block
  const std::ptrdiff_t first = begin + std::ptrdiff_t(threadIdx.x) * VEC;  // the thread's first access
  trigger_dependents();  // normalise_kernel's blocks may start as these retire
  // §6: previous[b] is read by every block of the sequence here and rewritten by normalise_kernel
  // (only when selecting with min-entropy pooling; then no kernel before this one writes it).
  constexpr bool kSelects = kPool != TailPool::Listed;
  const int previous = kSelects && params.pooling == NbceParams::MinEntropy ? pools.previous[b] : -1;
  Packed<In, VEC> x0, xp;  // row 0 and row `previous` of the thread's one access
  x0.mask(), xp.mask();
  if (in_registers && first < end) {
    x0.load(zb, first);
    if (previous >= 0) xp.load(zb + previous * stride, first);
  }
  wait_for_previous_grid();
  const auto input = [&](int r, std::ptrdiff_t i, float(&x)[VEC]) {
    if (in_registers && (r == 0 || r == previous)) {
#pragma unroll
      for (int k = 0; k < VEC; ++k) x[k] = r == 0 ? x0[k] : xp[k];
    } else {
      Loader<In, VEC>::load(zb + r * stride, i, x);
    }
  };
  const auto keep = [&](std::ptrdiff_t i, const float(&y)[VEC]) { store<VEC>(outb, i, y); };
  float2 part;
  const RowStat* st = stats + b * rows;
  if constexpr (kSelects) {
    float* lse = tail_shared;
    float* entropy = tail_shared + rows;
    PoolEntry* pool = reinterpret_cast<PoolEntry*>(tail_shared + 2 * rows);
    const bool writer = blockIdx.y == 0;
    for (int r = threadIdx.x; r < rows; r += kMergeThreads) {
      const std::ptrdiff_t row = b * rows + r;
      if constexpr (kPool == TailPool::FromPartials) {
        const FullRow f = full_row(partials + row * row_chunks, row_chunks);
        lse[r] = f.lse, entropy[r] = f.entropy;
        if (writer) {
          if (!f.valid) report_index(report, row);
          entropies[row] = f.entropy;
        }
      } else {
        entropy[r] = __ldcg(&st[r].entropy);  // the nucleus kernels' (the grid before this one)
      }
    }
    __syncthreads();
    int n = 0;
    const int selection = select_pool([&](int r) { return double(entropy[r]); }, rows, previous, params, pool, n);
    if (threadIdx.x == 0) pool_size = n, pool_selection = selection;
    __syncthreads();
    part = merge_chunk<In, VEC>(
        begin, end, pool, pool_size,
        [&](int r) {
          if constexpr (kPool == TailPool::FromPartials) return RowStat{lse[r], -INFINITY, 0.0f, -1, 0};
          else return st[r];
        },
        params, input, keep);
  } else {
    part = merge_chunk<In, VEC>(begin, end, pools.entries + b * rows, pools.count[b], [&](int r) { return st[r]; },
                                params, input, keep);
  }
  if (threadIdx.x == 0) {
    merge_partials[b * gridDim.y + blockIdx.y] = part;
    if (kSelects && blockIdx.y == 0) pools.selected[b] = pool_selection;
  }
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
/// The number of chunks of that length.
int chunk_count(std::ptrdiff_t vocab, int chunks) {
  const std::ptrdiff_t length = chunk_length(vocab, chunks);
  return int((vocab + length - 1) / length);
}

/// partial_kernel's instances: float32 or bfloat16, scalar or 16-byte loads.
template <class In, int VEC> constexpr int input_instance = (std::is_same_v<In, float> ? 0 : 2) + (VEC > 1 ? 1 : 0);
constexpr int kMaxRowChunks = 64;

/// Resident blocks per SM of `kernel` with `threads` threads and `shared` bytes of dynamic shared memory.
template <class Kernel> int occupancy(Kernel kernel, int threads, std::size_t shared) {
  int per_sm = 0;
  check(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, threads, shared),
        "cudaOccupancyMaxActiveBlocksPerMultiprocessor");
  return per_sm;
}

/// Resident blocks of kPartialThreads per SM of a row-chunk kernel.
template <class Kernel> int resident_blocks(Kernel kernel) { return std::max(occupancy(kernel, kPartialThreads, 0), 1); }

/// Resident blocks per SM of tail_kernel<In, VEC, ·>: the fewest of its variants in use (those that
/// select the pool with `pool_shared` bytes of shared memory).
template <class In, int VEC> int tail_blocks_per_sm(bool pool_in_tail, std::size_t pool_shared) {
  int per_sm = occupancy(tail_kernel<In, VEC, TailPool::Listed>, kMergeThreads, 0);
  if (pool_in_tail)
    per_sm = std::min({per_sm, occupancy(tail_kernel<In, VEC, TailPool::FromStats>, kMergeThreads, pool_shared),
                       occupancy(tail_kernel<In, VEC, TailPool::FromPartials>, kMergeThreads, pool_shared)});
  return per_sm;
}
/// Blocks of tail_kernel that are resident on the device at once, whichever instance runs.
std::ptrdiff_t tail_resident_blocks(int sms, bool pool_in_tail, std::size_t pool_shared) {
  const int per_sm = std::min({tail_blocks_per_sm<float, 1>(pool_in_tail, pool_shared),
                               tail_blocks_per_sm<float, 4>(pool_in_tail, pool_shared),
                               tail_blocks_per_sm<std::uint16_t, 1>(pool_in_tail, pool_shared),
                               tail_blocks_per_sm<std::uint16_t, 8>(pool_in_tail, pool_shared)});
  return std::ptrdiff_t(per_sm) * sms;
}

/// Launches `kernel` [grid × kMergeThreads]. `dependent` (in: tried, out: accepted): as a
/// programmatic dependent of the kernel before it in the stream, its blocks starting as that grid's
/// retire (the kernel waits for that grid's completion); where the runtime refuses, launched plainly.
template <class... Params, class... Args>
void launch_dependent(void (*kernel)(Params...), dim3 grid, std::size_t shared, cudaStream_t stream, bool& dependent,
                      Args... args) {
  if (!dependent) {
    kernel<<<grid, kMergeThreads, shared, stream>>>(args...);
    return;
  }
  std::tuple<Params...> values{args...};  // the arguments as the kernel's parameter types, addressed below
  cudaLaunchAttribute attribute{};
  attribute.id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attribute.val.programmaticStreamSerializationAllowed = 1;
  cudaLaunchConfig_t config{};
  config.gridDim = grid, config.blockDim = dim3(kMergeThreads), config.dynamicSmemBytes = shared, config.stream = stream;
  config.attrs = &attribute, config.numAttrs = 1;
  const cudaError_t status = std::apply(
      [&](auto&... v) {
        void* pointers[] = {static_cast<void*>(&v)...};
        return cudaLaunchKernelExC(&config, reinterpret_cast<const void*>(kernel), pointers);
      },
      values);
  if (status == cudaSuccess) return;
  (void)cudaGetLastError();  // refused (not launched): plainly; a real error recurs there
  dependent = false;
  kernel<<<grid, kMergeThreads, shared, stream>>>(args...);
}

/// Chunks per row over `rows` rows for a kernel of `per_sm` resident blocks: the fewest
/// (≤ max_chunks) whose grid fills its last wave of resident blocks to 95 %, else the fullest last
/// wave (a part-filled last wave leaves SMs without loads in flight).
int row_chunks(std::ptrdiff_t rows, int max_chunks, int sms, int per_sm) {
  const std::ptrdiff_t slots = std::ptrdiff_t(per_sm) * sms;
  int best = 1;
  double best_fill = 0;
  for (int c = 1; c <= max_chunks; ++c) {
    const std::ptrdiff_t blocks = rows * c, waves = (blocks + slots - 1) / slots;
    const double fill = double(blocks) / double(waves * slots);
    if (fill >= 0.95) return c;
    if (fill > best_fill) best = c, best_fill = fill;
  }
  return best;
}

/// The row chunks of partial_kernel<In, VEC> and of histogram_kernel / gather_kernel<In, VEC>, each
/// filling its own waves.
template <class In, int VEC> void plan_chunks(Workspace& ws, std::ptrdiff_t rows, int max_chunks, int sms) {
  constexpr int i = input_instance<In, VEC>;
  const int partial =
      std::min(resident_blocks(partial_kernel<In, VEC, false>), resident_blocks(partial_kernel<In, VEC, true>));
  ws.row_chunks[i] = chunk_count(ws.vocab, row_chunks(rows, max_chunks, sms, partial));
  const int level1 = std::min(resident_blocks(histogram_kernel<In, VEC>), resident_blocks(gather_kernel<In, VEC>));
  const int fewest = int((ws.vocab + kLevel1Chunk - 1) / kLevel1Chunk);  // BinWeights::add's limit
  ws.level1_chunks[i] = chunk_count(ws.vocab, std::max(row_chunks(rows, max_chunks, sms, level1), fewest));
}

}  // namespace

void* nbce_create(std::ptrdiff_t batch, std::ptrdiff_t rows_per_sequence, std::ptrdiff_t vocab) {
  auto* ws = new Workspace{batch, rows_per_sequence, vocab, {1, 1, 1, 1}, {1, 1, 1, 1}, 1, nullptr, nullptr, nullptr, nullptr, nullptr,
                           nullptr, nullptr, Level1{}};
  try {
    const std::ptrdiff_t rows = batch * rows_per_sequence;
    const int sms = multiprocessors();
    // Row chunks of ≥ 4096 tokens.
    const int max_row_chunks = int(std::min<std::ptrdiff_t>(kMaxRowChunks, (vocab + 4095) / 4096));
    plan_chunks<float, 1>(*ws, rows, max_row_chunks, sms);
    plan_chunks<float, 4>(*ws, rows, max_row_chunks, sms);
    plan_chunks<std::uint16_t, 1>(*ws, rows, max_row_chunks, sms);
    plan_chunks<std::uint16_t, 8>(*ws, rows, max_row_chunks, sms);
    // Merge chunks of about 2048 tokens or more (one 16-byte access per thread), as many as fill the
    // resident blocks of tail_kernel (one chunk per sequence where the sequences alone fill them).
    const std::size_t pool_shared = std::size_t(rows_per_sequence) * kTailRowBytes;
    ws->pool_in_tail = pool_shared <= kTailMaxShared;
    const std::ptrdiff_t merge_by_blocks = tail_resident_blocks(sms, ws->pool_in_tail, pool_shared) / batch;
    ws->merge_chunks = chunk_count(vocab, int(std::max<std::ptrdiff_t>(1, std::min(merge_by_blocks, (vocab + 2047) / 2048))));
    const int most_row_chunks = *std::max_element(std::begin(ws->row_chunks), std::end(ws->row_chunks));
    ws->partials = static_cast<Partial*>(allocate(sizeof(Partial) * std::size_t(rows * most_row_chunks)));
    ws->stats = static_cast<RowStat*>(allocate(sizeof(RowStat) * std::size_t(rows)));
    ws->merge_partials = static_cast<float2*>(allocate(sizeof(float2) * std::size_t(batch * ws->merge_chunks)));
    ws->pool_entries = static_cast<PoolEntry*>(allocate(sizeof(PoolEntry) * std::size_t(rows)));
    ws->pool_count = static_cast<std::int32_t*>(allocate(sizeof(std::int32_t) * std::size_t(batch)));
    ws->previous = static_cast<std::int32_t*>(allocate(sizeof(std::int32_t) * std::size_t(batch)));
    ws->done = static_cast<unsigned*>(allocate(sizeof(unsigned) * std::size_t(batch)));
    check(cudaMemset(ws->previous, 0xff, sizeof(std::int32_t) * std::size_t(batch)), "cudaMemset");
    check(cudaMemset(ws->done, 0, sizeof(unsigned) * std::size_t(batch)), "cudaMemset");
    Level1& l1 = ws->level1;
    l1.bins = static_cast<unsigned long long*>(allocate(sizeof(unsigned long long) * std::size_t(rows * kBins)));
    l1.moments = static_cast<unsigned*>(allocate(sizeof(unsigned) * std::size_t(rows * kBins)));
    l1.done = static_cast<unsigned*>(allocate(sizeof(unsigned) * std::size_t(rows)));
    l1.crossing = static_cast<Crossing*>(allocate(sizeof(Crossing) * std::size_t(rows)));
    l1.candidates = static_cast<unsigned long long*>(allocate(sizeof(unsigned long long) * std::size_t(rows * kCandidates)));
    l1.count = static_cast<unsigned*>(allocate(sizeof(unsigned) * std::size_t(rows)));
    const int most_level1_chunks = *std::max_element(std::begin(ws->level1_chunks), std::end(ws->level1_chunks));
    l1.ahead = static_cast<Ahead*>(allocate(sizeof(Ahead) * std::size_t(rows * most_level1_chunks)));
    check(cudaMemset(l1.bins, 0, sizeof(unsigned long long) * std::size_t(rows * kBins)), "cudaMemset");
    check(cudaMemset(l1.moments, 0, sizeof(unsigned) * std::size_t(rows * kBins)), "cudaMemset");
    check(cudaMemset(l1.done, 0, sizeof(unsigned) * std::size_t(rows)), "cudaMemset");
    check(cudaMemset(l1.count, 0, sizeof(unsigned) * std::size_t(rows)), "cudaMemset");
  } catch (...) {
    nbce_destroy(ws);
    throw;
  }
  return ws;
}

void nbce_destroy(void* workspace) noexcept {
  auto* ws = static_cast<Workspace*>(workspace);
  for (void* p : {static_cast<void*>(ws->partials), static_cast<void*>(ws->stats), static_cast<void*>(ws->merge_partials),
                  static_cast<void*>(ws->pool_entries), static_cast<void*>(ws->pool_count), static_cast<void*>(ws->previous),
                  static_cast<void*>(ws->done), static_cast<void*>(ws->level1.bins), static_cast<void*>(ws->level1.moments), static_cast<void*>(ws->level1.done),
                  static_cast<void*>(ws->level1.crossing), static_cast<void*>(ws->level1.candidates),
                  static_cast<void*>(ws->level1.count), static_cast<void*>(ws->level1.ahead)})
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
  const std::ptrdiff_t merge_chunk = chunk_length(vocab, ws->merge_chunks);
  const bool truncated = params.truncation != NbceParams::None && !(params.truncation == NbceParams::TopP && params.top_p >= 1.0);
  const bool pool_in_tail = ws->pool_in_tail;
  const Pools pools{int(ws->rows_per_sequence), ws->pool_entries, ws->pool_count, selected, ws->previous, ws->done,
                    pool_in_tail};
  with_input(type, logits, vocab, logits_stride, log_probs, log_probs_stride, [&](const auto* zt, auto vec) {
    using In = std::decay_t<decltype(*zt)>;
    constexpr int VEC = decltype(vec)::value;
    const int row_chunks = ws->row_chunks[input_instance<In, VEC>];
    (params.truncation == NbceParams::TopK ? partial_kernel<In, VEC, true> : partial_kernel<In, VEC, false>)
        <<<dim3(unsigned(rows), unsigned(row_chunks)), kPartialThreads, 0, stream>>>(zt, logits_stride, vocab,
                                                                                     chunk_length(vocab, row_chunks),
                                                                                     ws->partials);
    if (truncated) {
      const double target = params.truncation == NbceParams::TopP ? params.top_p : double(params.top_k);
      const bool top_k = params.truncation == NbceParams::TopK;
      Level1 level1 = ws->level1;
      level1.chunks = ws->level1_chunks[input_instance<In, VEC>];
      const dim3 level1_grid{unsigned(rows), unsigned(level1.chunks)};
      const std::ptrdiff_t level1_chunk = chunk_length(vocab, level1.chunks);
      const double keep = top_k ? 0.0 : std::log(double(vocab) / (1.0 - target));  // row_frame's pos_limit
      histogram_kernel<In, VEC><<<level1_grid, kPartialThreads, 0, stream>>>(
          zt, logits_stride, vocab, level1_chunk, ws->partials, row_chunks, top_k, target, keep, level1);
      gather_kernel<In, VEC><<<level1_grid, kPartialThreads, 0, stream>>>(zt, logits_stride, vocab, level1_chunk, level1,
                                                                         ws->stats, entropies, report, params, pools);
    } else if (!pool_in_tail) {
      finalise_kernel<<<unsigned(ws->batch), kFinaliseThreads, 0, stream>>>(ws->partials, row_chunks, ws->stats, entropies,
                                                                           report, params, pools);
    }
    const dim3 merge_grid(unsigned(ws->batch), unsigned(ws->merge_chunks));
    const auto tail = !pool_in_tail ? tail_kernel<In, VEC, TailPool::Listed>
                      : truncated   ? tail_kernel<In, VEC, TailPool::FromStats>
                                    : tail_kernel<In, VEC, TailPool::FromPartials>;
    launch_dependent(tail, merge_grid, pool_in_tail ? std::size_t(ws->rows_per_sequence) * kTailRowBytes : 0, stream,
                     ws->dependent_tail, zt, logits_stride, vocab, merge_chunk, ws->partials, row_chunks, ws->stats,
                     entropies, report, params, pools, log_probs, log_probs_stride, ws->merge_partials);
    std::int32_t* previous = pool_in_tail && params.pooling == NbceParams::MinEntropy ? ws->previous : nullptr;
    launch_dependent(normalise_kernel<VEC == 1 ? 1 : 4>, merge_grid, 0, stream, ws->dependent_tail, vocab, merge_chunk,
                     log_probs, log_probs_stride, static_cast<const float2*>(ws->merge_partials),
                     static_cast<const std::int32_t*>(selected), previous);
  });
  return read_report(report_handle, stream, "nbce kernels");
}

}  // namespace probspace::inference::cuda_backend
