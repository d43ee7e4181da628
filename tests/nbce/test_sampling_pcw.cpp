// Sampling at τ = 0.01 (spec nbce.md §8, §13.11) and the PCW relation on a one-layer attention toy
// (§10, §13.13).
#include "nbce_testing.hpp"

#include <probspace/core/stable.hpp>
#include <probspace/nbce/sampling.hpp>

namespace probspace::nbce::testing {
namespace {

TEST(Sampling, TauPointZeroOnePicksTheArgmaxExceptWithProbabilityExpMinusGapOverTau) {
  const VectorX<double> s = dvec({0.0, -0.05, -3.0, -std::numeric_limits<double>::infinity()});
  const double tau = 0.01;
  const double runner_up = std::exp(-5.0) / (1 + std::exp(-5.0) + std::exp(-300.0));  // ≈ e^{−Δ/τ}, Δ = 0.05
  // Inverse CDF on a uniform grid of u: the share of each token is its probability.
  const int grid = 200000;
  std::array<int, 4> count{};
  for (int i = 0; i < grid; ++i) ++count[std::size_t(sample(s, tau, (i + 0.5) / grid))];
  EXPECT_NEAR(double(count[1]) / grid, runner_up, 1e-5);
  EXPECT_NEAR(runner_up, 0.0066929, 1e-6);  // "Δ = 0.05 ≈ 0.7 %"
  EXPECT_EQ(count[2], 0);
  EXPECT_EQ(count[3], 0);
  EXPECT_EQ(count[0] + count[1], grid);
  // With a generator: within 4 standard deviations.
  std::mt19937_64 g(1);
  const int draws = 100000;
  int ones = 0;
  for (int i = 0; i < draws; ++i) ones += sample(VectorX<float>(s.cast<float>()), tau, g) == 1;
  EXPECT_NEAR(double(ones) / draws, runner_up, 4 * std::sqrt(runner_up / draws));
}

/// One-layer, one-head attention LM: logits = Σ_i a_i v_i W with a = softmax(q·k) over the
/// positions attended to (§10).
struct AttentionToy {
  Eigen::MatrixXd keys, values, w;  // [positions, d], [positions, d], [d, V]
  Eigen::VectorXd q;
  Eigen::VectorXd logits(const std::vector<Index>& positions) const {
    Eigen::VectorXd scores(Index(positions.size()));
    for (std::size_t i = 0; i < positions.size(); ++i) scores[Index(i)] = q.dot(keys.row(positions[i]));
    const Eigen::VectorXd a = (scores.array() - scores.maxCoeff()).exp() / (scores.array() - scores.maxCoeff()).exp().sum();
    Eigen::VectorXd out = Eigen::VectorXd::Zero(w.cols());
    for (std::size_t i = 0; i < positions.size(); ++i) out += a[Index(i)] * (values.row(positions[i]) * w).transpose();
    return out;
  }
};

TEST(Pcw, AveragePoolingWithBetaZeroEqualsJointAttentionIffPartitionSumsAreEqual) {
  std::mt19937_64 rng(8);
  const Index d = 6, vocab = 11, per_context = 5, n = 3;
  AttentionToy toy;
  toy.q = probspace::testing::normal_vector<double>(rng, d);
  toy.keys = Eigen::MatrixXd(n * per_context, d);
  toy.values = Eigen::MatrixXd(n * per_context, d);
  toy.w = Eigen::MatrixXd(d, vocab);
  for (Index i = 0; i < toy.values.size(); ++i) toy.values.data()[i] = probspace::testing::normal_vector<double>(rng, 1)[0];
  for (Index i = 0; i < toy.w.size(); ++i) toy.w.data()[i] = probspace::testing::normal_vector<double>(rng, 1)[0];
  // Equal partition sums: every context holds the same multiset of keys, in a different order.
  Eigen::MatrixXd base(per_context, d);
  for (Index i = 0; i < base.size(); ++i) base.data()[i] = probspace::testing::normal_vector<double>(rng, 1)[0];
  for (Index k = 0; k < n; ++k)
    for (Index i = 0; i < per_context; ++i) toy.keys.row(k * per_context + i) = base.row((i + k) % per_context);

  const auto compare = [&](const AttentionToy& t) {
    RowMatrixX<double> rows(n + 1, vocab);
    rows.row(0).setZero();
    std::vector<Index> all;
    for (Index k = 0; k < n; ++k) {
      std::vector<Index> ctx;
      for (Index i = 0; i < per_context; ++i) ctx.push_back(k * per_context + i);
      all.insert(all.end(), ctx.begin(), ctx.end());
      rows.row(k + 1) = t.logits(ctx).transpose();
    }
    const VectorX<double> nbce = nbce_distribution(rows, untruncated(Pooling::Average, 0));
    const VectorX<double> pcw = probspace::log_softmax(t.logits(all)).array().exp();
    return (nbce - pcw).cwiseAbs().maxCoeff();
  };
  EXPECT_LT(compare(toy), 1e-14);
  AttentionToy unequal = toy;
  unequal.keys.row(0) *= 3.0;  // context 1's partition sum changes
  EXPECT_GT(compare(unequal), 1e-4);
}

}  // namespace
}  // namespace probspace::nbce::testing
