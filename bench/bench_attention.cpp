// Fused position-aware attention on the CPU (issue 8): prefill GFLOP/s for ReRoPE (w = L/4) and plain
// RoPE, float32 and bfloat16, beside the reference rope::attention TwoPass (per head, an L×L score
// matrix each) on the same data; decode over a cache of a few thousand tokens beside one memcpy of the
// cache's bytes. Flops count one causal product: 4·L²·d·heads/2 (QKᵀ and PV, 2 flops per MAC).
// CUDA (skipped without a device; peer: bench/peers/torch_attention.py, same shapes): prefill with 32
// heads, d = 128, bfloat16, ReRoPE w = L/4 and plain RoPE at L = 8192 and 16384; decode over a 32k-token
// cache beside a device copy of the cache's bytes. GPU time by CUDA events, errors deferred.
#include "../src/inference/cuda/backend.hpp"
#include "normal_rows.hpp"

#include <probspace/inference/attention.hpp>
#include <probspace/inference/eigen_view.hpp>
#include <probspace/inference/timer.hpp>
#include <probspace/rope/frequencies.hpp>

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstring>
#include <type_traits>
#include <vector>

namespace {

using namespace probspace::inference;
using probspace::Index;
using probspace::RowMatrixX;
namespace rope = probspace::rope;

constexpr Index kHeadDim = 128;

/// N(0, 1) entries, drawn once per (shape, seed).
template <class T> const std::vector<T>& random_rows(Index rows, Index cols, std::uint64_t seed) {
  return probspace::bench::normal_rows<T>(rows, cols, 1.0f, seed);
}

/// range(0): 0 = plain RoPE, 1 = ReRoPE with w = L/4; 2 and 3: ReRoPE with w = L (every product
/// in the window) and w = 64 (almost every product out of it), the two ends of the window's cost.
AttentionConfig config_of(Index scheme, Index length, Index q_heads, Index kv_heads) {
  const Index window = scheme == 1 ? length / 4 : scheme == 2 ? length : 64;
  return {scheme == 0 ? rope::PositionScheme::rope() : rope::PositionScheme::rerope(window),
          rope::RotaryEmbedding(rope::default_inv_freq(kHeadDim, 1e4), rope::Layout::Half), q_heads, kv_heads};
}

void set_flops(benchmark::State& state, Index length, Index heads, const char* what, const AttentionConfig& c) {
  const double flops = 4.0 * double(length) * double(length) * double(kHeadDim) * double(heads) / 2;
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(std::string(what) + " " + c.scheme.name());
}

/// Fused prefill, heads = 8 query heads over 2 kv heads; args (scheme, L).
template <class T> void BM_FusedPrefill(benchmark::State& state) {
  const Index length = state.range(1), hq = 8, hk = 2;
  const AttentionConfig c = config_of(state.range(0), length, hq, hk);
  const auto q = random_rows<T>(length, hq * kHeadDim, 1), k = random_rows<T>(length, hk * kHeadDim, 2),
             v = random_rows<T>(length, hk * kHeadDim, 3);
  std::vector<T> out(q.size());
  Context cpu(Device::Cpu);
  for (auto _ : state) {
    attention_prefill<T>(cpu, {q.data(), length, hq * kHeadDim, hq * kHeadDim, Memory::Host},
                         {k.data(), length, hk * kHeadDim, hk * kHeadDim, Memory::Host},
                         {v.data(), length, hk * kHeadDim, hk * kHeadDim, Memory::Host},
                         {out.data(), length, hq * kHeadDim, hq * kHeadDim, Memory::Host}, c);
    benchmark::DoNotOptimize(out.data());
  }
  set_flops(state, length, hq, std::is_same_v<T, float> ? "fused float32" : "fused bfloat16", c);
}

/// The reference on the same shapes (float32): rope::attention TwoPass per query head.
void BM_ReferenceTwoPass(benchmark::State& state) {
  const Index length = state.range(1), hq = 8, hk = 2, group = hq / hk;
  const AttentionConfig c = config_of(state.range(0), length, hq, hk);
  const auto qv = random_rows<float>(length, hq * kHeadDim, 1), kv = random_rows<float>(length, hk * kHeadDim, 2),
             vv = random_rows<float>(length, hk * kHeadDim, 3);
  const Eigen::Map<const RowMatrixX<float>> q(qv.data(), length, hq * kHeadDim), k(kv.data(), length, hk * kHeadDim),
      v(vv.data(), length, hk * kHeadDim);
  for (auto _ : state) {
    for (Index h = 0; h < hq; ++h) {
      const Index g = h / group;
      auto out = rope::attention(q.middleCols(h * kHeadDim, kHeadDim), k.middleCols(g * kHeadDim, kHeadDim),
                                 v.middleCols(g * kHeadDim, kHeadDim), c.head_spec(), rope::Realisation::TwoPass);
      benchmark::DoNotOptimize(out.data());
    }
  }
  set_flops(state, length, hq, "reference two-pass float32", c);
}

BENCHMARK(BM_FusedPrefill<float>)->ArgsProduct({{0, 1}, {1024, 4096}})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_FusedPrefill<bfloat16>)->ArgsProduct({{0, 1}, {1024, 4096}})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ReferenceTwoPass)->ArgsProduct({{0, 1}, {1024}})->Unit(benchmark::kMillisecond)->UseRealTime();

/// Decode: one query (32 heads over 8 kv heads) against a ReRoPE (w = 1024) cache of range(0) tokens;
/// bytes = the cache's bytes (both key copies and the values), read once per step.
template <class T> void BM_Decode(benchmark::State& state) {
  const Index tokens = state.range(0), hq = 32, hk = 8;
  const AttentionConfig c = config_of(1, 4096, hq, hk);
  Context cpu(Device::Cpu);
  AttentionCache<T> cache(c, kHeadDim, tokens);
  const auto k = random_rows<T>(tokens, hk * kHeadDim, 2), v = random_rows<T>(tokens, hk * kHeadDim, 3),
             q = random_rows<T>(1, hq * kHeadDim, 1);
  cache.append(cpu, {k.data(), tokens, hk * kHeadDim, hk * kHeadDim, Memory::Host},
               {v.data(), tokens, hk * kHeadDim, hk * kHeadDim, Memory::Host});
  std::vector<T> out(std::size_t(hq * kHeadDim));
  for (auto _ : state) {
    cache.attend(cpu, {q.data(), 1, hq * kHeadDim, hq * kHeadDim, Memory::Host},
                 {out.data(), 1, hq * kHeadDim, hq * kHeadDim, Memory::Host});
    benchmark::DoNotOptimize(out.data());
  }
  state.SetLabel(std::string(std::is_same_v<T, float> ? "float32" : "bfloat16") + " cache MB " +
                 std::to_string(double(cache.bytes()) / 1e6));
  state.SetBytesProcessed(state.iterations() * Index(cache.bytes()));
}

/// Reading the same number of bytes once: memcpy of a decode cache's size (ReRoPE: 3 rows of kv_heads·d
/// per token, two keys and a value).
template <class T> void BM_CacheRead(benchmark::State& state) {
  const auto bytes = std::size_t(state.range(0) * 3 * 8 * kHeadDim) * sizeof(T);
  std::vector<char> from(bytes, 1), to(bytes);
  for (auto _ : state) {
    std::memcpy(to.data(), from.data(), bytes);
    benchmark::DoNotOptimize(to.data());
    benchmark::ClobberMemory();
  }
  state.SetLabel(std::string("memcpy of the ") + (std::is_same_v<T, float> ? "float32" : "bfloat16") + " cache");
  state.SetBytesProcessed(state.iterations() * Index(bytes));
}

BENCHMARK(BM_Decode<float>)->Arg(4096)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_Decode<bfloat16>)->Arg(4096)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_CacheRead<float>)->Arg(4096)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_CacheRead<bfloat16>)->Arg(4096)->Unit(benchmark::kMicrosecond)->UseRealTime();

/// CUDA prefill, 32 query heads over 32 kv heads (as the peer's SDPA and flex_attention calls), d = 128,
/// bfloat16; args (scheme, L). Peak device memory beyond q, k, v, out: the bfloat16 copies Q1, Q2, K1,
/// K2, V (O(L·d)).
void BM_CudaPrefill(benchmark::State& state) {
  if (!cuda_available()) {
    state.SkipWithError("no CUDA device");
    return;
  }
  const Index length = state.range(1), heads = 32, cols = heads * kHeadDim;
  const AttentionConfig c = config_of(state.range(0), length, heads, heads);
  Context gpu(Device::Cuda);
  DeviceBuffer<bfloat16> q(length * cols), k(length * cols), v(length * cols), out(length * cols);
  q.copy_from_host(random_rows<bfloat16>(length, cols, 1).data(), length * cols);
  k.copy_from_host(random_rows<bfloat16>(length, cols, 2).data(), length * cols);
  v.copy_from_host(random_rows<bfloat16>(length, cols, 3).data(), length * cols);
  gpu.defer_errors(true);  // time the kernels, not each call's wait for its error report
  Timer timer(gpu);
  double host_ms = 0;  // how long the calls take to return (the queued kernels run on)
  for (auto _ : state) {
    timer.start();
    const auto called = std::chrono::steady_clock::now();
    attention_prefill<bfloat16>(gpu, q.rows(length, cols), k.rows(length, cols), v.rows(length, cols),
                                out.rows(length, cols), c);
    host_ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - called).count();
    state.SetIterationTime(timer.stop() / 1e3);
  }
  state.counters["host_ms"] = benchmark::Counter(host_ms, benchmark::Counter::kAvgIterations);
  set_flops(state, length, heads, "cuda bfloat16", c);
}
BENCHMARK(BM_CudaPrefill)->ArgsProduct({{0, 1}, {8192, 16384}})->Args({2, 8192})->Args({3, 8192})->Args({1, 65536})->Unit(benchmark::kMillisecond)->UseManualTime();

/// CUDA decode: one query (32 heads over 8 kv heads) against a ReRoPE (w = 1024) bfloat16 cache of
/// range(0) tokens; bytes = the cache's bytes (both key copies and the values).
void BM_CudaDecode(benchmark::State& state) {
  if (!cuda_available()) {
    state.SkipWithError("no CUDA device");
    return;
  }
  const Index tokens = state.range(0), hq = 32, hk = 8;
  const AttentionConfig c = config_of(1, 4096, hq, hk);
  Context gpu(Device::Cuda);
  AttentionCache<bfloat16> cache(c, kHeadDim, tokens, Device::Cuda);
  {
    DeviceBuffer<bfloat16> k(tokens * hk * kHeadDim), v(tokens * hk * kHeadDim);
    k.copy_from_host(random_rows<bfloat16>(tokens, hk * kHeadDim, 2).data(), tokens * hk * kHeadDim);
    v.copy_from_host(random_rows<bfloat16>(tokens, hk * kHeadDim, 3).data(), tokens * hk * kHeadDim);
    cache.append(gpu, k.rows(tokens, hk * kHeadDim), v.rows(tokens, hk * kHeadDim));
  }
  DeviceBuffer<bfloat16> q(hq * kHeadDim), out(hq * kHeadDim);
  q.copy_from_host(random_rows<bfloat16>(1, hq * kHeadDim, 1).data(), hq * kHeadDim);
  gpu.defer_errors(true);
  Timer timer(gpu);
  for (auto _ : state) {
    timer.start();
    cache.attend(gpu, q.rows(1, hq * kHeadDim), out.rows(1, hq * kHeadDim));
    state.SetIterationTime(timer.stop() / 1e3);
  }
  state.SetLabel("cuda bfloat16 cache MB " + std::to_string(double(cache.bytes()) / 1e6));
  state.SetBytesProcessed(state.iterations() * Index(cache.bytes()));
}

/// A device-to-device copy of the same bytes as BM_CudaDecode's cache. It reads and writes them, so
/// bytes = 2× the cache: its GB/s is the device's copy bandwidth, and reading the cache once takes
/// about half its time.
void BM_CudaCacheCopy(benchmark::State& state) {
  if (!cuda_available()) {
    state.SkipWithError("no CUDA device");
    return;
  }
  const Index elements = state.range(0) * 3 * 8 * kHeadDim;
  Context gpu(Device::Cuda);
  DeviceBuffer<bfloat16> from(elements), to(elements);
  Timer timer(gpu);
  for (auto _ : state) {
    timer.start();
    cuda_backend::copy_on_device(gpu.stream(), to.data(), from.data(), std::size_t(elements) * sizeof(bfloat16));
    state.SetIterationTime(timer.stop() / 1e3);
  }
  state.SetLabel("cuda device copy of the bfloat16 cache");
  state.SetBytesProcessed(state.iterations() * 2 * elements * Index(sizeof(bfloat16)));
}
BENCHMARK(BM_CudaDecode)->Arg(32768)->Unit(benchmark::kMicrosecond)->UseManualTime();
BENCHMARK(BM_CudaCacheCopy)->Arg(32768)->Unit(benchmark::kMicrosecond)->UseManualTime();

}  // namespace

BENCHMARK_MAIN();
