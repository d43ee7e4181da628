// Inference row maps on each backend: softmax / log_softmax over [rows, V] float32 and bfloat16, in
// GB/s of (read + write) bytes, so the figure compares directly with a copy. CUDA cases are skipped
// without a device. Wall time per call includes the stream synchronisation of each call.
#include <probspace/inference/eigen_view.hpp>
#include <probspace/inference/rope_apply.hpp>
#include <probspace/inference/rows.hpp>
#include <probspace/rope/rotation.hpp>

#include <benchmark/benchmark.h>

#include <memory>
#include <random>
#include <type_traits>
#include <vector>

namespace {

using namespace probspace::inference;
using probspace::Index;

template <class In> std::vector<In> logits(Index rows, Index cols) {
  std::mt19937_64 rng(0);
  std::normal_distribution<float> normal(0.0f, 2.5f);
  std::vector<In> z(std::size_t(rows * cols));
  for (auto& x : z) {
    if constexpr (std::is_same_v<In, float>) x = normal(rng);
    else x = to_bfloat16(normal(rng));
  }
  return z;
}

template <class In> void BM_Rows(benchmark::State& state) {
  const auto device = static_cast<Device>(state.range(0));
  const bool log = state.range(1) != 0;
  const Index rows = state.range(2), cols = state.range(3);
  if (device == Device::Cuda && !cuda_available()) {
    state.SkipWithError("no CUDA device");
    return;
  }
  Context context(device);
  const auto host = logits<In>(rows, cols);
  std::vector<float> host_out(std::size_t(rows * cols));
  std::unique_ptr<DeviceBuffer<In>> z;
  std::unique_ptr<DeviceBuffer<float>> out;
  RowsView<const In> zv{host.data(), rows, cols, cols, Memory::Host};
  RowsView<float> ov{host_out.data(), rows, cols, cols, Memory::Host};
  if (device == Device::Cuda) {
    z = std::make_unique<DeviceBuffer<In>>(rows * cols);
    out = std::make_unique<DeviceBuffer<float>>(rows * cols);
    z->copy_from_host(host.data(), rows * cols);
    zv = z->rows(rows, cols);
    ov = out->rows(rows, cols);
  }
  for (auto _ : state) {
    log ? log_softmax_rows<In>(context, zv, ov) : softmax_rows<In>(context, zv, ov);
    context.synchronize();
  }
  state.SetLabel(std::string(to_string(device)) + (log ? " log_softmax " : " softmax ") +
                 (std::is_same_v<In, float> ? "float32" : "bfloat16"));
  state.SetBytesProcessed(state.iterations() * rows * cols * Index(sizeof(In) + sizeof(float)));
}

void args(benchmark::internal::Benchmark* b) {
  for (const Index device : {Index(Device::Cpu), Index(Device::Cuda)})
    for (const Index log : {0, 1}) b->Args({device, log, 4096, 32000});
}
BENCHMARK(BM_Rows<float>)->Apply(args)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Rows<bfloat16>)->Apply(args)->Unit(benchmark::kMillisecond)->UseRealTime();

/// RoPE apply in place on [4096 tokens, 32 heads · 128] (half layout, full rotary), table of 8192
/// positions; bytes = read + write of x.
template <class T> void BM_RopeApply(benchmark::State& state) {
  const auto device = static_cast<Device>(state.range(0));
  if (device == Device::Cuda && !cuda_available()) {
    state.SkipWithError("no CUDA device");
    return;
  }
  constexpr Index tokens = 4096, heads = 32, head_dim = 128, length = 8192;
  const probspace::rope::RotaryEmbedding embedding(probspace::rope::default_inv_freq(head_dim, 1e4),
                                                   probspace::rope::Layout::Half);
  const auto table = probspace::rope::cos_sin_table<float>(embedding, length);
  auto host = logits<T>(tokens, heads * head_dim);
  std::vector<std::int32_t> positions(tokens);
  for (Index t = 0; t < tokens; ++t) positions[std::size_t(t)] = std::int32_t(t);
  Context context(device);
  RowsView<T> x{host.data(), tokens, heads * head_dim, heads * head_dim, Memory::Host};
  RowsView<const float> c = rows_view(table.cos), s = rows_view(table.sin);
  const std::int32_t* p = positions.data();
  std::unique_ptr<DeviceBuffer<T>> xd;
  std::unique_ptr<DeviceBuffer<float>> cd, sd;
  std::unique_ptr<DeviceBuffer<std::int32_t>> pd;
  if (device == Device::Cuda) {
    xd = std::make_unique<DeviceBuffer<T>>(tokens * heads * head_dim);
    cd = std::make_unique<DeviceBuffer<float>>(table.cos.size());
    sd = std::make_unique<DeviceBuffer<float>>(table.sin.size());
    pd = std::make_unique<DeviceBuffer<std::int32_t>>(tokens);
    xd->copy_from_host(host.data(), tokens * heads * head_dim);
    cd->copy_from_host(table.cos.data(), table.cos.size());
    sd->copy_from_host(table.sin.data(), table.sin.size());
    pd->copy_from_host(positions.data(), tokens);
    x = xd->rows(tokens, heads * head_dim);
    c = cd->rows(length, head_dim / 2);
    s = sd->rows(length, head_dim / 2);
    p = pd->data();
  }
  for (auto _ : state) {
    rope_apply<T>(context, x, p, c, s, head_dim, RopeLayout::Half);
    context.synchronize();
  }
  state.SetLabel(std::string(to_string(device)) + " rope_apply " + (std::is_same_v<T, float> ? "float32" : "bfloat16"));
  state.SetBytesProcessed(state.iterations() * tokens * heads * head_dim * Index(2 * sizeof(T)));
}
BENCHMARK(BM_RopeApply<float>)->Arg(int(Device::Cpu))->Arg(int(Device::Cuda))->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_RopeApply<bfloat16>)->Arg(int(Device::Cpu))->Arg(int(Device::Cuda))->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
