// core: stable logsumexp / log_softmax / entropy / KL / cross-entropy, with masked (−inf) entries.
#include "../support/testing.hpp"

#include <probspace/core/stable.hpp>

namespace probspace {
namespace {

using testing::tol;
using testing::vec;

template <class T> class Stable : public ::testing::Test {};
TYPED_TEST_SUITE(Stable, testing::Scalars);

constexpr double kInf = std::numeric_limits<double>::infinity();

TYPED_TEST(Stable, LogSumExpMatchesSpecReference) {
  using T = TypeParam;
  const auto z = vec<T>({1.0, 0.5, 0.1, -0.3});
  EXPECT_NEAR(logsumexp(z), T(1.8266426217513927), tol<T>(1e-14));
}

TYPED_TEST(Stable, LogSumExpIsShiftStableAndIgnoresMasked) {
  using T = TypeParam;
  const auto z = vec<T>({1.0, 0.5, 0.1, -0.3});
  const VectorX<T> big = z.array() + T(1e4);  // naive exp overflows
  EXPECT_NEAR(logsumexp(big), T(1e4) + T(1.8266426217513927), tol<T>(1e-11) * T(1e4));
  const auto masked = vec<T>({1.0, 0.5, -kInf, 0.1, -0.3, -kInf});
  EXPECT_NEAR(logsumexp(masked), logsumexp(z), tol<T>(1e-15));
}

TYPED_TEST(Stable, LogSoftmaxIsZMinusLseAndKeepsMasks) {
  using T = TypeParam;
  const auto z = vec<T>({2.0, -kInf, 0.0, -1.0});
  const VectorX<T> out = log_softmax(z);
  const T lse = logsumexp(z);
  EXPECT_NEAR(out[0], T(2) - lse, tol<T>(1e-15));
  EXPECT_EQ(out[1], -std::numeric_limits<T>::infinity());
  EXPECT_NEAR(out.array().exp().sum(), T(1), tol<T>(1e-15));
  VectorX<T> aliased = z;  // in place
  log_softmax(aliased, aliased);
  EXPECT_EQ(aliased, out);
}

TYPED_TEST(Stable, EntropyClosedForms) {
  using T = TypeParam;
  const VectorX<T> uniform = VectorX<T>::Constant(8, T(0.125));
  EXPECT_NEAR(entropy(uniform), T(std::log(8.0)), tol<T>(1e-15));
  EXPECT_EQ(entropy(vec<T>({0, 1, 0})), T(0));  // 0 log 0 = 0
  const auto z = vec<T>({1.0, 0.5, -kInf, 0.1, -0.3});
  const auto p = vec<T>({0.437515729035, 0.265366703766, 0, 0.177880621085, 0.119236946114});
  EXPECT_NEAR(entropy_of_logits(z), entropy(p), tol<T>(1e-11));
  // H(softmax z) = LSE(z) − Σ p z.
  EXPECT_NEAR(entropy_of_logits(z), T(1.8266426217513927) - T(p[0] * 1.0 + p[1] * 0.5 + p[3] * 0.1 - p[4] * 0.3),
              tol<T>(1e-11));
}

TYPED_TEST(Stable, KlDivergenceAndCrossEntropyIdentities) {
  using T = TypeParam;
  const auto p = vec<T>({0.5, 0.25, 0.25, 0});
  const auto q = vec<T>({0.25, 0.25, 0.25, 0.25});
  // KL(p‖uniform) = log n − H(p).
  EXPECT_NEAR(kl_divergence(p, q), T(std::log(4.0)) - entropy(p), tol<T>(1e-15));
  EXPECT_EQ(kl_divergence(p, p), T(0));
  EXPECT_EQ(kl_divergence(q, p), std::numeric_limits<T>::infinity());
  // CE(p, z) = H(p) + KL(p ‖ softmax z), with z = log q + c.
  const auto z = vec<T>({0.3, -1.2, 2.0, -kInf});
  const VectorX<T> log_q = log_softmax(z);
  const VectorX<T> qz = log_q.array().exp();
  EXPECT_NEAR(cross_entropy(p, z), entropy(p) + kl_divergence_of_logits(VectorX<T>(p.array().log()), z),
              tol<T>(1e-13));
  EXPECT_NEAR(kl_divergence_of_logits(VectorX<T>(p.array().log()), z), kl_divergence(p, qz), tol<T>(1e-12));
  EXPECT_NEAR(cross_entropy(z, 2), -log_q[2], tol<T>(1e-15));
  EXPECT_EQ(cross_entropy(z, 3), std::numeric_limits<T>::infinity());          // masked target
  EXPECT_EQ(cross_entropy(q, z), std::numeric_limits<T>::infinity());          // mass on a masked token
  EXPECT_EQ(kl_divergence_of_logits(VectorX<T>(q.array().log()), VectorX<T>(p.array().log())),
            std::numeric_limits<T>::infinity());
}

TYPED_TEST(Stable, RejectsBadInput) {
  using T = TypeParam;
  const VectorX<T> empty(0);
  const auto nan = vec<T>({1, std::nan(""), 0});
  const auto pinf = vec<T>({1, kInf, 0});
  const auto masked = vec<T>({-kInf, -kInf});
  const auto p = vec<T>({0.5, 0.5});
  EXPECT_INVALID_ARGUMENT(logsumexp(empty), "x");
  EXPECT_INVALID_ARGUMENT(logsumexp(nan), "x");
  EXPECT_INVALID_ARGUMENT(logsumexp(pinf), "x");
  EXPECT_INVALID_ARGUMENT(logsumexp(masked), "x");
  VectorX<T> out(3);
  EXPECT_INVALID_ARGUMENT(log_softmax(p, out), "out");
  EXPECT_INVALID_ARGUMENT(log_softmax(nan, out), "x");
  EXPECT_INVALID_ARGUMENT(entropy(vec<T>({0.5, 0.6})), "p");
  EXPECT_INVALID_ARGUMENT(entropy(vec<T>({1.5, -0.5})), "p");
  EXPECT_INVALID_ARGUMENT(entropy(empty), "p");
  EXPECT_INVALID_ARGUMENT(entropy_of_logits(masked), "z");
  EXPECT_INVALID_ARGUMENT(kl_divergence(p, vec<T>({1.0})), "q");
  EXPECT_INVALID_ARGUMENT(kl_divergence(nan, p), "p");
  EXPECT_INVALID_ARGUMENT(kl_divergence_of_logits(p, nan), "zq");
  EXPECT_INVALID_ARGUMENT(cross_entropy(p, nan), "z");
  EXPECT_INVALID_ARGUMENT(cross_entropy(p, 2), "target");
  EXPECT_INVALID_ARGUMENT(cross_entropy(p, -1), "target");
}

}  // namespace
}  // namespace probspace
