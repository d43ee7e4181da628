// KKT certificates (spec §2.1, §11.2): closed forms certify; non-optimal points do not; the FW gap
// bounds the suboptimality of a convex objective.
#include "../support/testing.hpp"

#include <probspace/simplex/entmax.hpp>
#include <probspace/simplex/kkt.hpp>
#include <probspace/simplex/softmax.hpp>
#include <probspace/simplex/sparsemax.hpp>

namespace probspace::simplex {
namespace {

using testing::tol;
using testing::vec;

template <class T> class Kkt : public ::testing::Test {};
TYPED_TEST_SUITE(Kkt, testing::Scalars);

/// ∇F at p for the regularised linear objectives of spec §3.
template <class T> VectorX<T> gradient_softmax(const VectorX<T>& z, const VectorX<T>& p, T temperature) {
  return VectorX<T>(-z.array() + temperature * (p.array().log() + T(1)));
}
template <class T> VectorX<T> gradient_sparsemax(const VectorX<T>& z, const VectorX<T>& p) { return p - z; }
template <class T> VectorX<T> gradient_entmax(const VectorX<T>& z, const VectorX<T>& p, T alpha) {
  // F = −z·p − H_α(p): ∂F/∂p_i = −z_i + (α p_i^{α−1} − 1)/(α(α−1)).
  return VectorX<T>(-z.array() + (alpha * p.array().pow(alpha - 1) - T(1)) / (alpha * (alpha - 1)));
}

template <class T> void expect_certified(const KktCertificate<T>& c, T tolerance, const char* what) {
  EXPECT_LE(c.feasibility, tolerance) << what;
  EXPECT_LE(c.fw_gap, tolerance) << what;
  EXPECT_LE(c.stationarity, tolerance) << what;
  EXPECT_LE(c.complementarity, tolerance) << what;
  EXPECT_LE(c.max_complementarity, tolerance) << what;
  EXPECT_LE(c.natural_residual, tolerance) << what;
}

TYPED_TEST(Kkt, ClosedFormsCertify) {
  using T = TypeParam;
  std::mt19937_64 rng(15);
  for (int trial = 0; trial < 50; ++trial) {
    const VectorX<T> z = testing::normal_vector<T>(rng, 20, 1.0);
    const T tolerance = tol<T>(1e-14) * 10;
    const VectorX<T> ps = softmax(z, T(0.5));
    expect_certified(kkt_certificate(ps, gradient_softmax(z, ps, T(0.5))), tolerance, "softmax");
    const VectorX<T> pm = sparsemax(z);
    const auto cm = kkt_certificate(pm, gradient_sparsemax(z, pm));
    expect_certified(cm, tolerance, "sparsemax");
    // Multipliers: λ = −min g, μ = g − min g ≥ 0 with μ_i p_i = 0.
    const VectorX<T> g = gradient_sparsemax(z, pm);
    const VectorX<T> mu = g.array() + cm.lambda;
    EXPECT_GE(mu.minCoeff(), -tolerance);
    EXPECT_LE(mu.cwiseProduct(pm).cwiseAbs().maxCoeff(), tolerance);
    for (const T alpha : {T(1.25), T(1.5), T(3)}) {
      const VectorX<T> pe = entmax(z, alpha);
      expect_certified(kkt_certificate(pe, gradient_entmax(z, pe, alpha)), tolerance * 10, "entmax");
    }
  }
}

TYPED_TEST(Kkt, SpecQuadraticAtUniform) {
  using T = TypeParam;
  // F(p) = ½‖p − z‖² at p₀ = uniform: G₀ = 0.675 (spec §10).
  const VectorX<T> z = vec<T>({1.0, 0.5, 0.1, -0.3});
  const VectorX<T> p0 = VectorX<T>::Constant(4, T(0.25));
  const auto c = kkt_certificate(p0, gradient_sparsemax(z, p0));
  EXPECT_NEAR(c.fw_gap, T(0.675), tol<T>(1e-15));
  EXPECT_NEAR(c.lambda, T(0.75), tol<T>(1e-15));
  EXPECT_NEAR(c.stationarity, T(1.3), tol<T>(1e-15));
  EXPECT_EQ(c.support_size, 4);
  EXPECT_NEAR(c.max_complementarity, T(0.25 * 1.3), tol<T>(1e-15));
  EXPECT_GT(c.natural_residual, T(0.1));
}

TYPED_TEST(Kkt, FwGapBoundsSuboptimalityOfConvexQuadratic) {
  using T = TypeParam;
  std::mt19937_64 rng(16);
  std::exponential_distribution<double> expo;
  for (int trial = 0; trial < 200; ++trial) {
    const VectorX<T> z = testing::normal_vector<T>(rng, 10, 1.0);
    const VectorX<T> star = sparsemax(z);
    const double f_star = 0.5 * (star - z).template cast<double>().squaredNorm();
    VectorX<T> p(10);
    for (Index i = 0; i < 10; ++i) p[i] = T(expo(rng));
    p /= p.sum();
    const auto c = kkt_certificate(p, gradient_sparsemax(z, p));
    const double gap = 0.5 * (p - z).template cast<double>().squaredNorm() - f_star;
    EXPECT_LE(gap, double(c.fw_gap) + 1e-6);
    EXPECT_GT(c.fw_gap, T(0));
  }
}

TYPED_TEST(Kkt, ReportsInfeasibilityAndComplementarityViolation) {
  using T = TypeParam;
  const auto c = kkt_certificate(vec<T>({0.7, 0.5, -0.1}), vec<T>({0.0, 0.0, 1.0}));
  EXPECT_NEAR(c.feasibility, T(0.1 + 0.1), tol<T>(1e-15));
  // Support {0, 1} has g = 0 while the off-support coordinate has g = −1: a violation of 1.
  const auto v = kkt_certificate(vec<T>({0.5, 0.5, 0.0}), vec<T>({0.0, 0.0, -1.0}));
  EXPECT_NEAR(v.complementarity, T(1), tol<T>(1e-15));
  EXPECT_EQ(v.stationarity, T(0));
  EXPECT_NEAR(v.fw_gap, T(1), tol<T>(1e-15));
  // Radius a: Δ_a feasibility and G = p·g − a·min g.
  const auto r = kkt_certificate(vec<T>({1.0, 1.0}), vec<T>({0.5, 0.5}), T(2));
  EXPECT_NEAR(r.feasibility, T(0), tol<T>(1e-15));
  EXPECT_NEAR(r.fw_gap, T(0), tol<T>(1e-15));
}

}  // namespace
}  // namespace probspace::simplex
