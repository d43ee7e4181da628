// Inference row maps on each backend: softmax / log_softmax over [rows, V] float32 and bfloat16, in
// GB/s of (read + write) bytes, so the figure compares directly with a copy. CUDA cases are skipped
// without a device. Wall time per call includes the stream synchronisation of each call.
#include <probspace/inference/eigen_view.hpp>
#include <probspace/inference/rows.hpp>

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

}  // namespace

BENCHMARK_MAIN();
