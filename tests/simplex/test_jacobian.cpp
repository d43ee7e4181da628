// JVP/VJP of softmax, sparsemax and entmax against central finite differences; J symmetric,
// J·1 = 0 (spec §5, §11.7).
#include "../support/testing.hpp"

#include <probspace/simplex/entmax.hpp>
#include <probspace/simplex/jacobian.hpp>
#include <probspace/simplex/softmax.hpp>
#include <probspace/simplex/sparsemax.hpp>

namespace probspace::simplex {
namespace {

template <class T> class Jacobian : public ::testing::Test {};
TYPED_TEST_SUITE(Jacobian, testing::Scalars);

struct MapCase {
  std::string name;
  std::function<Eigen::VectorXd(const Eigen::VectorXd&)> forward;  // in double, for finite differences
  double alpha;                                                      // 0: softmax, 2: sparsemax
};

std::vector<MapCase> cases() {
  std::vector<MapCase> c;
  c.push_back({"softmax(T=0.7)", [](const Eigen::VectorXd& z) { return softmax(z, 0.7); }, 0});
  c.push_back({"sparsemax", [](const Eigen::VectorXd& z) { return sparsemax(z); }, 2});
  for (const double alpha : {1.25, 1.5, 3.0})
    c.push_back({"entmax" + std::to_string(alpha), [alpha](const Eigen::VectorXd& z) { return entmax(z, alpha); },
                 alpha});
  return c;
}

/// out = J v through the API under test, in T.
template <class T> VectorX<T> jvp(const MapCase& c, const VectorX<T>& z, const VectorX<T>& v) {
  VectorX<T> out(z.size());
  if (c.alpha == 0) {
    softmax_jvp(softmax(z, T(0.7)), v, out, T(0.7));
  } else if (c.name == "sparsemax") {
    sparsemax_jvp(sparsemax(z), v, out);
  } else {
    entmax_jvp(entmax(z, T(c.alpha)), v, T(c.alpha), out);
  }
  return out;
}

/// A random z whose sparse maps sit ≥ 1e−3 away from a support change (where J jumps).
Eigen::VectorXd smooth_point(std::mt19937_64& rng, const MapCase& c, Index n) {
  for (;;) {
    const Eigen::VectorXd z = testing::normal_vector<double>(rng, n, 1.5);
    if (c.alpha == 0) return z;
    const Eigen::VectorXd p = c.forward(z);
    bool near_change = false;
    for (Index i = 0; i < n; ++i) {
      if (p[i] > 0) continue;
      Eigen::VectorXd bumped = z;
      bumped[i] += 1e-3;
      near_change |= c.forward(bumped)[i] > 0;
    }
    if (!near_change && (p.array() > 0).count() > 1) return z;
  }
}

TYPED_TEST(Jacobian, JvpMatchesFiniteDifferences) {
  using T = TypeParam;
  std::mt19937_64 rng(9);
  for (const auto& c : cases()) {
    for (int trial = 0; trial < 20; ++trial) {
      const Eigen::VectorXd z = smooth_point(rng, c, 9);
      const Eigen::VectorXd v = testing::normal_vector<double>(rng, 9);
      const Eigen::VectorXd fd = testing::fd_jvp(c.forward, z, v);
      const VectorX<T> got = jvp<T>(c, z.cast<T>(), v.cast<T>());
      const double tolerance = std::is_same_v<T, double> ? 1e-8 : 2e-5;
      EXPECT_LE((got.template cast<double>() - fd).cwiseAbs().maxCoeff(), tolerance * std::max(1.0, fd.norm()))
          << c.name << " trial " << trial;
    }
  }
}

TYPED_TEST(Jacobian, JacobianIsSymmetricWithOnesInKernel) {
  using T = TypeParam;
  std::mt19937_64 rng(10);
  const Index n = 8;
  for (const auto& c : cases()) {
    const VectorX<T> z = smooth_point(rng, c, n).cast<T>();
    Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic> J(n, n);
    for (Index j = 0; j < n; ++j) J.col(j) = jvp<T>(c, z, VectorX<T>::Unit(n, j));
    const T tolerance = testing::tol<T>(1e-15);
    EXPECT_LE((J - J.transpose()).cwiseAbs().maxCoeff(), tolerance) << c.name;
    EXPECT_LE((J * VectorX<T>::Ones(n)).cwiseAbs().maxCoeff(), tolerance) << c.name;
  }
}

}  // namespace
}  // namespace probspace::simplex
