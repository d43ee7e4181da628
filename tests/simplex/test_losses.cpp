// Fenchel–Young losses: L ≥ 0, L = 0 iff ŷ = y, ∇L = ŷ − y by finite differences, the margin
// (spec §6, §11.8).
#include "../support/testing.hpp"

#include <probspace/core/stable.hpp>
#include <probspace/simplex/entmax.hpp>
#include <probspace/simplex/losses.hpp>
#include <probspace/simplex/softmax.hpp>
#include <probspace/simplex/sparsemax.hpp>

namespace probspace::simplex {
namespace {

template <class T> class Losses : public ::testing::Test {};
TYPED_TEST_SUITE(Losses, testing::Scalars);

struct LossCase {
  Regularizer omega;
  double alpha;
  const char* name;
};
constexpr LossCase kCases[] = {{Regularizer::Shannon, 1.5, "softmax"},
                               {Regularizer::Euclidean, 1.5, "sparsemax"},
                               {Regularizer::Tsallis, 1.5, "entmax1.5"},
                               {Regularizer::Tsallis, 1.25, "entmax1.25"},
                               {Regularizer::Tsallis, 3.0, "entmax3"}};

Eigen::VectorXd prediction(const LossCase& c, const Eigen::VectorXd& z) {
  switch (c.omega) {
    case Regularizer::Shannon: return softmax(z);
    case Regularizer::Euclidean: return sparsemax(z);
    case Regularizer::Tsallis: break;
  }
  return entmax(z, c.alpha);
}

TYPED_TEST(Losses, GradientIsPredictionMinusTargetAndMatchesFiniteDifferences) {
  using T = TypeParam;
  std::mt19937_64 rng(12);
  for (const auto& c : kCases) {
    for (int trial = 0; trial < 20; ++trial) {
      const Eigen::VectorXd z = testing::normal_vector<double>(rng, 7, 1.5);
      const Index k = trial % 7;
      Eigen::VectorXd y = (testing::normal_vector<double>(rng, 7, 1.0)).array().exp();
      y /= y.sum();
      const double tolerance = std::is_same_v<T, double> ? 1e-7 : 1e-4;
      // Index target.
      VectorX<T> grad(7);
      const T loss = fenchel_young_loss(c.omega, VectorX<T>(z.cast<T>()), k, grad, T(c.alpha));
      EXPECT_GE(loss, T(0));
      const Eigen::VectorXd fd_k = testing::fd_gradient(
          [&](const Eigen::VectorXd& x) { return fenchel_young_loss(c.omega, x, k, c.alpha); }, z);
      EXPECT_LE((grad.template cast<double>() - fd_k).cwiseAbs().maxCoeff(), tolerance) << c.name;
      EXPECT_LE((grad.template cast<double>() - (prediction(c, z) - Eigen::VectorXd::Unit(7, k))).cwiseAbs().maxCoeff(),
                testing::tol<T>(1e-14))
          << c.name;
      // Distribution target.
      const T loss_y = fenchel_young_loss(c.omega, VectorX<T>(z.cast<T>()), VectorX<T>(y.cast<T>()), grad, T(c.alpha));
      EXPECT_GE(loss_y, T(0));
      Eigen::VectorXd scratch(7);
      const Eigen::VectorXd fd_y = testing::fd_gradient(
          [&](const Eigen::VectorXd& x) { return fenchel_young_loss(c.omega, x, y, scratch, c.alpha); }, z);
      EXPECT_LE((grad.template cast<double>() - fd_y).cwiseAbs().maxCoeff(), tolerance) << c.name;
    }
  }
}

TYPED_TEST(Losses, ZeroExactlyAtThePrediction) {
  using T = TypeParam;
  std::mt19937_64 rng(13);
  for (const auto& c : kCases) {
    const VectorX<T> z = testing::normal_vector<T>(rng, 12, 1.0);
    const VectorX<T> yhat = prediction(c, z.template cast<double>()).template cast<T>();
    VectorX<T> grad(12);
    EXPECT_NEAR(fenchel_young_loss(c.omega, z, yhat, grad, T(c.alpha)), T(0), testing::tol<T>(1e-13)) << c.name;
    EXPECT_LE(grad.cwiseAbs().maxCoeff(), testing::tol<T>(1e-14)) << c.name;
    // Any other target gives a positive loss.
    VectorX<T> other = yhat;
    other.setConstant(T(1) / T(12));
    EXPECT_GT(fenchel_young_loss(c.omega, z, other, grad, T(c.alpha)), T(1e-4)) << c.name;
  }
}

TYPED_TEST(Losses, SoftmaxLossIsCrossEntropy) {
  using T = TypeParam;
  const VectorX<T> z = testing::vec<T>({0.4, -1.0, 2.5, 0.0});
  for (Index k = 0; k < 4; ++k) EXPECT_NEAR(softmax_loss(z, k), cross_entropy(z, k), testing::tol<T>(1e-14));
}

TYPED_TEST(Losses, ZeroLossMarginIsExactlyOneOverAlphaMinusOne) {
  using T = TypeParam;
  for (const double alpha : {1.25, 1.5, 2.0, 3.0}) {
    const double margin = 1 / (alpha - 1);
    const VectorX<T> at = testing::vec<T>({margin, 0.0, -0.5});
    const VectorX<T> inside = testing::vec<T>({0.8 * margin, 0.0, -0.5});
    EXPECT_EQ(entmax_loss(at, 0, T(alpha)), T(0)) << alpha;
    EXPECT_GT(entmax_loss(inside, 0, T(alpha)), T(0)) << alpha;
  }
  // Softmax has no margin: the loss is positive however large the gap.
  EXPECT_GT(softmax_loss(testing::vec<T>({10.0, 0.0}), 0), T(0));
}

TYPED_TEST(Losses, ConvexInZ) {
  using T = TypeParam;
  std::mt19937_64 rng(14);
  for (const auto& c : kCases) {
    for (int trial = 0; trial < 20; ++trial) {
      const VectorX<T> a = testing::normal_vector<T>(rng, 6, 2.0), b = testing::normal_vector<T>(rng, 6, 2.0);
      const T mid = fenchel_young_loss(c.omega, VectorX<T>((a + b) / T(2)), 2, T(c.alpha));
      const T ends = (fenchel_young_loss(c.omega, a, 2, T(c.alpha)) + fenchel_young_loss(c.omega, b, 2, T(c.alpha))) / 2;
      EXPECT_LE(mid, ends + testing::tol<T>(1e-13)) << c.name;
    }
  }
}

}  // namespace
}  // namespace probspace::simplex
