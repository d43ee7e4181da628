// The inference kernels on each backend: row maps forward and backward over [rows, V] float32 and
// bfloat16, the batched NBCE step and RoPE apply, in GB/s of the bytes read and written, so the
// figure compares directly with a copy (peers: bench/peers/torch_cuda_rows.py, torch_cpu_rows.py).
// CUDA times are GPU time between events on the context's stream with deferred error reports, as
// the PyTorch peer measures torch.cuda.Event spans; CPU times are wall time. CUDA cases are skipped
// without a device. Wall time per call includes the stream synchronisation of each call.
#include "normal_rows.hpp"

#include <probspace/inference/eigen_view.hpp>
#include <probspace/inference/nbce_batch.hpp>
#include <probspace/inference/rope_apply.hpp>
#include <probspace/inference/rows.hpp>
#include <probspace/inference/timer.hpp>
#include <probspace/rope/rotation.hpp>

#include <benchmark/benchmark.h>

#include <memory>
#include <type_traits>
#include <vector>

namespace {

using namespace probspace::inference;
using probspace::Index;

/// Logits 2.5·N(0, 1), drawn once per shape.
template <class In> const std::vector<In>& logits(Index rows, Index cols) {
  return probspace::bench::normal_rows<In>(rows, cols, 2.5f, 0);
}

enum class Kernel { Softmax, LogSoftmax, Sparsemax, Entmax15, SoftmaxBackward, EntmaxBackward };
constexpr const char* kKernelNames[] = {"softmax", "log_softmax", "sparsemax", "entmax-1.5", "softmax backward",
                                        "entmax-1.5 backward"};

/// One row map over [rows, cols] (CPU: 1024 rows, CUDA: 4096, V = 32000); bytes = inputs read once +
/// output written once (backward passes read p and g).
template <class In> void BM_Rows(benchmark::State& state) {
  const auto device = static_cast<Device>(state.range(0));
  const auto kernel = static_cast<Kernel>(state.range(1));
  const Index rows = device == Device::Cuda ? 4096 : 1024, cols = 32000;
  const bool backward = kernel == Kernel::SoftmaxBackward || kernel == Kernel::EntmaxBackward;
  if (device == Device::Cuda && !cuda_available()) {
    state.SkipWithError("no CUDA device");
    return;
  }
  Context context(device);
  const auto host = logits<In>(rows, cols);
  // Backward passes take p = the forward output (from z) and g = z as the upstream gradient.
  std::vector<float> host_p(std::size_t(rows * cols)), host_g(std::size_t(rows * cols)), host_out(std::size_t(rows * cols));
  for (std::size_t i = 0; i < host.size(); ++i) {
    if constexpr (std::is_same_v<In, float>) host_g[i] = host[i];
    else host_g[i] = to_float(host[i]);
  }
  Context cpu(Device::Cpu);
  const RowsView<const float> g_host{host_g.data(), rows, cols, cols, Memory::Host};
  if (kernel == Kernel::SoftmaxBackward) softmax_rows<float>(cpu, g_host, {host_p.data(), rows, cols, cols, Memory::Host});
  if (kernel == Kernel::EntmaxBackward) entmax_rows<float>(cpu, g_host, {host_p.data(), rows, cols, cols, Memory::Host}, 1.5f);
  std::unique_ptr<DeviceBuffer<In>> z;
  std::unique_ptr<DeviceBuffer<float>> out, p, g;
  RowsView<const In> zv{host.data(), rows, cols, cols, Memory::Host};
  RowsView<const float> pv{host_p.data(), rows, cols, cols, Memory::Host}, gv = g_host;
  RowsView<float> ov{host_out.data(), rows, cols, cols, Memory::Host};
  if (device == Device::Cuda) {
    z = std::make_unique<DeviceBuffer<In>>(rows * cols);
    out = std::make_unique<DeviceBuffer<float>>(rows * cols);
    p = std::make_unique<DeviceBuffer<float>>(rows * cols);
    g = std::make_unique<DeviceBuffer<float>>(rows * cols);
    z->copy_from_host(host.data(), rows * cols);
    p->copy_from_host(host_p.data(), rows * cols);
    g->copy_from_host(host_g.data(), rows * cols);
    zv = z->rows(rows, cols);
    ov = out->rows(rows, cols);
    pv = p->rows(rows, cols);
    gv = g->rows(rows, cols);
  }
  context.defer_errors(true);  // CUDA: time the kernels, not each call's wait for its error report
  Timer timer(context);
  for (auto _ : state) {
    timer.start();
    switch (kernel) {
    case Kernel::Softmax: softmax_rows<In>(context, zv, ov); break;
    case Kernel::LogSoftmax: log_softmax_rows<In>(context, zv, ov); break;
    case Kernel::Sparsemax: sparsemax_rows<In>(context, zv, ov); break;
    case Kernel::Entmax15: entmax_rows<In>(context, zv, ov, 1.5f); break;
    case Kernel::SoftmaxBackward: softmax_backward(context, pv, gv, ov); break;
    case Kernel::EntmaxBackward: entmax_backward(context, pv, gv, ov, 1.5f); break;
    }
    state.SetIterationTime(timer.stop() / 1e3);
  }
  state.SetLabel(std::string(to_string(device)) + " " + kKernelNames[state.range(1)] + " " +
                 (backward ? "float32" : std::is_same_v<In, float> ? "float32" : "bfloat16") + " [" +
                 std::to_string(rows) + ", " + std::to_string(cols) + "]");
  const Index in_bytes = backward ? Index(2 * sizeof(float)) : Index(sizeof(In));
  state.SetBytesProcessed(state.iterations() * rows * cols * (in_bytes + Index(sizeof(float))));
}

void forward_args(benchmark::internal::Benchmark* b) {
  for (const Index device : {Index(Device::Cpu), Index(Device::Cuda)})
    for (const Kernel k : {Kernel::Softmax, Kernel::LogSoftmax, Kernel::Sparsemax, Kernel::Entmax15}) b->Args({device, Index(k)});
}
void backward_args(benchmark::internal::Benchmark* b) {
  for (const Index device : {Index(Device::Cpu), Index(Device::Cuda)})
    for (const Kernel k : {Kernel::SoftmaxBackward, Kernel::EntmaxBackward}) b->Args({device, Index(k)});
}
BENCHMARK(BM_Rows<float>)->Apply(forward_args)->Apply(backward_args)->Unit(benchmark::kMillisecond)->UseManualTime();
BENCHMARK(BM_Rows<bfloat16>)->Apply(forward_args)->Unit(benchmark::kMillisecond)->UseManualTime();

/// The batched NBCE step (min-entropy, β = 0.25) over [rows, vocab] logits, one sequence: top-p 0.95
/// or no truncation. Bytes = the logits read once.
template <class In> void BM_NbceStep(benchmark::State& state) {
  const auto device = static_cast<Device>(state.range(0));
  const Index rows = state.range(1), vocab = state.range(2);
  const bool top_p = state.range(3) != 0;
  if (device == Device::Cuda && !cuda_available()) {
    state.SkipWithError("no CUDA device");
    return;
  }
  Context context(device);
  probspace::nbce::Options options;
  options.truncation = top_p ? probspace::nbce::Truncation::TopP(0.95) : probspace::nbce::Truncation::None();
  options.empty_support = probspace::nbce::EmptySupport::Report;
  NbceBatch step(context, options, 1, rows, vocab);
  const auto host = logits<In>(rows, vocab);
  std::vector<float> host_out(static_cast<std::size_t>(vocab)), host_h(static_cast<std::size_t>(rows));
  std::vector<std::int32_t> host_sel(1);
  RowsView<const In> zv{host.data(), rows, vocab, vocab, Memory::Host};
  RowsView<float> ov{host_out.data(), 1, vocab, vocab, Memory::Host};
  std::int32_t* sel = host_sel.data();
  float* h = host_h.data();
  std::unique_ptr<DeviceBuffer<In>> z;
  std::unique_ptr<DeviceBuffer<float>> out, hd;
  std::unique_ptr<DeviceBuffer<std::int32_t>> sd;
  if (device == Device::Cuda) {
    z = std::make_unique<DeviceBuffer<In>>(rows * vocab);
    out = std::make_unique<DeviceBuffer<float>>(vocab);
    hd = std::make_unique<DeviceBuffer<float>>(rows);
    sd = std::make_unique<DeviceBuffer<std::int32_t>>(1);
    z->copy_from_host(host.data(), rows * vocab);
    zv = z->rows(rows, vocab);
    ov = out->rows(1, vocab);
    sel = sd->data();
    h = hd->data();
  }
  context.defer_errors(true);
  Timer timer(context);
  for (auto _ : state) {
    timer.start();
    step.step<In>(zv, ov, sel, h);
    state.SetIterationTime(timer.stop() / 1e3);
  }
  state.SetLabel(std::string(to_string(device)) + " NBCE step " + (top_p ? "top-p 0.95 " : "no truncation ") +
                 (std::is_same_v<In, float> ? "float32" : "bfloat16") + " [" + std::to_string(rows) + ", " +
                 std::to_string(vocab) + "]");
  state.SetBytesProcessed(state.iterations() * rows * vocab * Index(sizeof(In)));
}
void nbce_args(benchmark::internal::Benchmark* b) {
  for (const Index device : {Index(Device::Cpu), Index(Device::Cuda)}) {
    b->Args({device, 65, 152064, 1});
    b->Args({device, 257, 152064, 0});
  }
}
BENCHMARK(BM_NbceStep<float>)->Apply(nbce_args)->Unit(benchmark::kMillisecond)->UseManualTime();
BENCHMARK(BM_NbceStep<bfloat16>)->Apply(nbce_args)->Unit(benchmark::kMillisecond)->UseManualTime();

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
  context.defer_errors(true);
  Timer timer(context);
  for (auto _ : state) {
    timer.start();
    rope_apply<T>(context, x, p, c, s, head_dim, RopeLayout::Half);
    state.SetIterationTime(timer.stop() / 1e3);
  }
  state.SetLabel(std::string(to_string(device)) + " rope_apply " + (std::is_same_v<T, float> ? "float32" : "bfloat16"));
  state.SetBytesProcessed(state.iterations() * tokens * heads * head_dim * Index(2 * sizeof(T)));
}
BENCHMARK(BM_RopeApply<float>)->Arg(int(Device::Cpu))->Arg(int(Device::Cuda))->Unit(benchmark::kMillisecond)->UseManualTime();
BENCHMARK(BM_RopeApply<bfloat16>)->Arg(int(Device::Cpu))->Arg(int(Device::Cuda))->Unit(benchmark::kMillisecond)->UseManualTime();

}  // namespace

BENCHMARK_MAIN();
