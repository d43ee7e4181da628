// The inference row maps on the CPU backend: against the core log_softmax, bfloat16 inputs, strided
// views, device selection and bad input.
#include <probspace/core/stable.hpp>
#include <probspace/inference/eigen_view.hpp>
#include <probspace/inference/rows.hpp>
#include <probspace/inference/timer.hpp>

#include "../support/inference.hpp"

namespace probspace::inference {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

RowMatrixX<float> random_logits(Index rows, Index cols, std::uint64_t seed) {
  return probspace::testing::normal_rows(rows, cols, seed, 3.0);
}

TEST(InferenceRows, CpuMatchesCoreLogSoftmaxWithMaskedEntriesAndStrides) {
  RowMatrixX<float> z = random_logits(37, 1001, 1);
  z(3, 5) = -kInf;
  Context cpu(Device::Cpu);
  EXPECT_EQ(cpu.device(), Device::Cpu);
  RowMatrixX<float> p(37, 1001), lp(37, 1001);
  softmax_rows<float>(cpu, rows_view(std::as_const(z)), rows_view(p));
  log_softmax_rows<float>(cpu, rows_view(std::as_const(z)), rows_view(lp));
  for (Index r = 0; r < z.rows(); ++r) {
    const VectorX<double> want = probspace::log_softmax(VectorX<double>(z.row(r).cast<double>().transpose()));
    for (Index c = 0; c < z.cols(); ++c) {
      if (want[c] == -kInf) {
        EXPECT_EQ(lp(r, c), -kInf);
        continue;
      }
      EXPECT_NEAR(lp(r, c), want[c], 2e-5 * (1 + std::abs(want[c]))) << r << "," << c;
      EXPECT_NEAR(p(r, c), std::exp(want[c]), 1e-6) << r << "," << c;
    }
  }
  EXPECT_EQ(p(3, 5), 0.0f);
  // A strided view over every other row gives the same rows (to rounding: the vectorised sums group
  // by alignment).
  RowMatrixX<float> half(19, 1001);
  const RowsView<const float> strided{z.data(), 19, 1001, 2 * 1001, Memory::Host};
  softmax_rows<float>(cpu, strided, rows_view(half));
  for (Index r = 0; r < 19; ++r) EXPECT_TRUE(half.row(r).isApprox(p.row(2 * r), 1e-6f)) << r;
}

TEST(InferenceRows, Bfloat16InputsAreWidenedExactly) {
  EXPECT_EQ(to_float(to_bfloat16(1.5f)), 1.5f);
  EXPECT_EQ(to_float(to_bfloat16(-kInf)), -kInf);
  EXPECT_TRUE(std::isnan(to_float(to_bfloat16(std::nanf("")))));
  EXPECT_EQ(to_bfloat16(1.0f + 1.0f / 256).bits, to_bfloat16(1.0f).bits) << "ties round to even";
  EXPECT_EQ(to_float(to_bfloat16(1.0f + 3.0f / 256)), 1.0f + 4.0f / 256) << "ties round to even (up)";
  const RowMatrixX<float> z = random_logits(5, 300, 2);
  const std::vector<bfloat16> zb = probspace::testing::stored_as<bfloat16>(z);
  const RowMatrixX<float> widened = probspace::testing::widened(zb, z.rows(), z.cols());
  Context cpu(Device::Cpu);
  RowMatrixX<float> from_bf16(5, 300), from_f32(5, 300);
  softmax_rows<bfloat16>(cpu, {zb.data(), 5, 300, 300, Memory::Host}, rows_view(from_bf16));
  softmax_rows<float>(cpu, rows_view(std::as_const(widened)), rows_view(from_f32));
  EXPECT_EQ(from_bf16, from_f32);
}

TEST(InferenceRows, DeviceSelection) {
  EXPECT_EQ(resolve(Device::Cpu), Device::Cpu);
  EXPECT_EQ(resolve(Device::Auto), cuda_available() ? Device::Cuda : Device::Cpu);
  if (!cuda_available()) {
    EXPECT_THROW(Context(Device::Cuda), DeviceError);
  }
  EXPECT_STREQ(to_string(Device::Cuda), "cuda");
}

TEST(InferenceRows, BadInputNamesTheArgument) {
  Context cpu(Device::Cpu);
  RowMatrixX<float> z = random_logits(4, 10, 3), p(4, 10), wrong(4, 9);
  EXPECT_INVALID_ARGUMENT(softmax_rows<float>(cpu, rows_view(std::as_const(z)), rows_view(wrong)), "out");
  z(2, 7) = std::nanf("");
  EXPECT_INVALID_ARGUMENT(softmax_rows<float>(cpu, rows_view(std::as_const(z)), rows_view(p)), "z[2]");
  z.row(2).setConstant(-kInf);
  EXPECT_INVALID_ARGUMENT(log_softmax_rows<float>(cpu, rows_view(std::as_const(z)), rows_view(p)), "z[2]");
  const RowsView<const float> bad_stride{z.data(), 4, 10, 5, Memory::Host};
  EXPECT_INVALID_ARGUMENT(softmax_rows<float>(cpu, bad_stride, rows_view(p)), "z");
  const RowsView<const float> on_device{z.data(), 4, 10, 10, Memory::Cuda};
  EXPECT_INVALID_ARGUMENT(softmax_rows<float>(cpu, on_device, rows_view(p)), "z");
}

TEST(InferenceRows, DeviceBufferBadInput) {
  EXPECT_INVALID_ARGUMENT(DeviceBuffer<float>(-1), "n");
  DeviceBuffer<float> empty(0);  // no allocation, so no device needed
  EXPECT_EQ(empty.size(), 0);
  EXPECT_INVALID_ARGUMENT(empty.rows(1, 1), "rows");
  float x = 0;
  EXPECT_INVALID_ARGUMENT(empty.copy_from_host(&x, 1), "n");
  EXPECT_INVALID_ARGUMENT(empty.copy_to_host(&x, 1), "n");
  if (!cuda_available()) {
    EXPECT_THROW(DeviceBuffer<float>(4), DeviceError);
  }
}

}  // namespace
}  // namespace probspace::inference

namespace probspace::inference {
namespace {

TEST(InferenceContext, CpuTimerMeasuresWallTimeAndDeferringHasNoEffect) {
  Context cpu(Device::Cpu);
  cpu.defer_errors(true);
  RowMatrixX<float> z = RowMatrixX<float>::Zero(2, 4), p(2, 4);
  z(1, 2) = std::nanf("");
  Timer timer(cpu);
  timer.start();
  EXPECT_INVALID_ARGUMENT(softmax_rows<float>(cpu, rows_view(std::as_const(z)), rows_view(p)), "z[1]");
  EXPECT_GE(timer.stop(), 0.0);
  cpu.synchronize();
}

}  // namespace
}  // namespace probspace::inference
