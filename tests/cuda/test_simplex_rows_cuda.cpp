// CPU ↔ CUDA comparison of sparsemax / entmax rows and of every backward pass (max abs error per
// kernel and input type, in the manner of ggml's test-backend-ops). Skips without a CUDA device.
#include <probspace/inference/eigen_view.hpp>
#include <probspace/inference/rows.hpp>

#include "../support/inference.hpp"

namespace probspace::inference {
namespace {

RowMatrixX<float> logits(Index rows, Index cols, double scale) {
  RowMatrixX<float> z = probspace::testing::normal_rows(rows, cols, std::uint64_t(rows * 131 + cols), scale);
  if (cols > 1) z(0, 0) = -std::numeric_limits<float>::infinity();
  if (rows > 2) z.row(2).setConstant(1.0f);  // every entry a candidate: the re-reading solve when cols > 4096
  return z;
}

float max_abs(const RowMatrixX<float>& a, const RowMatrixX<float>& b) { return (a - b).cwiseAbs().maxCoeff(); }

template <class In> void compare_forward(Index rows, Index cols, float alpha, double scale) {
  const RowMatrixX<float> z = logits(rows, cols, scale);
  const std::vector<In> host = probspace::testing::stored_as<In>(z);
  Context cpu(Device::Cpu), gpu(Device::Cuda);
  RowMatrixX<float> want(rows, cols), got(rows, cols);
  entmax_rows<In>(cpu, {host.data(), rows, cols, cols, Memory::Host}, rows_view(want), alpha);
  DeviceBuffer<In> zd(rows * cols);
  DeviceBuffer<float> pd(rows * cols);
  zd.copy_from_host(host.data(), rows * cols);
  entmax_rows<In>(gpu, zd.rows(rows, cols), pd.rows(rows, cols), alpha);
  pd.copy_to_host(got.data(), rows * cols);
  const float e = max_abs(got, want);
  Index support_differs = 0;
  for (Index i = 0; i < want.size(); ++i) support_differs += (want.data()[i] > 0) != (got.data()[i] > 0);
  std::printf("  entmax α=%-4.2f %-9s [%ld, %ld] scale %.1f  max abs %.2e, support differs at %ld\n", double(alpha),
              std::is_same_v<In, float> ? "float32" : "bfloat16", long(rows), long(cols), scale, double(e),
              long(support_differs));
  // Both solve for τ in double from the same float inputs; p is float (entries ≤ 1).
  EXPECT_LT(e, 2e-6f);
}

TEST(CudaSimplexRows, SparsemaxAndEntmaxMatchTheCpuBackend) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device (or CUDA not compiled in)";
  for (const auto& [rows, cols] : {std::pair<Index, Index>{1, 1}, {5, 1000}, {64, 32000}, {3, 152064}, {7, 4097}})
    for (const float alpha : {2.0f, 1.5f, 1.25f, 3.0f}) {
      compare_forward<float>(rows, cols, alpha, 2.5);
      compare_forward<bfloat16>(rows, cols, alpha, 2.5);
    }
  compare_forward<float>(16, 32000, 2.0f, 0.01);  // thousands of candidates per row
  compare_forward<float>(16, 32000, 1.5f, 0.02);
}

void compare_backward(const char* name, Index rows, Index cols, float alpha) {
  const RowMatrixX<float> z = logits(rows, cols, 2.0);
  std::mt19937_64 rng(7);
  RowMatrixX<float> g(rows, cols);
  for (Index r = 0; r < rows; ++r) g.row(r) = probspace::testing::normal_vector<float>(rng, cols, 1.0).transpose();
  Context cpu(Device::Cpu), gpu(Device::Cuda);
  RowMatrixX<float> y(rows, cols), want(rows, cols), got(rows, cols);
  const bool log = alpha == 0;
  if (alpha == 1) softmax_rows<float>(cpu, rows_view(z), rows_view(y));
  else if (log) log_softmax_rows<float>(cpu, rows_view(z), rows_view(y));
  else entmax_rows<float>(cpu, rows_view(z), rows_view(y), alpha);
  DeviceBuffer<float> yd(rows * cols), gd(rows * cols), dzd(rows * cols);
  yd.copy_from_host(y.data(), rows * cols);
  gd.copy_from_host(g.data(), rows * cols);
  const auto run = [&](Context& c, RowsView<const float> yv, RowsView<const float> gv, RowsView<float> out) {
    if (alpha == 1) softmax_backward(c, yv, gv, out);
    else if (log) log_softmax_backward(c, yv, gv, out);
    else entmax_backward(c, yv, gv, out, alpha);
  };
  run(cpu, rows_view(std::as_const(y)), rows_view(std::as_const(g)), rows_view(want));
  run(gpu, yd.rows(rows, cols), gd.rows(rows, cols), dzd.rows(rows, cols));
  dzd.copy_to_host(got.data(), rows * cols);
  const float e = max_abs(got, want), scale = want.cwiseAbs().maxCoeff();
  std::printf("  %-12s backward [%ld, %ld]  max abs %.2e (max |dz| %.2e)\n", name, long(rows), long(cols), double(e), double(scale));
  EXPECT_LT(e, 1e-5f * (1 + scale));
}

TEST(CudaSimplexRows, BackwardPassesMatchTheCpuBackend) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device (or CUDA not compiled in)";
  for (const auto& [rows, cols] : {std::pair<Index, Index>{3, 1000}, {64, 32000}, {5, 4097}}) {
    compare_backward("softmax", rows, cols, 1);
    compare_backward("log_softmax", rows, cols, 0);
    compare_backward("sparsemax", rows, cols, 2);
    compare_backward("entmax15", rows, cols, 1.5f);
    compare_backward("entmax1.25", rows, cols, 1.25f);
  }
}

TEST(CudaSimplexRows, InvalidRowsAreReportedByIndex) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device (or CUDA not compiled in)";
  Context gpu(Device::Cuda);
  std::vector<float> z(3 * 8, 0.0f);
  z[1 * 8 + 3] = std::numeric_limits<float>::infinity();
  DeviceBuffer<float> zd(24), out(24), g(24);
  zd.copy_from_host(z.data(), 24);
  EXPECT_INVALID_ARGUMENT(sparsemax_rows<float>(gpu, zd.rows(3, 8), out.rows(3, 8)), "z[1]");
  EXPECT_INVALID_ARGUMENT(entmax_rows<float>(gpu, zd.rows(3, 8), out.rows(3, 8), 1.7f), "z[1]");
  std::vector<float> p(24, 0.125f);
  p[2 * 8] = -1;
  out.copy_from_host(p.data(), 24);
  g.copy_from_host(std::vector<float>(24, 0.0f).data(), 24);
  EXPECT_INVALID_ARGUMENT(entmax_backward(gpu, out.rows(3, 8), g.rows(3, 8), zd.rows(3, 8), 1.5f), "p or g[2]");
}

}  // namespace
}  // namespace probspace::inference
