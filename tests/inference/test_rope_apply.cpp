// inference::rope_apply on the CPU backend against the rope module's reference rotation, both
// layouts, partial rotary, bfloat16 storage, bad input.
#include <probspace/inference/eigen_view.hpp>
#include <probspace/inference/rope_apply.hpp>
#include <probspace/rope/frequencies.hpp>
#include <probspace/rope/rotation.hpp>

#include "../support/testing.hpp"

namespace probspace::inference {
namespace {

struct Case {
  rope::Layout layout;
  Index head_dim, rotary_dim;
};

TEST(InferenceRopeApply, CpuMatchesTheReferenceRotation) {
  const Index tokens = 23, heads = 3, length = 4096;
  std::mt19937_64 rng(5);
  for (const Case c : {Case{rope::Layout::Half, 64, 64}, Case{rope::Layout::Interleaved, 64, 64},
                       Case{rope::Layout::Half, 64, 32}, Case{rope::Layout::Interleaved, 128, 96}}) {
    const rope::RotaryEmbedding embedding(rope::default_inv_freq(c.rotary_dim, 1e4), c.layout, c.head_dim);
    const auto table = rope::cos_sin_table<float>(embedding, length);
    RowMatrixX<float> x(tokens, heads * c.head_dim);
    for (Index r = 0; r < tokens; ++r) x.row(r) = probspace::testing::normal_vector<float>(rng, x.cols()).transpose();
    std::vector<std::int32_t> positions(static_cast<std::size_t>(tokens));
    Eigen::VectorXd pos_d(tokens);
    for (Index t = 0; t < tokens; ++t) {
      positions[std::size_t(t)] = std::int32_t((t * 977 + 13) % length);
      pos_d[t] = positions[std::size_t(t)];
    }
    RowMatrixX<float> want = x;
    rope::rotate(want, pos_d, embedding);
    Context cpu(Device::Cpu);
    RowMatrixX<float> got = x;
    rope_apply<float>(cpu, rows_view(got), positions.data(), rows_view(table.cos), rows_view(table.sin), c.head_dim,
                      c.layout == rope::Layout::Half ? RopeLayout::Half : RopeLayout::Interleaved);
    EXPECT_LT((got - want).cwiseAbs().maxCoeff(), 2e-5f) << rope::to_string(c.layout) << " rotary " << c.rotary_dim;
    // bfloat16 storage: the rotation of the rounded input, rounded once.
    std::vector<bfloat16> xb(std::size_t(x.size()));
    RowMatrixX<float> rounded(x.rows(), x.cols());
    for (Index i = 0; i < x.size(); ++i) {
      xb[std::size_t(i)] = to_bfloat16(x.data()[i]);
      rounded.data()[i] = to_float(xb[std::size_t(i)]);
    }
    rope_apply<bfloat16>(cpu, {xb.data(), tokens, x.cols(), x.cols(), Memory::Host}, positions.data(),
                         rows_view(table.cos), rows_view(table.sin), c.head_dim,
                         c.layout == rope::Layout::Half ? RopeLayout::Half : RopeLayout::Interleaved);
    rope::rotate(rounded, pos_d, embedding);
    for (Index i = 0; i < x.size(); ++i)
      ASSERT_NEAR(to_float(xb[std::size_t(i)]), rounded.data()[i], 1e-5f + 8e-3f * std::abs(rounded.data()[i])) << i;
  }
}

TEST(InferenceRopeApply, BadInputNamesTheArgument) {
  const rope::RotaryEmbedding embedding(rope::default_inv_freq(8, 1e4), rope::Layout::Half, 8);
  const auto table = rope::cos_sin_table<float>(embedding, 16);
  RowMatrixX<float> x = RowMatrixX<float>::Zero(2, 16);
  std::vector<std::int32_t> positions{3, 16};
  Context cpu(Device::Cpu);
  const auto apply = [&](std::ptrdiff_t head_dim) {
    rope_apply<float>(cpu, rows_view(x), positions.data(), rows_view(table.cos), rows_view(table.sin), head_dim,
                      RopeLayout::Half);
  };
  EXPECT_INVALID_ARGUMENT(apply(8), "positions[1]");
  positions[1] = -1;
  EXPECT_INVALID_ARGUMENT(apply(8), "positions[1]");
  positions[1] = 15;
  EXPECT_NO_THROW(apply(8));
  EXPECT_INVALID_ARGUMENT(apply(6), "head_dim");   // below rotary_dim
  EXPECT_INVALID_ARGUMENT(apply(12), "head_dim");  // does not divide 16 (and fine otherwise)
  EXPECT_INVALID_ARGUMENT(rope_apply<float>(cpu, rows_view(x), positions.data(), rows_view(table.cos),
                                            {table.sin.data(), 15, 4, 4, Memory::Host}, 8, RopeLayout::Half),
                          "sin");
}

}  // namespace
}  // namespace probspace::inference
