// CPU ↔ CUDA comparison of the row maps (in the manner of ggml's test-backend-ops): max abs and rel
// error per kernel and input type. Skips when no CUDA device is present (CI).
#include <probspace/inference/eigen_view.hpp>
#include <probspace/inference/rows.hpp>
#include <probspace/inference/timer.hpp>

#include "../support/inference.hpp"

namespace probspace::inference {
namespace {

/// masked_head: the first half of row 0 masked too (whole load groups, threads and warps of −inf
/// before the first finite logit).
template <class In> void compare(Index rows, Index cols, bool log, bool masked_head = false) {
  RowMatrixX<float> z = probspace::testing::normal_rows(rows, cols, std::uint64_t(rows * 31 + cols), 3.0);
  if (cols > 1) z(0, 0) = -std::numeric_limits<float>::infinity();  // masked, not the whole row
  if (masked_head) z.row(0).head(cols / 2).setConstant(-std::numeric_limits<float>::infinity());
  const std::vector<In> host = probspace::testing::stored_as<In>(z);
  Context cpu(Device::Cpu), gpu(Device::Cuda);
  RowMatrixX<float> want(rows, cols), got(rows, cols);
  const RowsView<const In> zh{host.data(), rows, cols, cols, Memory::Host};
  log ? log_softmax_rows<In>(cpu, zh, rows_view(want)) : softmax_rows<In>(cpu, zh, rows_view(want));
  DeviceBuffer<In> zd(rows * cols);
  DeviceBuffer<float> out(rows * cols);
  zd.copy_from_host(host.data(), rows * cols);
  log ? log_softmax_rows<In>(gpu, zd.rows(rows, cols), out.rows(rows, cols))
      : softmax_rows<In>(gpu, zd.rows(rows, cols), out.rows(rows, cols));
  out.copy_to_host(got.data(), rows * cols);
  float max_abs = 0, max_rel = 0;
  for (Index i = 0; i < want.size(); ++i) {
    if (!std::isfinite(want.data()[i])) {
      EXPECT_EQ(got.data()[i], want.data()[i]) << i;  // masked entries: −inf (log) exactly
      continue;
    }
    const float e = std::abs(got.data()[i] - want.data()[i]);
    max_abs = std::max(max_abs, e);
    if (std::abs(want.data()[i]) > 1e-30f) max_rel = std::max(max_rel, e / std::abs(want.data()[i]));
  }
  std::printf("  %-12s %-9s [%ld, %ld]  max abs %.2e  max rel %.2e\n", log ? "log_softmax" : "softmax",
              std::is_same_v<In, float> ? "float32" : "bfloat16", long(rows), long(cols), double(max_abs), double(max_rel));
  EXPECT_LT(max_rel, log ? 1e-5f : 2e-5f);
  if (cols > 1) {
    EXPECT_EQ(got(0, 0), log ? -std::numeric_limits<float>::infinity() : 0.0f);
  }
}

TEST(CudaRows, SoftmaxAndLogSoftmaxMatchTheCpuBackend) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device (or CUDA not compiled in)";
  for (const auto& [rows, cols] : {std::pair<Index, Index>{1, 1}, {3, 1000}, {64, 32000}, {17, 152064}, {5, 4097}}) {
    compare<float>(rows, cols, false);
    compare<float>(rows, cols, true);
    compare<bfloat16>(rows, cols, false);
    compare<bfloat16>(rows, cols, true);
  }
  for (const bool log : {false, true}) {
    compare<float>(3, 32768, log, true);
    compare<bfloat16>(3, 32768, log, true);
  }
}

TEST(CudaRows, InvalidRowsAreReportedByIndex) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device (or CUDA not compiled in)";
  Context gpu(Device::Cuda);
  std::vector<float> z(3 * 8, 0.0f);
  z[2 * 8 + 3] = std::nanf("");
  DeviceBuffer<float> zd(24), out(24);
  zd.copy_from_host(z.data(), 24);
  EXPECT_INVALID_ARGUMENT(softmax_rows<float>(gpu, zd.rows(3, 8), out.rows(3, 8)), "z[2]");
  RowMatrixX<float> host(3, 8);
  EXPECT_INVALID_ARGUMENT(softmax_rows<float>(gpu, zd.rows(3, 8), rows_view(host)), "out");
}

// The check rides on the max of each group of loads: NaN where a thread has seen only −inf (the
// group's max would drop it), +inf, a row of −inf only; float32 and bfloat16, 16-byte loads.
template <class In> void expect_reported(void (*spoil)(RowMatrixX<float>&)) {
  constexpr Index cols = 32768;
  RowMatrixX<float> z = probspace::testing::normal_rows(3, cols, 3, 3.0);
  spoil(z);
  const std::vector<In> host = probspace::testing::stored_as<In>(z);
  Context gpu(Device::Cuda);
  DeviceBuffer<In> zd(3 * cols);
  DeviceBuffer<float> out(3 * cols);
  zd.copy_from_host(host.data(), 3 * cols);
  EXPECT_INVALID_ARGUMENT(softmax_rows<In>(gpu, zd.rows(3, cols), out.rows(3, cols)), "z[1]");
  EXPECT_INVALID_ARGUMENT(log_softmax_rows<In>(gpu, zd.rows(3, cols), out.rows(3, cols)), "z[1]");
}

TEST(CudaRows, EveryKindOfInvalidRowIsReported) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device (or CUDA not compiled in)";
  const auto nan_after_masked = [](RowMatrixX<float>& z) {
    z.row(1).head(16384).setConstant(-std::numeric_limits<float>::infinity());
    z(1, 5) = std::nanf("");
  };
  const auto plus_inf = [](RowMatrixX<float>& z) { z(1, 777) = std::numeric_limits<float>::infinity(); };
  const auto all_masked = [](RowMatrixX<float>& z) { z.row(1).setConstant(-std::numeric_limits<float>::infinity()); };
  for (const auto spoil : {+nan_after_masked, +plus_inf, +all_masked}) {
    expect_reported<float>(spoil);
    expect_reported<bfloat16>(spoil);
  }
}

}  // namespace
}  // namespace probspace::inference

namespace probspace::inference {
namespace {

TEST(CudaContext, DeferredErrorsAreReportedBySynchronize) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device (or CUDA not compiled in)";
  Context gpu(Device::Cuda);
  gpu.defer_errors(true);
  std::vector<float> z(4 * 8, 0.0f);
  z[3 * 8 + 1] = std::nanf("");
  DeviceBuffer<float> zd(32), out(32);
  zd.copy_from_host(z.data(), 32);
  Timer timer(gpu);
  timer.start();
  softmax_rows<float>(gpu, zd.rows(2, 8), out.rows(2, 8));  // rows 0, 1: fine
  softmax_rows<float>(gpu, zd.rows(4, 8), out.rows(4, 8));  // row 3: NaN, reported later
  EXPECT_INVALID_ARGUMENT(timer.stop(), "input");
  gpu.synchronize();  // the report was taken: nothing left to throw
  gpu.defer_errors(false);
  EXPECT_INVALID_ARGUMENT(softmax_rows<float>(gpu, zd.rows(4, 8), out.rows(4, 8)), "z[3]");
  Timer again(gpu);
  again.start();
  softmax_rows<float>(gpu, zd.rows(2, 8), out.rows(2, 8));
  EXPECT_GE(again.stop(), 0.0);
}

}  // namespace
}  // namespace probspace::inference
