// CPU ↔ CUDA comparison of rope_apply (both layouts, float32 and bfloat16); skips without a device.
#include <probspace/inference/eigen_view.hpp>
#include <probspace/inference/rope_apply.hpp>
#include <probspace/rope/frequencies.hpp>
#include <probspace/rope/rotation.hpp>

#include "../support/testing.hpp"

namespace probspace::inference {
namespace {

template <class T> void compare(RopeLayout layout, Index tokens, Index heads, Index head_dim, Index rotary) {
  const rope::RotaryEmbedding embedding(rope::default_inv_freq(rotary, 5e5), rope::Layout::Half, head_dim);
  const Index length = 131072;
  const auto table = rope::cos_sin_table<float>(embedding, length);
  std::mt19937_64 rng{std::uint64_t(tokens)};
  std::vector<T> x(std::size_t(tokens * heads * head_dim));
  std::normal_distribution<float> normal;
  for (auto& v : x) {
    if constexpr (std::is_same_v<T, float>) v = normal(rng);
    else v = to_bfloat16(normal(rng));
  }
  std::vector<std::int32_t> positions(static_cast<std::size_t>(tokens));
  for (Index t = 0; t < tokens; ++t) positions[std::size_t(t)] = std::int32_t((t * 7919) % length);
  const Index cols = heads * head_dim;

  Context cpu(Device::Cpu), gpu(Device::Cuda);
  std::vector<T> want = x;
  rope_apply<T>(cpu, {want.data(), tokens, cols, cols, Memory::Host}, positions.data(), rows_view(table.cos),
                rows_view(table.sin), head_dim, layout);
  DeviceBuffer<T> xd(tokens * cols);
  DeviceBuffer<float> cd(table.cos.size()), sd(table.sin.size());
  DeviceBuffer<std::int32_t> pd(tokens);
  xd.copy_from_host(x.data(), tokens * cols);
  cd.copy_from_host(table.cos.data(), table.cos.size());
  sd.copy_from_host(table.sin.data(), table.sin.size());
  pd.copy_from_host(positions.data(), tokens);
  rope_apply<T>(gpu, xd.rows(tokens, cols), pd.data(), cd.rows(length, rotary / 2), sd.rows(length, rotary / 2),
                head_dim, layout);
  std::vector<T> got(x.size());
  xd.copy_to_host(got.data(), tokens * cols);
  float max_abs = 0;
  Index differing = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    float a, b;
    if constexpr (std::is_same_v<T, float>) a = got[i], b = want[i];
    else a = to_float(got[i]), b = to_float(want[i]);
    max_abs = std::max(max_abs, std::abs(a - b));
    differing += a != b;
  }
  std::printf("  rope_apply %-11s %-9s [%ld x %ld x %ld, rotary %ld]  max abs %.2e, %ld of %zu differ\n",
              layout == RopeLayout::Half ? "half" : "interleaved", std::is_same_v<T, float> ? "float32" : "bfloat16",
              long(tokens), long(heads), long(head_dim), long(rotary), double(max_abs), long(differing), x.size());
  // The same float32 operations in both (fma contraction may differ by an ulp; bf16 rounding may then flip).
  const float tolerance = std::is_same_v<T, float> ? 1e-5f : 2e-2f;
  EXPECT_LT(max_abs, tolerance);
}

TEST(CudaRopeApply, MatchesTheCpuBackend) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device (or CUDA not compiled in)";
  for (const auto layout : {RopeLayout::Half, RopeLayout::Interleaved}) {
    compare<float>(layout, 1024, 32, 128, 128);
    compare<bfloat16>(layout, 1024, 32, 128, 128);
    compare<float>(layout, 37, 8, 96, 64);
  }
}

TEST(CudaRopeApply, PositionsOutsideTheTableAreReported) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device (or CUDA not compiled in)";
  Context gpu(Device::Cuda);
  DeviceBuffer<float> x(2 * 8), c(4 * 4), s(4 * 4);
  DeviceBuffer<std::int32_t> p(2);
  const std::int32_t positions[2] = {1, 4};
  p.copy_from_host(positions, 2);
  EXPECT_INVALID_ARGUMENT(rope_apply<float>(gpu, x.rows(2, 8), p.data(), c.rows(4, 4), s.rows(4, 4), 8, RopeLayout::Half),
                          "positions[1]");
}

}  // namespace
}  // namespace probspace::inference
