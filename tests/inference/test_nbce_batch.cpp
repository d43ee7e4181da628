// The batched NBCE step on the CPU backend: every sequence equals nbce::Decoder<double> run on it
// alone (selection, entropies, log-probs, over several steps with hysteresis), bfloat16 inputs, and
// bad input.
#include <probspace/inference/eigen_view.hpp>
#include <probspace/inference/nbce_batch.hpp>

#include "../support/inference.hpp"

namespace probspace::inference {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

nbce::Options options(nbce::Pooling pooling, nbce::Truncation truncation) {
  nbce::Options o;
  o.pooling = pooling;
  o.truncation = truncation;
  o.empty_support = nbce::EmptySupport::Report;
  o.beta = 0.25;
  o.eta = 0.1;
  return o;
}

RowMatrixX<float> batch_logits(Index batch, Index rows, Index vocab, std::uint64_t seed) {
  RowMatrixX<float> z = probspace::testing::normal_rows(batch * rows, vocab, seed, 2.5);
  z(1, 7) = -kInf;
  return z;
}

TEST(InferenceNbceBatch, EachSequenceEqualsADoubleDecoderOverSteps) {
  const Index batch = 3, rows = 5, vocab = 2000;
  Context cpu(Device::Cpu);
  for (const auto pooling : {nbce::Pooling::MinEntropy, nbce::Pooling::Average, nbce::Pooling::SoftEntropy, nbce::Pooling::Max})
    for (const auto truncation : {nbce::Truncation::None(), nbce::Truncation::TopP(0.9), nbce::Truncation::TopK(40)}) {
      const nbce::Options o = options(pooling, truncation);
      NbceBatch step(cpu, o, batch, rows, vocab);
      std::vector<nbce::Decoder<double>> oracle(batch, nbce::Decoder<double>(o));
      RowMatrixX<float> log_probs(batch, vocab);
      std::vector<std::int32_t> selected(batch);
      std::vector<float> entropies(std::size_t(batch * rows));
      for (int t = 0; t < 3; ++t) {
        const RowMatrixX<float> z = batch_logits(batch, rows, vocab, std::uint64_t(10 * t + 1));
        step.step<float>(rows_view(z), rows_view(log_probs), selected.data(), entropies.data());
        for (Index b = 0; b < batch; ++b) {
          const RowMatrixX<double> zb = z.middleRows(b * rows, rows).cast<double>();
          const auto& want = oracle[std::size_t(b)].step(zb);
          EXPECT_EQ(selected[std::size_t(b)], want.selected);
          for (Index r = 0; r < rows; ++r)
            EXPECT_NEAR(entropies[std::size_t(b * rows + r)], want.entropies[r], 1e-4) << b << "," << r;
          for (Index v = 0; v < vocab; ++v) {
            if (want.log_probs[v] == -kInf) {
              EXPECT_EQ(log_probs(b, v), -kInf) << b << "," << v;
            } else {
              EXPECT_NEAR(log_probs(b, v), want.log_probs[v], 1e-4 * (1 + std::abs(want.log_probs[v]))) << b << "," << v;
            }
          }
        }
      }
    }
}

TEST(InferenceNbceBatch, Bfloat16InputIsTheWidenedFloatStep) {
  const Index batch = 2, rows = 3, vocab = 500;
  const RowMatrixX<float> z = batch_logits(batch, rows, vocab, 5);
  const std::vector<bfloat16> zb = probspace::testing::stored_as<bfloat16>(z);
  const RowMatrixX<float> widened = probspace::testing::widened(zb, z.rows(), z.cols());
  Context cpu(Device::Cpu);
  const nbce::Options o = options(nbce::Pooling::MinEntropy, nbce::Truncation::TopP(0.95));
  NbceBatch a(cpu, o, batch, rows, vocab), b(cpu, o, batch, rows, vocab);
  RowMatrixX<float> la(batch, vocab), lb(batch, vocab);
  std::vector<std::int32_t> sa(batch), sb(batch);
  std::vector<float> ea(std::size_t(batch * rows)), eb(std::size_t(batch * rows));
  a.step<bfloat16>({zb.data(), batch * rows, vocab, vocab, Memory::Host}, rows_view(la), sa.data(), ea.data());
  b.step<float>(rows_view(widened), rows_view(lb), sb.data(), eb.data());
  EXPECT_EQ(la, lb);
  EXPECT_EQ(sa, sb);
  EXPECT_EQ(ea, eb);
}

TEST(InferenceNbceBatch, BadInputNamesTheArgument) {
  Context cpu(Device::Cpu);
  const nbce::Options o = options(nbce::Pooling::MinEntropy, nbce::Truncation::TopP(0.95));
  EXPECT_INVALID_ARGUMENT(NbceBatch(cpu, o, 0, 3, 10), "batch");
  EXPECT_INVALID_ARGUMENT(NbceBatch(cpu, o, 1, 1, 10), "rows_per_sequence");
  EXPECT_INVALID_ARGUMENT(NbceBatch(cpu, o, 1, 3, 0), "vocab");
  nbce::Options custom = o;
  custom.pooling = nbce::Pooling::Custom;
  EXPECT_INVALID_ARGUMENT(NbceBatch(cpu, custom, 1, 3, 10), "options.pooling");
  nbce::Options fallback = o;
  fallback.empty_support = nbce::EmptySupport::Fallback;
  EXPECT_INVALID_ARGUMENT(NbceBatch(cpu, fallback, 1, 3, 10), "options.empty_support");
  nbce::Options bad_p = o;
  bad_p.truncation = nbce::Truncation::TopP(1.5);
  EXPECT_INVALID_ARGUMENT(NbceBatch(cpu, bad_p, 1, 3, 10), "options.truncation");

  NbceBatch step(cpu, o, 2, 3, 10);
  RowMatrixX<float> z = batch_logits(2, 3, 10, 6), out(2, 10), wrong(1, 10);
  std::vector<std::int32_t> selected(2);
  std::vector<float> entropies(6);
  EXPECT_INVALID_ARGUMENT(step.step<float>(rows_view(std::as_const(z)), rows_view(wrong), selected.data(), entropies.data()),
                          "log_probs");
  EXPECT_INVALID_ARGUMENT(step.step<float>({z.data(), 5, 10, 10, Memory::Host}, rows_view(out), selected.data(), entropies.data()),
                          "logits");
  EXPECT_INVALID_ARGUMENT(step.step<float>(rows_view(std::as_const(z)), rows_view(out), nullptr, entropies.data()), "selected");
  EXPECT_INVALID_ARGUMENT(step.step<float>(rows_view(std::as_const(z)), rows_view(out), selected.data(), nullptr), "entropies");
  z(4, 2) = std::nanf("");  // sequence 1, row 1
  EXPECT_INVALID_ARGUMENT(step.step<float>(rows_view(std::as_const(z)), rows_view(out), selected.data(), entropies.data()),
                          "logits[4]");
}

}  // namespace
}  // namespace probspace::inference
