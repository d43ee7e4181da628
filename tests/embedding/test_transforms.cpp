// RMSNorm, the half swap and Haar-random orthogonal P (spec embedding.md §1, §5, §7.6).
#include "../support/testing.hpp"

#include <probspace/embedding/transforms.hpp>

#include <cmath>

namespace probspace::embedding {
namespace {

template <class T> class EmbeddingTransforms : public ::testing::Test {};
TYPED_TEST_SUITE(EmbeddingTransforms, testing::Scalars);

TYPED_TEST(EmbeddingTransforms, RmsNormaliseHasUnitRmsAndKeepsDirection) {
  using T = TypeParam;
  std::mt19937_64 rng(1);
  for (const Index d : {1, 7, 256}) {
    const VectorX<T> w = testing::normal_vector<T>(rng, d, 0.02);
    const VectorX<T> h = rms_normalise(w);
    EXPECT_NEAR(double(h.squaredNorm()) / double(d), 1.0, testing::tol<T>(1e-14) * 10);
    EXPECT_NEAR(double(h.dot(w)), double(h.norm() * w.norm()), testing::tol<T>(1e-14) * 10 * double(h.norm() * w.norm()));
    EXPECT_GT(double(h.dot(w)), 0);
    VectorX<T> in_place = w;
    rms_normalise(in_place, in_place);  // out may alias x
    EXPECT_EQ(in_place, h);
  }
  // No overflow for large entries: the norm is accumulated in double and scaled.
  const VectorX<T> big = VectorX<T>::Constant(4, T(std::is_same_v<T, float> ? 1e30 : 1e300));
  EXPECT_TRUE(rms_normalise(big).isApprox(VectorX<T>::Ones(4)));
}

// §5: S[h] = concat(h[d/2:], h[:d/2]); S∘S = id (§7.6).
TYPED_TEST(EmbeddingTransforms, HalfSwapIsAnInvolution) {
  using T = TypeParam;
  EXPECT_EQ(half_swap(testing::vec<T>({1, 2, 3, 4, 5, 6})), testing::vec<T>({4, 5, 6, 1, 2, 3}));
  std::mt19937_64 rng(2);
  for (const Index d : {2, 10, 256}) {
    const VectorX<T> h = testing::normal_vector<T>(rng, d);
    EXPECT_EQ(half_swap(half_swap(h)), h);
    VectorX<T> in_place = h;
    half_swap(in_place, in_place);
    EXPECT_EQ(in_place, half_swap(h));
    EXPECT_NEAR(double(half_swap(h).norm()), double(h.norm()), testing::tol<T>(1e-15) * double(h.norm()));
  }
}

// §7.6: S(h)·h = 2Σ_{k<d/2} h_k h_{k+d/2} has mean 0 (variance 2·(d/2)·2 = 2d for standard normal h).
TYPED_TEST(EmbeddingTransforms, HalfSwapOfHIsOrthogonalOnAverage) {
  using T = TypeParam;
  std::mt19937_64 rng(3);
  const Index d = 64;
  constexpr int kCount = 20000;
  double sum = 0, squares = 0, fourth = 0;
  for (int k = 0; k < kCount; ++k) {
    const VectorX<T> h = testing::normal_vector<T>(rng, d);
    const double x = double(half_swap(h).dot(h));
    sum += x;
    squares += x * x;
    fourth += x * x * x * x;
  }
  const double mean = sum / kCount, second = squares / kCount;
  EXPECT_NEAR(mean, 0.0, 4 * std::sqrt(second / kCount));
  EXPECT_NEAR(second, 2.0 * double(d), 4 * std::sqrt((fourth / kCount - second * second) / kCount));
}

// §7.6: P is orthogonal, so ‖hP‖ = ‖h‖ and the RMS stays 1; same seed, same P.
TYPED_TEST(EmbeddingTransforms, HaarOrthogonalPreservesNorm) {
  using T = TypeParam;
  std::mt19937_64 rng(4);
  for (const Index d : {1, 2, 17, 128}) {
    const RowMatrixX<T> p = haar_orthogonal<T>(d, 99);
    const double eps = testing::tol<T>(1e-13) * 10;
    EXPECT_LE(double((p.transpose() * p - RowMatrixX<T>::Identity(d, d)).cwiseAbs().maxCoeff()), eps) << d;
    const VectorX<T> h = rms_normalise(testing::normal_vector<T>(rng, d));
    const VectorX<T> hp = (h.transpose() * p).transpose();
    EXPECT_NEAR(double(hp.squaredNorm()) / double(d), 1.0, eps) << d;
    EXPECT_EQ(haar_orthogonal<T>(d, 99), p);
    if (d > 1) {
      EXPECT_NE(haar_orthogonal<T>(d, 100), p);
    }
  }
}

// Haar, not merely orthogonal: without the sign fix every Householder Q has Q₁₁ < 0. Over seeds,
// P₁₁ (the first coordinate of a uniform unit vector) has mean 0 and E P₁₁² = 1/d.
TEST(EmbeddingTransforms, HaarOrthogonalIsHaarDistributed) {
  const Index d = 16;
  constexpr int kCount = 1000;
  double sum = 0, squares = 0, fourth = 0;
  for (int k = 0; k < kCount; ++k) {
    const double x = haar_orthogonal<double>(d, std::uint64_t(k))(0, 0);
    sum += x;
    squares += x * x;
    fourth += x * x * x * x;
  }
  const double mean = sum / kCount, second = squares / kCount;
  EXPECT_NEAR(mean, 0.0, 4 * std::sqrt(second / kCount));
  EXPECT_NEAR(second, 1.0 / double(d), 4 * std::sqrt((fourth / kCount - second * second) / kCount));
}

TYPED_TEST(EmbeddingTransforms, RejectBadInput) {
  using T = TypeParam;
  const VectorX<T> empty(0), zero = VectorX<T>::Zero(4), good = testing::vec<T>({1, 2, 3, 4});
  const VectorX<T> with_nan = testing::vec<T>({1, std::nan(""), 3, 4}), odd = testing::vec<T>({1, 2, 3});
  const VectorX<T> with_inf = testing::vec<T>({1, INFINITY, 3, 4});
  VectorX<T> out(4), short_out(3);
  EXPECT_INVALID_ARGUMENT(rms_normalise(empty), "x");
  EXPECT_INVALID_ARGUMENT(rms_normalise(zero), "x");
  EXPECT_INVALID_ARGUMENT(rms_normalise(with_nan), "x");
  EXPECT_INVALID_ARGUMENT(rms_normalise(with_inf), "x");
  EXPECT_INVALID_ARGUMENT(rms_normalise(good, short_out), "out");
  EXPECT_INVALID_ARGUMENT(half_swap(empty), "x");
  EXPECT_INVALID_ARGUMENT(half_swap(odd), "x");
  EXPECT_INVALID_ARGUMENT(half_swap(with_nan), "x");
  EXPECT_INVALID_ARGUMENT(half_swap(good, short_out), "out");
  EXPECT_NO_THROW(half_swap(good, out));
  EXPECT_INVALID_ARGUMENT(haar_orthogonal<T>(0, 1), "d");
  EXPECT_INVALID_ARGUMENT(haar_orthogonal<T>(-2, 1), "d");
}

}  // namespace
}  // namespace probspace::embedding
