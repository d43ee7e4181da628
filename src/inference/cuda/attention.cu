// Fused position-aware causal attention on CUDA (issue 8; spec rope.md §6.2, §6.3(b), §8;
// docs/attention.md, "CUDA"). Three steps:
//  1. rotate_kernel: the pre-rotated copies Q1 = R_{p1(i)} f_i q_i, Q2 = R_{p2q(i)} f_i q_i,
//     K1 = R_{p1(j)} k_j, K2 = R_{p2k(j)} k_j (and a plain copy of V) — angles and cos/sin in double
//     as rope::rotate, products in float, stored as bfloat16 (prefill) or the cache's type (append);
//     the non-finite-input check rides along.
//  2. flash_kernel (prefill): a block per (128-query tile, query head), a warp per 16 query rows,
//     mma.sync bf16 m16n8k16 products S = Q·Kᵀ and O += P·V with float accumulation in registers,
//     key/value tiles double-buffered in swizzled shared memory (cp.async, ldmatrix), online
//     softmax in float. Per 64-key tile one product (wholly inside or outside the window) or both
//     with a per-element select (crossing the band i − j = w).
//  3. decode_kernel + combine_kernel: one query token against the dual cache, split over the cache
//     length (partial max, sum and weighted V per chunk), then merged; no cached key is re-rotated.
#include "backend.hpp"
#include "check.cuh"
#include "rows.cuh"

#include <probspace/core/error.hpp>

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <climits>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <type_traits>

namespace probspace::inference::cuda_backend {
namespace {

using Bf16 = __nv_bfloat16;

__device__ __forceinline__ bool finite(float x) { return (__float_as_uint(x) & 0x7f800000u) != 0x7f800000u; }

// ---------------------------------------------------------------------------------------------------
// 1. Rotation

/// What rotate_kernel applies to every head of a row: out = R_{positions[row]} (factors[row]·x), and
/// with positions2 also out2 = R_{positions2[row]} (factors[row]·x) from the same read of x.
struct Rotation {
  int heads, head_dim, half_rotary;
  bool interleaved;
  const double* inv_freq;              ///< [half_rotary] (device)
  const double* positions;             ///< [rows] (device); null: no rotation (a checked copy)
  const double* factors;               ///< [rows] (device); null: 1
  const double* positions2 = nullptr;  ///< [rows] (device): the second output's positions
  float gain = 1.0f;                   ///< a further factor for every row
};

/// cos and sin of position·θ, formed and taken in double, rounded to float (as rope::rotate).
__device__ __forceinline__ void angle(double position, double theta, float& c, float& s) {
  double sd, cd;
  sincos(position * theta, &sd, &cd);
  c = float(cd);
  s = float(sd);
}

/// One thread per (row, channel pair p < head_dim/2), looping over the heads blockIdx.y,
/// blockIdx.y + gridDim.y, …: pair p < rotary_dim/2 is (2p, 2p+1) (Interleaved) or
/// (p, p + rotary_dim/2) (Half) and is rotated by the angle positions[row]·inv_freq[p] (formed,
/// reduced and cos/sin taken in double, then rounded to float, as rope::rotate does); pairs
/// p ≥ rotary_dim/2 are the pass-through channels (2p, 2p+1). The products are float, as on the
/// CPU (f·x, then a·c − b·s and a·s + b·c). A non-finite input reports row report_base + row.
template <class In, class Out>
__global__ void rotate_kernel(const In* __restrict__ x, std::ptrdiff_t rows, std::ptrdiff_t x_stride, Rotation r,
                              Out* __restrict__ out, Out* __restrict__ out2, std::ptrdiff_t out_stride,
                              std::ptrdiff_t report_base, Report report) {
  const int pairs = r.head_dim / 2;
  const std::ptrdiff_t id = std::ptrdiff_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (id >= rows * pairs) return;
  const std::ptrdiff_t row = id / pairs;
  const int p = int(id % pairs);
  const bool rotary_pair = p < r.half_rotary;
  const int ia = rotary_pair && !r.interleaved ? p : 2 * p, ib = rotary_pair && !r.interleaved ? p + r.half_rotary : 2 * p + 1;
  float c = 1.0f, s = 0.0f, c2 = 1.0f, s2 = 0.0f;
  if (rotary_pair && r.positions != nullptr) angle(r.positions[row], r.inv_freq[p], c, s);
  if (rotary_pair && r.positions2 != nullptr) angle(r.positions2[row], r.inv_freq[p], c2, s2);
  const float f = (r.factors != nullptr ? float(r.factors[row]) : 1.0f) * r.gain;
  bool ok = true;
#pragma unroll 4
  for (int h = int(blockIdx.y); h < r.heads; h += int(gridDim.y)) {
    const In* xh = x + row * x_stride + std::ptrdiff_t(h) * r.head_dim;
    const float xa = to_f(xh[ia]), xb = to_f(xh[ib]);
    ok = ok && finite(xa) && finite(xb);
    const float a = f * xa, b = f * xb;
    const std::ptrdiff_t at = row * out_stride + std::ptrdiff_t(h) * r.head_dim;
    from_f(a * c - b * s, out + at + ia);
    from_f(a * s + b * c, out + at + ib);
    if (out2 != nullptr) {
      from_f(a * c2 - b * s2, out2 + at + ia);
      from_f(a * s2 + b * c2, out2 + at + ib);
    }
  }
  if (!ok) report_index(report, report_base + row);
}

/// Queues rotate_kernel for x (`in`) into out (and out2 when r.positions2 is set) (`out_type`).
void rotate(cudaStream_t stream, Report report, InputType in, const void* x, std::ptrdiff_t rows, std::ptrdiff_t x_stride,
            const Rotation& r, InputType out_type, void* out, std::ptrdiff_t out_stride, std::ptrdiff_t report_base,
            void* out2 = nullptr) {
  if (rows == 0) return;
  constexpr int kThreads = 256;
  // A few rows (decode, appends) also split the heads over blocks.
  const dim3 blocks(unsigned((rows * (r.head_dim / 2) + kThreads - 1) / kThreads), rows < 64 ? unsigned(r.heads) : 1u);
  const auto launch = [&](const auto* typed_x) {
    if (out_type == InputType::Float32)
      rotate_kernel<<<blocks, kThreads, 0, stream>>>(typed_x, rows, x_stride, r, static_cast<float*>(out),
                                                     static_cast<float*>(out2), out_stride, report_base, report);
    else
      rotate_kernel<<<blocks, kThreads, 0, stream>>>(typed_x, rows, x_stride, r, static_cast<std::uint16_t*>(out),
                                                     static_cast<std::uint16_t*>(out2), out_stride, report_base, report);
  };
  if (in == InputType::Float32) launch(static_cast<const float*>(x));
  else launch(static_cast<const std::uint16_t*>(x));
}

/// The current device's scratch pool: a memory pool of probspace's own (other cudaMallocAsync users
/// keep their settings) that keeps freed memory for the next call instead of returning it to the
/// driver at each synchronisation (the default pool's release threshold is 0), so a prefill does not
/// map its O(L·d) scratch again at every call. It holds at most the largest scratch requested; the
/// driver frees it at exit.
/// make(device) for the current device, made once per device (thread-safe) and kept.
template <class Make> auto once_per_device(Make make) {
  static std::mutex mutex;
  static std::map<int, decltype(make(0))> values;
  int device = 0;
  check(cudaGetDevice(&device), "cudaGetDevice");
  const std::lock_guard<std::mutex> lock(mutex);
  if (const auto found = values.find(device); found != values.end()) return found->second;
  return values[device] = make(device);
}

cudaMemPool_t scratch_pool() {
  return once_per_device([](int device) {
    cudaMemPoolProps props{};
    props.allocType = cudaMemAllocationTypePinned;
    props.location.type = cudaMemLocationTypeDevice;
    props.location.id = device;
    cudaMemPool_t pool = nullptr;
    check(cudaMemPoolCreate(&pool, &props), "cudaMemPoolCreate");
    std::uint64_t keep = UINT64_MAX;
    check(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep), "cudaMemPoolSetAttribute");
    return pool;
  });
}

/// Stream-ordered device scratch from scratch_pool(), carved into 256-byte aligned pieces: add()
/// reserves, then allocate() once, then at() gives each piece's address.
class Scratch {
public:
  explicit Scratch(cudaStream_t stream) : stream_(stream) {}
  ~Scratch() {
    if (base_) cudaFreeAsync(base_, stream_);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  std::size_t add(std::size_t bytes) {
    const std::size_t at = bytes_;
    bytes_ += (bytes + 255) / 256 * 256;
    return at;
  }
  void allocate() {
    check(cudaMallocFromPoolAsync(&base_, bytes_ == 0 ? 256 : bytes_, scratch_pool(), stream_), "cudaMallocFromPoolAsync");
  }
  template <class T> T* at(std::size_t offset) const { return reinterpret_cast<T*>(static_cast<char*>(base_) + offset); }

private:
  cudaStream_t stream_;
  void* base_ = nullptr;
  std::size_t bytes_ = 0;
};

/// Copies n host doubles into the scratch piece at `offset`.
void upload(cudaStream_t stream, const Scratch& scratch, std::size_t offset, const double* host, std::ptrdiff_t n) {
  if (n > 0)
    check(cudaMemcpyAsync(scratch.at<double>(offset), host, std::size_t(n) * sizeof(double), cudaMemcpyHostToDevice, stream),
          "cudaMemcpyAsync to device");
}

// ---------------------------------------------------------------------------------------------------
// 2. Prefill

constexpr int kQueryTile = 128;  // query rows per block (and the row padding of the operands)
constexpr int kKeyTile = 64;     // keys per key tile
constexpr int kWarpRows = 16;    // query rows per warp (one m16 row block)
constexpr int kFlashThreads = 32 * kQueryTile / kWarpRows;

/// The prefill operands: bfloat16 copies, dense, row counts padded to a multiple of kQueryTile with
/// zeros.
struct FlashArgs {
  const Bf16 *q1, *q2, *k1, *k2, *v;  ///< q2, k2: two-pass schemes only
  std::ptrdiff_t q_ld, kv_ld;         ///< q_heads·D, kv_heads·D
  std::ptrdiff_t length, out_stride;
  long long window;
  int group;  ///< query heads per kv head
  bool two_pass;  ///< selects the kernel instance
};

__device__ __forceinline__ std::uint32_t shared_address(const void* p) {
  return static_cast<std::uint32_t>(__cvta_generic_to_shared(p));
}

/// 16 bytes global → shared, asynchronously (cp.async.cg: L2 only).
__device__ __forceinline__ void copy_async(std::uint32_t to, const void* from) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(to), "l"(from));
}

/// Four 8×8 bf16 matrices from shared memory (lane l gives the address of row l % 8 of matrix l / 8);
/// `trans` loads them transposed.
template <bool trans> __device__ __forceinline__ void load_matrices(std::uint32_t (&r)[4], std::uint32_t address) {
  if constexpr (trans)
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(address));
  else
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(address));
}

/// c += a·b for one m16n8k16 tile: a [16×16] bf16 row-major (4 registers), b [16×8] bf16
/// column-major (2 registers), c [16×8] float (PTX ISA "mma.m16n8k16" fragment layouts).
__device__ __forceinline__ void mma(float (&c)[4], const std::uint32_t (&a)[4], std::uint32_t b0, std::uint32_t b1) {
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
               "{%0, %1, %2, %3};\n"
               : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

__device__ __forceinline__ std::uint32_t pack_bf16(float lo, float hi) {
  const __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<const std::uint32_t*>(&v);
}

/// A key or value tile [kKeyTile][D] bf16 in shared memory, 16-byte chunk c of row r stored at chunk
/// c ^ (r mod 8): the 8 rows an ldmatrix reads at one logical chunk fall in 8 distinct bank groups.
template <int D> __device__ __forceinline__ std::uint32_t tile_offset(int row, int chunk) {
  return std::uint32_t((row * (D / 8) + (chunk ^ (row & 7))) * 16);
}

/// Queues the copy of rows j0 … j0 + 63 of one kv head (`from` points at row j0, column g·D) into
/// the shared tile at `to`; every thread of the block takes its share of the 16-byte chunks.
template <int D> __device__ __forceinline__ void load_tile(std::uint32_t to, const Bf16* from, std::ptrdiff_t ld) {
  constexpr int chunks = kKeyTile * D / 8;
  for (int id = int(threadIdx.x); id < chunks; id += kFlashThreads) {
    const int row = id / (D / 8), chunk = id % (D / 8);
    copy_async(to + tile_offset<D>(row, chunk), from + row * ld + chunk * 8);
  }
}

/// s = q·Kᵀ for the warp's 16 rows and 16·kPairs keys (s[n]: keys 8n … 8n + 7), K the shared key
/// rows from `keys` on; fragment(kk, r) gives A-fragment register r of channel step kk of q.
template <int D, int kPairs, class Fragment>
__device__ __forceinline__ void score_keys(Fragment&& fragment, std::uint32_t keys, int lane, float (&s)[2 * kPairs][4]) {
  const int matrix = lane / 8;
#pragma unroll
  for (int n = 0; n < 2 * kPairs; ++n)
#pragma unroll
    for (int e = 0; e < 4; ++e) s[n][e] = 0.0f;
#pragma unroll
  for (int kk = 0; kk < D / 16; ++kk) {
    const std::uint32_t a[4] = {fragment(kk, 0), fragment(kk, 1), fragment(kk, 2), fragment(kk, 3)};
#pragma unroll
    for (int n = 0; n < kPairs; ++n) {
      std::uint32_t b[4];  // {b0, b1} of key block 2n, then of 2n + 1
      load_matrices<false>(b, keys + tile_offset<D>(16 * n + lane % 8 + 8 * (matrix / 2), 2 * kk + matrix % 2));
      mma(s[2 * n], a, b[0], b[1]);
      mma(s[2 * n + 1], a, b[2], b[3]);
    }
  }
}

/// Causal mask and online softmax of one warp's scores over a 64-key tile (log2 units, the m16n8
/// accumulator layout: rows lane/4 and lane/4 + 8): −∞ where distance(n, e) < 0 on a diagonal tile,
/// the new row max over the row's 4 lanes, l rescaled, P = 2^{S − m} in place and this lane's share
/// of it added to l; `correction` gets the factors by which O's rows must be rescaled.
template <class Distance>
__device__ __forceinline__ void softmax_tile(float (&s)[kKeyTile / 8][4], Distance distance, bool diagonal, float (&m)[2],
                                             float (&l)[2], float (&correction)[2]) {
  if (diagonal)
#pragma unroll
    for (int n = 0; n < kKeyTile / 8; ++n)
#pragma unroll
      for (int e = 0; e < 4; ++e)
        if (distance(n, e) < 0) s[n][e] = -INFINITY;
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    float tile_max = -INFINITY;
#pragma unroll
    for (int n = 0; n < kKeyTile / 8; ++n) tile_max = fmaxf(tile_max, fmaxf(s[n][2 * r], s[n][2 * r + 1]));
    tile_max = fmaxf(tile_max, __shfl_xor_sync(0xffffffffu, tile_max, 1));
    tile_max = fmaxf(tile_max, __shfl_xor_sync(0xffffffffu, tile_max, 2));
    const float m_new = fmaxf(m[r], tile_max);  // finite: key 0 (tile 0) is visible to every row
    correction[r] = exp2f(m[r] - m_new);        // m = −∞ before tile 0: 0
    m[r] = m_new;
    l[r] *= correction[r];
  }
#pragma unroll
  for (int n = 0; n < kKeyTile / 8; ++n)
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      s[n][e] = exp2f(s[n][e] - m[e / 2]);
      l[e / 2] += s[n][e];  // this lane's share of the row sum; the 4 lanes are added at the end
    }
}

/// O's rows times softmax_tile's corrections.
template <int DN> __device__ __forceinline__ void rescale(float (&o)[DN][4], const float (&correction)[2]) {
#pragma unroll
  for (int n = 0; n < DN; ++n)
#pragma unroll
    for (int e = 0; e < 4; ++e) o[n][e] *= correction[e / 2];
}

/// P's accumulators of key blocks 2kk, 2kk + 1 as the A fragment of key step kk (m16n8k16 and wgmma
/// share it).
__device__ __forceinline__ void p_fragment(const float (&s)[kKeyTile / 8][4], int kk, std::uint32_t (&p)[4]) {
  p[0] = pack_bf16(s[2 * kk][0], s[2 * kk][1]);
  p[1] = pack_bf16(s[2 * kk][2], s[2 * kk][3]);
  p[2] = pack_bf16(s[2 * kk + 1][0], s[2 * kk + 1][1]);
  p[3] = pack_bf16(s[2 * kk + 1][2], s[2 * kk + 1][3]);
}

/// Writes one warp's 16 output rows from iw on: O / l (l summed over the row's 4 lanes first).
template <int D, class Out>
__device__ __forceinline__ void store_rows(const float (&o)[D / 8][4], float (&l)[2], std::ptrdiff_t iw, int lane,
                                           const FlashArgs& a, int h, Out* __restrict__ out) {
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    l[r] += __shfl_xor_sync(0xffffffffu, l[r], 1);
    l[r] += __shfl_xor_sync(0xffffffffu, l[r], 2);
    const std::ptrdiff_t i = iw + lane / 4 + 8 * r;
    if (i >= a.length) continue;
    const float inverse = 1.0f / l[r];  // l ≥ 1: the row's max element contributes 2^0
    Out* row_out = out + i * a.out_stride + std::ptrdiff_t(h) * D + 2 * (lane % 4);
#pragma unroll
    for (int n = 0; n < D / 8; ++n) {
      from_f(o[n][2 * r] * inverse, row_out + 8 * n);
      from_f(o[n][2 * r + 1] * inverse, row_out + 8 * n + 1);
    }
  }
}

/// The phases of a block's sweep over its `tiles` key tiles of kKeyTile keys (query rows i0 …
/// i0 + kQueryTile − 1, window w; j0 ascending, distances descending): tiles [0, far_end) have every
/// distance i − j ≥ w, tiles [near_begin, tiles) every distance < w, those between are mixed.
struct Phases {
  std::ptrdiff_t far_end, near_begin;
};
__device__ __forceinline__ Phases sweep_phases(std::ptrdiff_t i0, std::ptrdiff_t tiles, long long w) {
  const auto tiles_to = [&](std::ptrdiff_t row) {  // the tiles with row − j0 ≥ w
    const std::ptrdiff_t count = row < w ? 0 : std::ptrdiff_t((row - w) / kKeyTile + 1);
    return count < tiles ? count : tiles;
  };
  return {tiles_to(i0 - (kKeyTile - 1)), tiles_to(i0 + kQueryTile - 1)};
}

enum class Phase { Far, Mixed, Near };

/// Block (x, h): query tile gridDim.x − 1 − x (longest causal rows first) of query head h, 8 warps of
/// 16 rows; the block sweeps the 64-key tiles j0 = 0, 64, … ≤ its last row, double-buffered in shared
/// memory (cp.async), loading K1 and/or K2 as the tile's distance range needs them. Each warp keeps
/// its Q fragments, its online-softmax state and O [16, D] in registers (the m16n8k16 accumulator
/// layout: lane holds rows lane/4 and lane/4 + 8, columns 2·(lane % 4) + {0, 1} of every 8-column
/// block); P goes from the score accumulators to A fragments without shared memory.
template <int D, bool kTwoPass, class Out>
__global__ void __launch_bounds__(kFlashThreads, 1) flash_kernel(FlashArgs a, Out* __restrict__ out) {
  extern __shared__ __align__(128) unsigned char shared[];
  constexpr std::uint32_t kTileBytes = kKeyTile * D * sizeof(Bf16);
  // Stage s at s·3·kTileBytes: K1, K2, V.
  const std::uint32_t base = shared_address(shared);
  const int warp = int(threadIdx.x) / 32, lane = int(threadIdx.x) % 32, group_row = lane / 4, pair = 2 * (lane % 4);
  const std::ptrdiff_t i0 = (std::ptrdiff_t(gridDim.x) - 1 - blockIdx.x) * kQueryTile;
  const int h = int(blockIdx.y), g = h / a.group;
  const std::ptrdiff_t iw = i0 + warp * kWarpRows;  // the warp's first row
  const long long w = a.window;
  const int window = int(w < INT_MAX ? w : INT_MAX);  // INT_MAX: beyond every distance

  // Q fragments from global memory: register r of step kk holds row iw + lane/4 + 8·(r mod 2),
  // channels 16kk + 2·(lane mod 4) + 8·(r / 2) + {0, 1}. The warp keeps one set in registers: Q2 in
  // the far phase, Q1 after it.
  // The loads are volatile: hoisted out of the tile loop, the mixed tiles' Q2 fragments would hold
  // 32 registers for the whole sweep.
  const auto fragment_of = [&](const Bf16* from) {
    return [=](int kk, int r) {
      const std::ptrdiff_t at = (iw + group_row + 8 * (r % 2)) * a.q_ld + h * D + 16 * kk + pair + 8 * (r / 2);
      std::uint32_t x;
      asm volatile("ld.global.nc.b32 %0, [%1];\n" : "=r"(x) : "l"(from + at));
      return x;
    };
  };
  std::uint32_t q[D / 16][4];
  const auto load_q = [&](const Bf16* from) {
    const auto fragment = fragment_of(from);
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk)
#pragma unroll
      for (int r = 0; r < 4; ++r) q[kk][r] = fragment(kk, r);
  };
  const auto held = [&](int kk, int r) { return q[kk][r]; };
  float o[D / 8][4];
#pragma unroll
  for (int n = 0; n < D / 8; ++n)
#pragma unroll
    for (int e = 0; e < 4; ++e) o[n][e] = 0.0f;
  float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f};  // rows lane/4 and lane/4 + 8, log2 units

  // Which products the block's tile at j0 needs: distances i − j span [i0 − j0 − 63, i0 + 127 − j0].
  const auto near_needed = [&](std::ptrdiff_t j0, std::ptrdiff_t first_row) {
    return !kTwoPass || first_row - (j0 + kKeyTile - 1) < w;
  };
  const auto far_needed = [&](std::ptrdiff_t j0, std::ptrdiff_t last_row) { return kTwoPass && last_row - j0 >= w; };
  const auto load_stage = [&](std::ptrdiff_t j0, int stage) {
    const std::uint32_t at = base + std::uint32_t(stage) * 3 * kTileBytes;
    const std::ptrdiff_t offset = j0 * a.kv_ld + std::ptrdiff_t(g) * D;
    if (near_needed(j0, i0)) load_tile<D>(at, a.k1 + offset, a.kv_ld);
    if (far_needed(j0, i0 + kQueryTile - 1)) load_tile<D>(at + kTileBytes, a.k2 + offset, a.kv_ld);
    load_tile<D>(at + 2 * kTileBytes, a.v + offset, a.kv_ld);
    asm volatile("cp.async.commit_group;\n" ::);
  };

  const std::ptrdiff_t tiles = (i0 + kQueryTile + kKeyTile - 1) / kKeyTile;  // key tiles up to the last row
  // One tile's step; the phase (constant) says which products the tile may need.
  const auto step = [&](std::ptrdiff_t t, auto phase) {
    constexpr Phase kPhase = decltype(phase)::value;
    asm volatile("cp.async.wait_group 0;\n" ::);
    __syncthreads();  // tile t is in; every warp is done with stage (t + 1) % 2
    if (t + 1 < tiles) load_stage((t + 1) * kKeyTile, int((t + 1) % 2));
    const std::ptrdiff_t j0 = t * kKeyTile;
    if (j0 > iw + kWarpRows - 1) return;  // above the diagonal for all of this warp's rows
    const std::uint32_t stage = base + std::uint32_t(t % 2) * 3 * kTileBytes;
    const bool near = kPhase == Phase::Near || (kPhase == Phase::Mixed && near_needed(j0, iw));
    const bool far = kPhase == Phase::Far || (kPhase == Phase::Mixed && far_needed(j0, iw + kWarpRows - 1));
    const bool diagonal = j0 + kKeyTile - 1 > iw;

    // S (log2 units: the rotation scaled q by log2 e): per element the product its distance i − j
    // selects (pass 2 where i − j ≥ w), −∞ above the diagonal (i − j < 0). A tile wholly on one side
    // of the window computes that product only. Distances fit an int: L < 2^31.
    float s[kKeyTile / 8][4];
    const int distance0 = int(iw - j0) + group_row - pair;  // i − j of the lane's first element
    const auto distance = [&](int n, int e) { return distance0 + 8 * (e / 2) - e % 2 - 8 * n; };
    if (near || kPhase == Phase::Far) score_keys<D, kKeyTile / 16>(held, near ? stage : stage + kTileBytes, lane, s);
    else score_keys<D, kKeyTile / 16>(fragment_of(a.q2), stage + kTileBytes, lane, s);  // mixed phase, far only
    if (kPhase == Phase::Mixed && near && far)  // the window's boundary crosses the tile: Q2 from global memory
#pragma unroll
      for (int n = 0; n < kKeyTile / 16; ++n) {  // 16 keys at a time, rows 16n … (the swizzle repeats every 8)
        float s2[2][4];
        score_keys<D, 1>(fragment_of(a.q2), stage + kTileBytes + 16 * n * D * sizeof(Bf16), lane, s2);
#pragma unroll
        for (int x = 0; x < 2; ++x)
#pragma unroll
          for (int e = 0; e < 4; ++e)
            if (distance(2 * n + x, e) >= window) s[2 * n + x][e] = s2[x][e];
      }
    float correction[2];
    softmax_tile(s, distance, diagonal, m, l, correction);
    rescale(o, correction);
    // O += P·V: P's accumulators of key blocks 2kk, 2kk + 1 are the A fragment of key step kk.
    const std::uint32_t values = stage + 2 * kTileBytes;
    const int matrix = lane / 8;
#pragma unroll
    for (int kk = 0; kk < kKeyTile / 16; ++kk) {
      std::uint32_t p[4];
      p_fragment(s, kk, p);
      const int row = 16 * kk + lane % 8 + 8 * (matrix % 2);
#pragma unroll
      for (int n = 0; n < D / 16; ++n) {
        std::uint32_t b[4];  // {b0, b1} of channel block 2n, then of 2n + 1
        load_matrices<true>(b, values + tile_offset<D>(row, 2 * n + matrix / 2));
        mma(o[2 * n], p, b[0], b[1]);
        mma(o[2 * n + 1], p, b[2], b[3]);
      }
    }
  };
  // Phases of the block's sweep (j0 ascending, distances descending): far (every distance of the
  // block's tile ≥ w: K2 and Q2 only), mixed, near (every distance < w). RoPE: near throughout.
  const Phases phases = kTwoPass ? sweep_phases(i0, tiles, w) : Phases{0, 0};
  const std::ptrdiff_t far_end = phases.far_end, near_begin = phases.near_begin;
  load_stage(0, 0);
  std::ptrdiff_t t = 0;
  if constexpr (kTwoPass) {
    load_q(a.q2);
    for (; t < far_end; ++t) step(t, std::integral_constant<Phase, Phase::Far>{});
    load_q(a.q1);
    for (; t < near_begin; ++t) step(t, std::integral_constant<Phase, Phase::Mixed>{});
  } else {
    load_q(a.q1);
  }
  for (; t < tiles; ++t) step(t, std::integral_constant<Phase, Phase::Near>{});
  store_rows<D>(o, l, iw, lane, a, h, out);
}

// ---------------------------------------------------------------------------------------------------
// 2b. Prefill on Hopper (sm_90a): warpgroup MMA (wgmma) from shared memory

constexpr int kWgStages = 3;                // key/value stages in flight (see flash_wgmma_kernel)
constexpr int kWgThreads = 2 * 128;         // two warpgroups of 64 query rows
constexpr std::uint32_t kSwizzleAtom = 1024;  // 8 rows of 128 bytes

/// Operand tiles of R rows × D bf16 in the wgmma 128-byte-swizzle canonical layout (PTX ISA,
/// "Shared Memory Matrix Layout"): D/64 column blocks of R rows × 128 bytes, 16-byte chunk c of row r
/// of a block at chunk c ^ (r mod 8), blocks 1024-byte aligned. Q and K are read K-major, V
/// MN-major (imm-trans-b).
template <int R> __device__ __forceinline__ std::uint32_t swizzled_offset(int row, int chunk) {
  return std::uint32_t((chunk / 8) * R * 128 + row * 128 + (((chunk % 8) ^ (row % 8)) * 16));
}

/// A thread's share of the copy of R rows × D bf16 into a swizzled tile: chunk `chunk` of rows row0 +
/// k·kRowStep (k < kPerThread). kRowStep is a multiple of 8, where the swizzle pattern repeats, so the
/// thread's shared offsets differ by kRowStep·128 bytes and its global ones by kRowStep·ld elements: the
/// index arithmetic is done once, not at every tile.
template <int R, int D> class SwizzledCopy {
  static constexpr int kChunksPerRow = D / 8, kRowStep = kWgThreads / kChunksPerRow, kPerThread = R / kRowStep;
  static_assert(kRowStep % 8 == 0 && R % kRowStep == 0);
  std::uint32_t to_;     // the thread's first chunk, bytes from the tile's start
  std::ptrdiff_t from_;  // its first element, from the first row's
  std::ptrdiff_t step_;  // kRowStep·ld

 public:
  __device__ explicit SwizzledCopy(std::ptrdiff_t ld) {
    const int row = int(threadIdx.x) / kChunksPerRow, chunk = int(threadIdx.x) % kChunksPerRow;
    to_ = swizzled_offset<R>(row, chunk);
    from_ = row * ld + chunk * 8;
    step_ = kRowStep * ld;
  }
  /// Queues the copy of the R rows from `rows` on into the tile at `tile`.
  __device__ __forceinline__ void operator()(std::uint32_t tile, const Bf16* rows) const {
    const Bf16* from = rows + from_;
#pragma unroll
    for (int k = 0; k < kPerThread; ++k, from += step_) copy_async(tile + to_ + std::uint32_t(k * kRowStep * 128), from);
  }
};

#if defined(__CUDA_ARCH_FEAT_SM90_ALL)  // the wgmma helpers exist in sm_90a device code only
/// A shared-memory matrix descriptor with 128-byte swizzle: start address, leading and stride byte
/// offsets (each >> 4, 14 bits), layout type 1 in bits 62-63.
__device__ __forceinline__ std::uint64_t descriptor(std::uint32_t address, std::uint32_t leading, std::uint32_t stride) {
  return std::uint64_t((address & 0x3ffffu) >> 4) | std::uint64_t(leading >> 4) << 16 | std::uint64_t(stride >> 4) << 32 |
         1ull << 62;
}

__device__ __forceinline__ void wgmma_fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wgmma_commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wgmma_wait() { asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory"); }
/// Keeps the compiler from moving reads or writes of accumulators across wgmma_wait.
template <int N> __device__ __forceinline__ void hold(float (&x)[N][4]) {
#pragma unroll
  for (int n = 0; n < N; ++n)
#pragma unroll
    for (int e = 0; e < 4; ++e) asm volatile("" : "+f"(x[n][e])::"memory");
}

/// s = A·B (accumulate = 0) or s += A·B for one m64n64k16 step, A and B from shared memory (descriptors,
/// both K-major).
__device__ __forceinline__ void wgmma_ss(float (&s)[8][4], std::uint64_t a, std::uint64_t b, int accumulate) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %34, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}, %32, %33, p, 1, 1, 0, 0;\n}\n"
      : "+f"(s[0][0]), "+f"(s[0][1]), "+f"(s[0][2]), "+f"(s[0][3]), "+f"(s[1][0]), "+f"(s[1][1]), "+f"(s[1][2]), "+f"(s[1][3]), "+f"(s[2][0]), "+f"(s[2][1]), "+f"(s[2][2]), "+f"(s[2][3]), "+f"(s[3][0]), "+f"(s[3][1]), "+f"(s[3][2]), "+f"(s[3][3]), "+f"(s[4][0]), "+f"(s[4][1]), "+f"(s[4][2]), "+f"(s[4][3]), "+f"(s[5][0]), "+f"(s[5][1]), "+f"(s[5][2]), "+f"(s[5][3]), "+f"(s[6][0]), "+f"(s[6][1]), "+f"(s[6][2]), "+f"(s[6][3]), "+f"(s[7][0]), "+f"(s[7][1]), "+f"(s[7][2]), "+f"(s[7][3])
      : "l"(a), "l"(b), "r"(accumulate));
}
/// o += P·V for one m64n64k16 step, P from registers (the A fragments), V from shared memory (MN-major:
/// imm-trans-b = 1).
__device__ __forceinline__ void wgmma_rs(float (&o)[8][4], const std::uint32_t (&p)[4], std::uint64_t v) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %37, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}, {%32, %33, %34, %35}, %36, p, 1, 1, 1;\n}\n"
      : "+f"(o[0][0]), "+f"(o[0][1]), "+f"(o[0][2]), "+f"(o[0][3]), "+f"(o[1][0]), "+f"(o[1][1]), "+f"(o[1][2]), "+f"(o[1][3]), "+f"(o[2][0]), "+f"(o[2][1]), "+f"(o[2][2]), "+f"(o[2][3]), "+f"(o[3][0]), "+f"(o[3][1]), "+f"(o[3][2]), "+f"(o[3][3]), "+f"(o[4][0]), "+f"(o[4][1]), "+f"(o[4][2]), "+f"(o[4][3]), "+f"(o[5][0]), "+f"(o[5][1]), "+f"(o[5][2]), "+f"(o[5][3]), "+f"(o[6][0]), "+f"(o[6][1]), "+f"(o[6][2]), "+f"(o[6][3]), "+f"(o[7][0]), "+f"(o[7][1]), "+f"(o[7][2]), "+f"(o[7][3])
      : "r"(p[0]), "r"(p[1]), "r"(p[2]), "r"(p[3]), "l"(v), "r"(1));
}
/// o += P·V for one m64n128k16 step, P from registers (the A fragments), V from shared memory (MN-major:
/// imm-trans-b = 1).
__device__ __forceinline__ void wgmma_rs(float (&o)[16][4], const std::uint32_t (&p)[4], std::uint64_t v) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %69, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, {%64, %65, %66, %67}, %68, p, 1, 1, 1;\n}\n"
      : "+f"(o[0][0]), "+f"(o[0][1]), "+f"(o[0][2]), "+f"(o[0][3]), "+f"(o[1][0]), "+f"(o[1][1]), "+f"(o[1][2]), "+f"(o[1][3]), "+f"(o[2][0]), "+f"(o[2][1]), "+f"(o[2][2]), "+f"(o[2][3]), "+f"(o[3][0]), "+f"(o[3][1]), "+f"(o[3][2]), "+f"(o[3][3]), "+f"(o[4][0]), "+f"(o[4][1]), "+f"(o[4][2]), "+f"(o[4][3]), "+f"(o[5][0]), "+f"(o[5][1]), "+f"(o[5][2]), "+f"(o[5][3]), "+f"(o[6][0]), "+f"(o[6][1]), "+f"(o[6][2]), "+f"(o[6][3]), "+f"(o[7][0]), "+f"(o[7][1]), "+f"(o[7][2]), "+f"(o[7][3]), "+f"(o[8][0]), "+f"(o[8][1]), "+f"(o[8][2]), "+f"(o[8][3]), "+f"(o[9][0]), "+f"(o[9][1]), "+f"(o[9][2]), "+f"(o[9][3]), "+f"(o[10][0]), "+f"(o[10][1]), "+f"(o[10][2]), "+f"(o[10][3]), "+f"(o[11][0]), "+f"(o[11][1]), "+f"(o[11][2]), "+f"(o[11][3]), "+f"(o[12][0]), "+f"(o[12][1]), "+f"(o[12][2]), "+f"(o[12][3]), "+f"(o[13][0]), "+f"(o[13][1]), "+f"(o[13][2]), "+f"(o[13][3]), "+f"(o[14][0]), "+f"(o[14][1]), "+f"(o[14][2]), "+f"(o[14][3]), "+f"(o[15][0]), "+f"(o[15][1]), "+f"(o[15][2]), "+f"(o[15][3])
      : "r"(p[0]), "r"(p[1]), "r"(p[2]), "r"(p[3]), "l"(v), "r"(1));
}

#endif

/// As flash_kernel, for sm_90a: block (x, h) takes query tile gridDim.x − 1 − x of head h, each of its
/// two warpgroups 64 rows; Q1 (and Q2) sit in shared memory for the whole sweep, so a 64-key tile
/// computes the products its phase needs (far Q2·K2ᵀ, near Q1·K1ᵀ, mixed both with the per-element
/// select where the band i − j = w crosses the block's rows). S = Q·Kᵀ: wgmma m64n64k16 (A, B from
/// shared memory); O += P·V: m64nDk16 with P from registers. Key/value tiles rotate through three
/// stages (tile t + 2 loads by cp.async while tile t computes), and the next tile's S runs on the
/// tensor cores during this tile's softmax.
template <int D, bool kTwoPass, class Out>
__global__ void __launch_bounds__(kWgThreads, 1) flash_wgmma_kernel(FlashArgs a, Out* __restrict__ out) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  extern __shared__ __align__(1024) unsigned char shared[];
  constexpr std::uint32_t kQBytes = kQueryTile * D * sizeof(Bf16), kTileBytes = kKeyTile * D * sizeof(Bf16);
  constexpr int kSlots = kTwoPass ? 3 : 2;  // K1, V, K2 per stage
  const std::uint32_t base = (shared_address(shared) + kSwizzleAtom - 1) & ~(kSwizzleAtom - 1);
  const std::uint32_t q1s = base, q2s = base + kQBytes, stages = base + (kTwoPass ? 2 : 1) * kQBytes;
  const int warp = int(threadIdx.x) / 32, lane = int(threadIdx.x) % 32, group = warp / 4;
  const std::ptrdiff_t i0 = (std::ptrdiff_t(gridDim.x) - 1 - blockIdx.x) * kQueryTile;
  const int h = int(blockIdx.y), g = h / a.group;
  const std::ptrdiff_t ig = i0 + 64 * group;          // the warpgroup's first row
  const std::ptrdiff_t iw = ig + 16 * (warp % 4);     // the warp's first row
  const long long w = a.window;
  const int window = int(w < INT_MAX ? w : INT_MAX);  // INT_MAX: beyond every distance

  const auto near_needed = [&](std::ptrdiff_t j0, std::ptrdiff_t first_row) {
    return !kTwoPass || first_row - (j0 + kKeyTile - 1) < w;
  };
  const auto far_needed = [&](std::ptrdiff_t j0, std::ptrdiff_t last_row) { return kTwoPass && last_row - j0 >= w; };
  // Stage addresses rotate (tile t in `current`, t + 1 in `next`, t + 2 loads into `spare`, the stage
  // of t − 1); `loading` is the element offset of the next tile to load in K1, K2 and V.
  static_assert(kWgStages == 3, "the stages rotate as current, next, spare");
  constexpr std::uint32_t kStageBytes = kSlots * kTileBytes;
  std::uint32_t current = stages, next = stages + kStageBytes, spare = stages + 2 * kStageBytes;
  const std::ptrdiff_t tile_rows = kKeyTile * a.kv_ld;
  std::ptrdiff_t loading = std::ptrdiff_t(g) * D;
  const SwizzledCopy<kKeyTile, D> copy_tile(a.kv_ld);
  const auto load_stage = [&](std::ptrdiff_t t, std::uint32_t stage) {  // tile t into `stage`
    const std::ptrdiff_t j0 = t * kKeyTile;
    if (near_needed(j0, i0)) copy_tile(stage, a.k1 + loading);
    copy_tile(stage + kTileBytes, a.v + loading);
    if (far_needed(j0, i0 + kQueryTile - 1)) copy_tile(stage + 2 * kTileBytes, a.k2 + loading);
    asm volatile("cp.async.commit_group;\n" ::);
    loading += tile_rows;
  };
  {
    const SwizzledCopy<kQueryTile, D> copy_q(a.q_ld);
    const std::ptrdiff_t q_offset = i0 * a.q_ld + std::ptrdiff_t(h) * D;
    copy_q(q1s, a.q1 + q_offset);
    if (kTwoPass) copy_q(q2s, a.q2 + q_offset);
  }
  load_stage(0, current);

  // S = Q·Kᵀ over the D/16 channel steps from the descriptors of the warpgroup's 64 rows of Q and of
  // the tile's keys: step kk is 16 channels = 32 bytes into a 128-byte row of column block kk / 4, an
  // offset added to the descriptor's address field (addresses stay below 2^18 bytes: no carry).
  const auto scores = [&](float (&s)[kKeyTile / 8][4], std::uint64_t q, std::uint64_t k) {
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) {
      const std::uint32_t within = std::uint32_t(kk % 4) * 32;
      wgmma_ss(s, q + ((std::uint32_t(kk / 4) * kQueryTile * 128 + within) >> 4),
               k + ((std::uint32_t(kk / 4) * kKeyTile * 128 + within) >> 4), kk > 0);
    }
  };
  const auto k_major = [](std::uint32_t address) { return descriptor(address, 16, kSwizzleAtom); };
  const std::uint64_t q1d = k_major(q1s + std::uint32_t(group) * 64 * 128), q2d = k_major(q2s + std::uint32_t(group) * 64 * 128);
  float o[D / 8][4], sa[kKeyTile / 8][4], sb[kKeyTile / 8][4], s2[kKeyTile / 8][4];
#pragma unroll
  for (int n = 0; n < kKeyTile / 8; ++n)
#pragma unroll
    for (int e = 0; e < 4; ++e) sa[n][e] = sb[n][e] = s2[n][e] = 0.0f;
#pragma unroll
  for (int n = 0; n < D / 8; ++n)
#pragma unroll
    for (int e = 0; e < 4; ++e) o[n][e] = 0.0f;
  float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f};  // rows lane/4 and lane/4 + 8, log2 units

  const std::ptrdiff_t tiles = (i0 + kQueryTile + kKeyTile - 1) / kKeyTile;  // key tiles up to the last row
  // Phases of the block's sweep as in flash_kernel, by tile index (uniform over the block: the wgmma
  // instructions stay asynchronous): far (every distance of the block's tile ≥ w: Q2·K2ᵀ), mixed
  // (both products, the per-element select), near (Q1·K1ᵀ). RoPE: near throughout.
  const Phases phases = kTwoPass ? sweep_phases(i0, tiles, w) : Phases{0, 0};
  const std::ptrdiff_t far_end = phases.far_end, near_begin = phases.near_begin;
  // A tile's first product into s: Q2·K2ᵀ on a far tile, else Q1·K1ᵀ — one instruction sequence
  // whose operands are chosen (a branch around wgmma instructions makes ptxas serialise them). Past
  // the last tile it reads a stale stage, and the result is never used.
  const auto primary = [&](std::ptrdiff_t t, std::uint32_t stage, float (&s)[kKeyTile / 8][4]) {
    const bool far = t < far_end;
    scores(s, far ? q2d : q1d, k_major(stage + (far ? 2 * kTileBytes : 0)));
  };
  // Tile t's step (phase kCur), its first product already in sb: issue the next tile's into sb — it
  // runs on the tensor cores during this tile's softmax — then this tile's softmax (on a copy, sa)
  // and P·V. Tile t + 2 loads into the stage of tile t − 1, whose P·V both warpgroups have waited for
  // before the barrier. A warpgroup whose rows all lie above a tile still runs it (every score −∞,
  // P = 0): a branch on the warpgroup would make the wgmma instructions synchronous.
  const auto step = [&](std::ptrdiff_t t, auto phase) {
    constexpr Phase kCur = decltype(phase)::value;
#pragma unroll
    for (int n = 0; n < kKeyTile / 8; ++n)
#pragma unroll
      for (int e = 0; e < 4; ++e) sa[n][e] = sb[n][e];  // this tile's first product
    if (t + 1 < tiles) {
      asm volatile("cp.async.wait_group 0;\n" ::);
      asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");  // this thread's copies, to wgmma's reads
    }
    __syncthreads();  // tile t + 1 is in; every warpgroup is done with tile t − 1
    if (t + 2 < tiles) load_stage(t + 2, spare);
    wgmma_fence();
    if constexpr (kCur == Phase::Mixed) {  // waited at once: ptxas tracks only wait_group 0
      scores(s2, q2d, k_major(current + 2 * kTileBytes));
      wgmma_commit();
      wgmma_wait();
      hold(s2);
      wgmma_fence();
    }
    primary(t + 1, next, sb);
    wgmma_commit();
    const std::ptrdiff_t j0 = t * kKeyTile;
    const int distance0 = int(iw - j0) + lane / 4 - 2 * (lane % 4);  // i − j of the lane's first element
    const auto distance = [&](int n, int e) { return distance0 + 8 * (e / 2) - e % 2 - 8 * n; };
    if constexpr (kCur == Phase::Mixed)  // pass 2 where i − j ≥ w
#pragma unroll
      for (int n = 0; n < kKeyTile / 8; ++n)
#pragma unroll
        for (int e = 0; e < 4; ++e)
          if (distance(n, e) >= window) sa[n][e] = s2[n][e];
    float correction[2];
    softmax_tile(sa, distance, j0 + kKeyTile - 1 > iw, m, l, correction);
    std::uint32_t p[kKeyTile / 16][4];
#pragma unroll
    for (int kk = 0; kk < kKeyTile / 16; ++kk) p_fragment(sa, kk, p[kk]);
    wgmma_wait();  // the following tile's product (ran during the softmax)
    hold(sb);
    // O's rows change only where a row max moved (correction 2^{m_old − m_new} < 1): most tiles past
    // the first few of a sweep leave every max of the warp's rows in place.
    if (__any_sync(0xffffffffu, correction[0] != 1.0f || correction[1] != 1.0f)) rescale(o, correction);
    wgmma_fence();
    // V is read MN-major: keys 16kk … 16kk + 15 are two 8-key swizzle atoms.
    const std::uint64_t vd = descriptor(current + kTileBytes, kKeyTile * 128, kSwizzleAtom);
#pragma unroll
    for (int kk = 0; kk < kKeyTile / 16; ++kk) wgmma_rs(o, p[kk], vd + ((std::uint32_t(kk) * 2 * kSwizzleAtom) >> 4));
    wgmma_commit();
    wgmma_wait();  // P·V of tile t
    hold(o);
    const std::uint32_t done = current;  // tile t's stage takes tile t + 3
    current = next, next = spare, spare = done;
  };
  using Far = std::integral_constant<Phase, Phase::Far>;
  using Mixed = std::integral_constant<Phase, Phase::Mixed>;
  using Near = std::integral_constant<Phase, Phase::Near>;
  if (tiles > 1) load_stage(1, next);
  if (tiles > 1) asm volatile("cp.async.wait_group 1;\n" ::);  // Q and tile 0
  else asm volatile("cp.async.wait_group 0;\n" ::);
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
  __syncthreads();
  wgmma_fence();
  primary(0, current, sb);
  wgmma_commit();
  wgmma_wait();
  hold(sb);
  const auto segment = [&](std::ptrdiff_t begin, std::ptrdiff_t end, auto phase) {
    for (std::ptrdiff_t t = begin; t < end; ++t) step(t, phase);
  };
  if constexpr (kTwoPass) {
    segment(0, far_end, Far{});
    segment(far_end, near_begin, Mixed{});
  }
  segment(near_begin, tiles, Near{});
  store_rows<D>(o, l, iw, lane, a, h, out);
#else
  __trap();  // launched only on devices of compute capability 9.0 (sm_90a machine code)
#endif
}

/// Whether the current device runs flash_wgmma_kernel: compute capability 9.0 with its sm_90a machine
/// code in this build (asked of the device once), unless PROBSPACE_ATTENTION_KERNEL=mma.sync asks for
/// flash_kernel (which the tests also check on Hopper).
__global__ void sm90a_probe(int* has) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  *has = 1;
#else
  *has = 0;
#endif
}
bool use_wgmma() {
  if (const char* kernel = std::getenv("PROBSPACE_ATTENTION_KERNEL"); kernel != nullptr && std::string(kernel) == "mma.sync")
    return false;
  return once_per_device([](int device) {
    int major = 0, minor = 0;
    check(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device), "cudaDeviceGetAttribute");
    check(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device), "cudaDeviceGetAttribute");
    int has = 0;
    if (major == 9 && minor == 0) {
      int* flag = nullptr;
      check(cudaMalloc(&flag, sizeof(int)), "cudaMalloc");
      sm90a_probe<<<1, 1>>>(flag);
      const cudaError_t status = cudaMemcpy(&has, flag, sizeof(int), cudaMemcpyDeviceToHost);
      cudaFree(flag);
      check(status, "cudaMemcpy (sm_90a probe)");
    }
    return has != 0;
  });
}

template <int D, class Out>
void launch_flash(cudaStream_t stream, const FlashArgs& a, std::ptrdiff_t tiles, int q_heads, Out* out) {
  const auto launch = [&](auto kernel, int threads, int bytes) {
    check(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes), "cudaFuncSetAttribute");
    kernel<<<dim3(unsigned(tiles), unsigned(q_heads)), threads, bytes, stream>>>(a, out);
  };
  constexpr int kTile = kKeyTile * D * int(sizeof(Bf16)), kQ = kQueryTile * D * int(sizeof(Bf16));
  if (use_wgmma()) {  // Q1 (Q2), then per stage K1, V (K2); aligned to kSwizzleAtom
    if (a.two_pass) launch(flash_wgmma_kernel<D, true, Out>, kWgThreads, 2 * kQ + kWgStages * 3 * kTile + int(kSwizzleAtom));
    else launch(flash_wgmma_kernel<D, false, Out>, kWgThreads, kQ + kWgStages * 2 * kTile + int(kSwizzleAtom));
  } else if (a.two_pass) {
    launch(flash_kernel<D, true, Out>, kFlashThreads, 2 * 3 * kTile);
  } else {
    launch(flash_kernel<D, false, Out>, kFlashThreads, 2 * 3 * kTile);
  }
}

// ---------------------------------------------------------------------------------------------------
// 3. Decode

constexpr int kDecodeChunk = 256;  // cached keys per block
constexpr int kDecodeThreads = 128;
constexpr int kDecodeWarps = kDecodeThreads / 32;
constexpr int kDecodeBatch = 4;    // keys per lane group per step: one online-softmax update each
constexpr int kCombineParts = 4;   // combine_kernel: chunk subsets summed in parallel per channel

template <class S> constexpr int kVec = 16 / int(sizeof(S));  // cache elements per 16-byte load

/// Resident decode blocks per SM to compile for (≤ 65536 / (128·n) registers a thread): G = 8 needs ~255.
constexpr int decode_min_blocks(int G) { return G >= 8 ? 2 : G >= 4 ? 3 : 4; }

/// exp(m − big), 0 for an empty state (m = −∞).
__device__ __forceinline__ float rescale(float m, float big) { return m == -INFINITY ? 0.0f : __expf(m - big); }

/// 16 bytes of the cache (4 floats or 8 bfloat16) widened to float.
template <class S> __device__ __forceinline__ void widen(uint4 raw, float (&x)[kVec<S>]) {
  const std::uint32_t w[4] = {raw.x, raw.y, raw.z, raw.w};
#pragma unroll
  for (int k = 0; k < 4; ++k) {
    if constexpr (std::is_same_v<S, float>) {
      x[k] = __uint_as_float(w[k]);
    } else {
      x[2 * k] = __uint_as_float(w[k] << 16);
      x[2 * k + 1] = __uint_as_float(w[k] & 0xffff0000u);
    }
  }
}

/// The decode operands: q1, q2 [q_heads·D] float (logit factor folded in, rotated for p1(i), p2q(i));
/// k1, k2, v [size, kv_heads·D] (dense, 16-byte aligned; k2 = k1 for one-pass schemes).
template <class S> struct DecodeArgs {
  const float *q1, *q2;
  const S *k1, *k2, *v;
  std::ptrdiff_t size;
  int q_heads, kv_heads, group;
  long long window;
  bool two_pass;
};

/// One lane's online-softmax state for G query heads (spec §6.3(b)): running max m, sum l, and the
/// unnormalised output o over the lane's VEC channels.
template <int G, int VEC> struct DecodeState {
  float m[G], l[G], o[G][VEC];
};

/// Merges state (mo, lo, oo) into s: both rescaled to the larger max (an empty state weighs 0).
template <int G, int VEC>
__device__ __forceinline__ void merge_into(DecodeState<G, VEC>& s, int hh, float mo, float lo, const float (&oo)[VEC]) {
  const float big = fmaxf(s.m[hh], mo), a = rescale(s.m[hh], big), b = rescale(mo, big);
  s.l[hh] = s.l[hh] * a + lo * b;
#pragma unroll
  for (int c = 0; c < VEC; ++c) s.o[hh][c] = s.o[hh][c] * a + oo[c] * b;
  s.m[hh] = big;
}

/// The block's sweep over keys [from, to) against k (K1 with q = q1, or K2 with q = q2) for the query
/// heads h0 … h0 + G − 1. A lane group of T = D / VEC lanes holds one key row, lane t its channels
/// VEC·t … VEC·t + VEC − 1 (one 16-byte load of k and of v); a warp holds 32 / T keys at a time and each
/// lane group kDecodeBatch of them per step: the scores of the batch (partial dot products summed by
/// xor shuffles inside the lane group), then one online-softmax update per head for the whole batch.
template <int D, class S, int G>
__device__ __forceinline__ void decode_sweep(const DecodeArgs<S>& a, const float* q_all, const S* k, int g, int h0,
                                             std::ptrdiff_t from, std::ptrdiff_t to, DecodeState<G, kVec<S>>& st) {
  constexpr int VEC = kVec<S>, T = D / VEC, KEYS = 32 / T, STEP = kDecodeWarps * KEYS * kDecodeBatch;
  if (from >= to) return;
  const int warp = int(threadIdx.x) / 32, lane = int(threadIdx.x) % 32, t = lane % T, slot = lane / T;
  const std::ptrdiff_t ld = std::ptrdiff_t(a.kv_heads) * D, column = std::ptrdiff_t(g) * D + VEC * t;
  float q[G][VEC];
#pragma unroll
  for (int hh = 0; hh < G; ++hh)
#pragma unroll
    for (int c = 0; c < VEC; c += 4) {
      const float4 x = *reinterpret_cast<const float4*>(q_all + (h0 + hh) * D + VEC * t + c);
      q[hh][c] = x.x, q[hh][c + 1] = x.y, q[hh][c + 2] = x.z, q[hh][c + 3] = x.w;
    }
  for (std::ptrdiff_t base = from; base < to; base += STEP) {  // uniform over the block: full-warp shuffles
    uint4 key_raw[kDecodeBatch], value_raw[kDecodeBatch];
    bool valid[kDecodeBatch];
#pragma unroll
    for (int b = 0; b < kDecodeBatch; ++b) {  // every load of the step in flight before any use
      const std::ptrdiff_t j = base + (b * kDecodeWarps + warp) * KEYS + slot;
      valid[b] = j < to;
      key_raw[b] = value_raw[b] = make_uint4(0u, 0u, 0u, 0u);
      if (valid[b]) {
        key_raw[b] = __ldg(reinterpret_cast<const uint4*>(k + j * ld + column));
        value_raw[b] = __ldg(reinterpret_cast<const uint4*>(a.v + j * ld + column));
      }
    }
    float s[kDecodeBatch][G];
#pragma unroll
    for (int b = 0; b < kDecodeBatch; ++b) {
      float x[VEC];
      widen<S>(key_raw[b], x);
#pragma unroll
      for (int hh = 0; hh < G; ++hh) {
        float dot = 0.0f;
#pragma unroll
        for (int c = 0; c < VEC; ++c) dot += q[hh][c] * x[c];
        s[b][hh] = dot;
      }
    }
#pragma unroll
    for (int offset = T / 2; offset > 0; offset >>= 1)
#pragma unroll
      for (int b = 0; b < kDecodeBatch; ++b)
#pragma unroll
        for (int hh = 0; hh < G; ++hh) s[b][hh] += __shfl_xor_sync(0xffffffffu, s[b][hh], offset);
    float x[kDecodeBatch][VEC];
#pragma unroll
    for (int b = 0; b < kDecodeBatch; ++b) widen<S>(value_raw[b], x[b]);
#pragma unroll
    for (int hh = 0; hh < G; ++hh) {
      float big = st.m[hh];
#pragma unroll
      for (int b = 0; b < kDecodeBatch; ++b)
        if (valid[b]) big = fmaxf(big, s[b][hh]);
      const float correction = rescale(st.m[hh], big);
      float p[kDecodeBatch], sum = 0.0f;
#pragma unroll
      for (int b = 0; b < kDecodeBatch; ++b) sum += p[b] = valid[b] ? __expf(s[b][hh] - big) : 0.0f;
      st.l[hh] = st.l[hh] * correction + sum;
#pragma unroll
      for (int c = 0; c < VEC; ++c) {
        float o = st.o[hh][c] * correction;
#pragma unroll
        for (int b = 0; b < kDecodeBatch; ++b) o += p[b] * x[b][c];
        st.o[hh][c] = o;
      }
      st.m[hh] = big;
    }
  }
}

/// Block (chunk, y): kv head g = y / tiles (tiles = group / G) and its query heads h0 = g·group +
/// (y mod tiles)·G … h0 + G − 1, which share every key and value read, against keys [chunk·256, …).
/// Key j takes q2 and K2 where i − j ≥ w (two-pass, i = size − 1: j < size − w), q1 and K1 otherwise:
/// one sweep each. The lane groups' states merge over the warp (shuffles), then over the warps
/// (shared memory) into partial[(chunk·q_heads + h)·(D + 2) + …]: the chunk's unnormalised output
/// [D], its max and its sum.
template <int D, class S, int G>
__global__ void __launch_bounds__(kDecodeThreads, decode_min_blocks(G))
decode_kernel(DecodeArgs<S> a, float* __restrict__ partial) {
  constexpr int VEC = kVec<S>, T = D / VEC;
  const int warp = int(threadIdx.x) / 32, lane = int(threadIdx.x) % 32, t = lane % T;
  const int tiles = a.group / G, g = int(blockIdx.y) / tiles, h0 = g * a.group + int(blockIdx.y) % tiles * G;
  const std::ptrdiff_t chunk = blockIdx.x, begin = chunk * kDecodeChunk;
  const std::ptrdiff_t end = begin + kDecodeChunk < a.size ? begin + kDecodeChunk : a.size;
  const std::ptrdiff_t far_end = a.two_pass ? a.size - a.window : 0;  // keys j < far_end are pass 2
  const std::ptrdiff_t split = far_end < begin ? begin : far_end > end ? end : far_end;
  DecodeState<G, VEC> st;
#pragma unroll
  for (int hh = 0; hh < G; ++hh) {
    st.m[hh] = -INFINITY, st.l[hh] = 0.0f;
#pragma unroll
    for (int c = 0; c < VEC; ++c) st.o[hh][c] = 0.0f;
  }
  decode_sweep<D, S, G>(a, a.q2, a.k2, g, h0, begin, split, st);
  decode_sweep<D, S, G>(a, a.q1, a.k1, g, h0, split, end, st);
  // Merge the warp's lane groups (lanes t, t + T, …; a group may have seen no key: m = −∞, l = 0, o = 0).
#pragma unroll
  for (int offset = T; offset < 32; offset <<= 1)
#pragma unroll
    for (int hh = 0; hh < G; ++hh) {
      float oo[VEC];
#pragma unroll
      for (int c = 0; c < VEC; ++c) oo[c] = __shfl_xor_sync(0xffffffffu, st.o[hh][c], offset);
      merge_into(st, hh, __shfl_xor_sync(0xffffffffu, st.m[hh], offset), __shfl_xor_sync(0xffffffffu, st.l[hh], offset), oo);
    }
  __shared__ float warp_m[kDecodeWarps][G], warp_l[kDecodeWarps][G], warp_o[kDecodeWarps][G][D];
  if (lane < T) {
#pragma unroll
    for (int hh = 0; hh < G; ++hh) {
#pragma unroll
      for (int c = 0; c < VEC; ++c) warp_o[warp][hh][VEC * t + c] = st.o[hh][c];
      if (t == 0) warp_m[warp][hh] = st.m[hh], warp_l[warp][hh] = st.l[hh];
    }
  }
  __syncthreads();
  for (int e = int(threadIdx.x); e < G * D; e += kDecodeThreads) {
    const int hh = e / D, c = e % D;
    float big = warp_m[0][hh];
    for (int w = 1; w < kDecodeWarps; ++w) big = fmaxf(big, warp_m[w][hh]);  // finite: the chunk has a key
    float* out = partial + (chunk * a.q_heads + h0 + hh) * (D + 2);
    float o = 0.0f;
    for (int w = 0; w < kDecodeWarps; ++w) o += warp_o[w][hh][c] * rescale(warp_m[w][hh], big);
    out[c] = o;
    if (c == 0) {
      float sum = 0.0f;
      for (int w = 0; w < kDecodeWarps; ++w) sum += warp_l[w][hh] * rescale(warp_m[w][hh], big);
      out[D] = big;
      out[D + 1] = sum;
    }
  }
}

/// Block h, thread (part, c < D): out[h·D + c] = Σ_chunks o·e^{m − M} / Σ_chunks l·e^{m − M}, M the
/// largest chunk max; part sums the chunks ≡ part (mod kCombineParts), then the parts are added.
template <int D, class Out>
__global__ void __launch_bounds__(D * kCombineParts)
combine_kernel(const float* __restrict__ partial, std::ptrdiff_t chunks, int q_heads, Out* __restrict__ out) {
  const int h = int(blockIdx.x), c = int(threadIdx.x) % D, part = int(threadIdx.x) / D;
  const auto chunk = [&](std::ptrdiff_t k) { return partial + (k * q_heads + h) * (D + 2); };
  __shared__ float part_max[kCombineParts], part_l[kCombineParts], part_o[kCombineParts][D];
  float big = -INFINITY;
  for (std::ptrdiff_t k = part; k < chunks; k += kCombineParts) big = fmaxf(big, chunk(k)[D]);
  if (c == 0) part_max[part] = big;
  __syncthreads();
  big = part_max[0];
  for (int p = 1; p < kCombineParts; ++p) big = fmaxf(big, part_max[p]);
  float o = 0.0f, sum = 0.0f;
#pragma unroll 4
  for (std::ptrdiff_t k = part; k < chunks; k += kCombineParts) {
    const float* from = chunk(k);
    const float w = rescale(from[D], big);
    o += from[c] * w;
    sum += from[D + 1] * w;
  }
  part_o[part][c] = o;
  if (c == 0) part_l[part] = sum;
  __syncthreads();
  if (part == 0) {
    for (int p = 1; p < kCombineParts; ++p) o += part_o[p][c], sum += part_l[p];
    from_f(o / sum, out + std::ptrdiff_t(h) * D + c);
  }
}

/// Heads per decode block: the largest G ∈ {8, 4, 2, 1} dividing the group (the others of a group
/// larger than 8 go to further blocks, reading the same keys through L2).
int decode_heads_per_block(int group) {
  for (int g = 8; g > 1; g /= 2)
    if (group % g == 0) return g;
  return 1;
}

template <int D, class S>
void launch_decode(cudaStream_t stream, const AttentionShape& shape, std::ptrdiff_t size, const float* q1, const float* q2,
                   const void* k1, const void* k2, const void* v, float* partial, void* out) {
  const auto aligned = [](const void* p) { return reinterpret_cast<std::uintptr_t>(p) % 16 == 0; };
  if (!aligned(k1) || !aligned(k2) || !aligned(v)) throw DeviceError("attention decode: cache rows must be 16-byte aligned");
  const std::ptrdiff_t chunks = (size + kDecodeChunk - 1) / kDecodeChunk;
  const int group = shape.q_heads / shape.kv_heads, heads = decode_heads_per_block(group);
  const DecodeArgs<S> a{q1, shape.two_pass ? q2 : q1, static_cast<const S*>(k1), static_cast<const S*>(shape.two_pass ? k2 : k1),
                        static_cast<const S*>(v), size, shape.q_heads, shape.kv_heads, group,
                        static_cast<long long>(shape.window), shape.two_pass};
  const dim3 grid(unsigned(chunks), unsigned(shape.q_heads / heads));
  const auto launch = [&](auto g) {
    constexpr int G = decltype(g)::value;
    decode_kernel<D, S, G><<<grid, kDecodeThreads, 0, stream>>>(a, partial);
  };
  if (heads == 8) launch(std::integral_constant<int, 8>{});
  else if (heads == 4) launch(std::integral_constant<int, 4>{});
  else if (heads == 2) launch(std::integral_constant<int, 2>{});
  else launch(std::integral_constant<int, 1>{});
  combine_kernel<D, S><<<unsigned(shape.q_heads), D * kCombineParts, 0, stream>>>(partial, chunks, shape.q_heads,
                                                                                  static_cast<S*>(out));
}

/// Calls f(std::integral_constant<int, D>) for head_dim D ∈ {64, 128} (checked by the host API).
template <class F> void with_head_dim(int head_dim, F&& f) {
  if (head_dim == 64) f(std::integral_constant<int, 64>{});
  else if (head_dim == 128) f(std::integral_constant<int, 128>{});
  else throw DeviceError("attention kernels: head_dim must be 64 or 128");
}

Rotation rotation_of(const AttentionShape& shape, int heads, const double* inv_freq, const double* positions,
                     const double* factors, const double* positions2 = nullptr) {
  return {heads, shape.head_dim, shape.rotary_dim / 2, shape.interleaved, inv_freq, positions, factors, positions2};
}

}  // namespace

std::ptrdiff_t attention_prefill(void* stream_ptr, void* report_handle, InputType type, const AttentionShape& shape,
                                 std::ptrdiff_t length, const void* q, std::ptrdiff_t q_stride, const void* k,
                                 std::ptrdiff_t k_stride, const void* v, std::ptrdiff_t v_stride, void* out,
                                 std::ptrdiff_t out_stride, const double* inv_freq, const double* positions,
                                 const double* q_factor) {
  if (length == 0) return -1;
  auto stream = static_cast<cudaStream_t>(stream_ptr);
  const Report report = arm_report(report_handle);
  const int d = shape.head_dim, pairs = shape.rotary_dim / 2;
  const std::ptrdiff_t tiles = (length + kQueryTile - 1) / kQueryTile, padded = tiles * kQueryTile;
  const std::ptrdiff_t q_ld = std::ptrdiff_t(shape.q_heads) * d, kv_ld = std::ptrdiff_t(shape.kv_heads) * d;
  const std::size_t q_bytes = std::size_t(padded * q_ld) * sizeof(Bf16), kv_bytes = std::size_t(padded * kv_ld) * sizeof(Bf16);
  const std::size_t second = shape.two_pass ? 1 : 0;
  Scratch scratch(stream);
  const std::size_t at_freq = scratch.add(std::size_t(pairs) * sizeof(double)),
                    at_positions = scratch.add(3 * std::size_t(length) * sizeof(double)),
                    at_factor = scratch.add(std::size_t(length) * sizeof(double)), at_q1 = scratch.add(q_bytes),
                    at_q2 = scratch.add(second * q_bytes), at_k1 = scratch.add(kv_bytes),
                    at_k2 = scratch.add(second * kv_bytes), at_v = scratch.add(kv_bytes);
  scratch.allocate();
  upload(stream, scratch, at_freq, inv_freq, pairs);
  upload(stream, scratch, at_positions, positions, 3 * length);
  upload(stream, scratch, at_factor, q_factor, length);
  const double* freq = scratch.at<double>(at_freq);
  const double* pos = scratch.at<double>(at_positions);
  const double* factor = scratch.at<double>(at_factor);
  Bf16* q1 = scratch.at<Bf16>(at_q1);
  Bf16* q2 = shape.two_pass ? scratch.at<Bf16>(at_q2) : q1;
  Bf16* k1 = scratch.at<Bf16>(at_k1);
  Bf16* k2 = shape.two_pass ? scratch.at<Bf16>(at_k2) : k1;
  Bf16* vb = scratch.at<Bf16>(at_v);
  // Zero padding rows: the tiles read them (a NaN in V's padding would reach P·V as 0·NaN).
  const auto zero_tail = [&](Bf16* x, std::ptrdiff_t ld) {
    if (padded > length)
      check(cudaMemsetAsync(x + length * ld, 0, std::size_t((padded - length) * ld) * sizeof(Bf16), stream), "cudaMemsetAsync");
  };
  const auto bf16 = InputType::BFloat16;
  // One read of q gives Q1 and Q2, one of k gives K1 and K2 (positions p1, p2q, p2k: pos + 0, L, 2L).
  const bool two = shape.two_pass;
  Rotation q_rotation = rotation_of(shape, shape.q_heads, freq, pos, factor, two ? pos + length : nullptr);
  q_rotation.gain = 1.4426950408889634f;  // log2 e: the kernel's scores come in log2 units (exp2)
  rotate(stream, report, type, q, length, q_stride, q_rotation, bf16, q1, q_ld, 0, two ? q2 : nullptr);
  rotate(stream, report, type, k, length, k_stride,
         rotation_of(shape, shape.kv_heads, freq, pos, nullptr, two ? pos + 2 * length : nullptr), bf16, k1, kv_ld, length,
         two ? k2 : nullptr);
  if (two) {
    zero_tail(q2, q_ld);
    zero_tail(k2, kv_ld);
  }
  rotate(stream, report, type, v, length, v_stride, rotation_of(shape, shape.kv_heads, freq, nullptr, nullptr), bf16, vb,
         kv_ld, 2 * length);
  zero_tail(q1, q_ld);
  zero_tail(k1, kv_ld);
  zero_tail(vb, kv_ld);
  const std::ptrdiff_t bad = read_report(report_handle, stream, "attention rotation kernel");
  if (bad >= 0) return bad;  // out untouched

  const FlashArgs args{q1, q2, k1, k2, vb, q_ld, kv_ld, length, out_stride, static_cast<long long>(shape.window),
                       shape.q_heads / shape.kv_heads, shape.two_pass};
  with_head_dim(d, [&](auto dim) {
    constexpr int D = decltype(dim)::value;
    if (type == InputType::Float32) launch_flash<D>(stream, args, tiles, shape.q_heads, static_cast<float*>(out));
    else launch_flash<D>(stream, args, tiles, shape.q_heads, static_cast<std::uint16_t*>(out));
  });
  return read_report(report_handle, stream, "attention kernel");
}

std::ptrdiff_t attention_append(void* stream_ptr, void* report_handle, InputType type, const AttentionShape& shape,
                                std::ptrdiff_t n, const void* keys, std::ptrdiff_t keys_stride, const void* values,
                                std::ptrdiff_t values_stride, void* k1, void* k2, void* v, const double* inv_freq,
                                const double* positions) {
  if (n == 0) return -1;
  auto stream = static_cast<cudaStream_t>(stream_ptr);
  const Report report = arm_report(report_handle);
  const int pairs = shape.rotary_dim / 2;
  const std::ptrdiff_t ld = std::ptrdiff_t(shape.kv_heads) * shape.head_dim;
  Scratch scratch(stream);
  const std::size_t at_freq = scratch.add(std::size_t(pairs) * sizeof(double)),
                    at_positions = scratch.add(2 * std::size_t(n) * sizeof(double));
  scratch.allocate();
  upload(stream, scratch, at_freq, inv_freq, pairs);
  upload(stream, scratch, at_positions, positions, 2 * n);
  const double* freq = scratch.at<double>(at_freq);
  const double* pos = scratch.at<double>(at_positions);
  rotate(stream, report, type, keys, n, keys_stride, rotation_of(shape, shape.kv_heads, freq, pos, nullptr), type, k1, ld, 0);
  if (shape.two_pass)
    rotate(stream, report, type, keys, n, keys_stride, rotation_of(shape, shape.kv_heads, freq, pos + n, nullptr), type, k2,
           ld, 0);
  rotate(stream, report, type, values, n, values_stride, rotation_of(shape, shape.kv_heads, freq, nullptr, nullptr), type, v,
         ld, n);
  return read_report(report_handle, stream, "attention append kernel");
}

std::ptrdiff_t attention_decode(void* stream_ptr, void* report_handle, InputType type, const AttentionShape& shape,
                                std::ptrdiff_t size, const void* query, const void* k1, const void* k2, const void* v,
                                void* out, const double* inv_freq, const double* positions, double q_factor) {
  auto stream = static_cast<cudaStream_t>(stream_ptr);
  const Report report = arm_report(report_handle);
  const int d = shape.head_dim, pairs = shape.rotary_dim / 2;
  const std::ptrdiff_t q_ld = std::ptrdiff_t(shape.q_heads) * d, chunks = (size + kDecodeChunk - 1) / kDecodeChunk;
  Scratch scratch(stream);
  const std::size_t at_freq = scratch.add(std::size_t(pairs) * sizeof(double)),
                    at_positions = scratch.add(2 * sizeof(double)), at_factor = scratch.add(sizeof(double)),
                    at_q = scratch.add(2 * std::size_t(q_ld) * sizeof(float)),
                    at_partial = scratch.add(std::size_t(chunks * shape.q_heads * (d + 2)) * sizeof(float));
  scratch.allocate();
  upload(stream, scratch, at_freq, inv_freq, pairs);
  upload(stream, scratch, at_positions, positions, 2);
  upload(stream, scratch, at_factor, &q_factor, 1);
  const double* freq = scratch.at<double>(at_freq);
  const double* pos = scratch.at<double>(at_positions);
  const double* factor = scratch.at<double>(at_factor);
  float* q1 = scratch.at<float>(at_q);
  float* q2 = q1 + q_ld;
  const auto f32 = InputType::Float32;
  const bool two = shape.two_pass;  // one read of the query gives q1 and q2
  rotate(stream, report, type, query, 1, q_ld, rotation_of(shape, shape.q_heads, freq, pos, factor, two ? pos + 1 : nullptr),
         f32, q1, q_ld, 0, two ? q2 : nullptr);
  const std::ptrdiff_t bad = read_report(report_handle, stream, "attention decode rotation kernel");
  if (bad >= 0) return bad;  // out untouched

  float* partial = scratch.at<float>(at_partial);
  with_head_dim(d, [&](auto dim) {
    constexpr int D = decltype(dim)::value;
    if (type == InputType::Float32) launch_decode<D, float>(stream, shape, size, q1, q2, k1, k2, v, partial, out);
    else launch_decode<D, std::uint16_t>(stream, shape, size, q1, q2, k1, k2, v, partial, out);
  });
  return read_report(report_handle, stream, "attention decode kernel");
}

}  // namespace probspace::inference::cuda_backend
