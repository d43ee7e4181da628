// softmax / sparsemax / entmax: outputs in Δ, invariances, limits and method agreement (spec §11.1–4).
#include "../support/testing.hpp"

#include <probspace/simplex/entmax.hpp>
#include <probspace/simplex/softmax.hpp>
#include <probspace/simplex/sparsemax.hpp>

#include <algorithm>
#include <numeric>

namespace probspace::simplex {
namespace {

using testing::tol;

template <class T> class Maps : public ::testing::Test {};
TYPED_TEST_SUITE(Maps, testing::Scalars);

/// The maps under test, by name.
template <class T> std::vector<std::pair<std::string, std::function<VectorX<T>(const VectorX<T>&)>>> all_maps() {
  return {
      {"softmax", [](const VectorX<T>& z) { return softmax(z); }},
      {"softmax(T=0.3)", [](const VectorX<T>& z) { return softmax(z, T(0.3)); }},
      {"sparsemax", [](const VectorX<T>& z) { return sparsemax(z); }},
      {"entmax1.25", [](const VectorX<T>& z) { return entmax(z, T(1.25)); }},
      {"entmax1.5", [](const VectorX<T>& z) { return entmax(z, T(1.5)); }},
      {"entmax1.5-bisection", [](const VectorX<T>& z) { return entmax(z, T(1.5), EntmaxMethod::Bisection); }},
      {"entmax3", [](const VectorX<T>& z) { return entmax(z, T(3)); }},
  };
}

TYPED_TEST(Maps, OutputsLieInTheSimplex) {
  using T = TypeParam;
  std::mt19937_64 rng(1);
  for (const auto& [name, map] : all_maps<T>()) {
    for (const Index n : {Index(1), Index(2), Index(17), Index(1000), Index(32000)}) {
      for (const double scale : {1e-3, 1.0, 10.0}) {
        const VectorX<T> p = map(testing::normal_vector<T>(rng, n, scale));
        EXPECT_GE(p.minCoeff(), T(0)) << name;
        EXPECT_NEAR(double(p.sum()), 1.0, 8 * double(std::numeric_limits<T>::epsilon()) * std::sqrt(double(n)))
            << name << " n " << n << " scale " << scale;
      }
    }
  }
}

TYPED_TEST(Maps, ShiftInvariantAndPermutationEquivariant) {
  using T = TypeParam;
  std::mt19937_64 rng(2);
  for (const auto& [name, map] : all_maps<T>()) {
    for (int trial = 0; trial < 50; ++trial) {
      const VectorX<T> z = testing::normal_vector<T>(rng, 40, 2.0);
      const VectorX<T> p = map(z);
      const VectorX<T> shifted = map(VectorX<T>(z.array() + T(3.25)));
      EXPECT_LE((shifted - p).cwiseAbs().maxCoeff(), tol<T>(1e-14)) << name;
      std::vector<Index> perm(40);
      std::iota(perm.begin(), perm.end(), 0);
      std::shuffle(perm.begin(), perm.end(), rng);
      VectorX<T> zp(40);
      for (Index i = 0; i < 40; ++i) zp[i] = z[perm[i]];
      const VectorX<T> pp = map(zp);
      // Permuting changes the order of the threshold's sums: equal to rounding.
      for (Index i = 0; i < 40; ++i) EXPECT_NEAR(pp[i], p[perm[i]], tol<T>(1e-14)) << name;
    }
  }
}

TYPED_TEST(Maps, MaskedEntriesGetZero) {
  using T = TypeParam;
  const T inf = std::numeric_limits<T>::infinity();
  const VectorX<T> z = testing::vec<T>({0.3, -inf, 1.0, -0.2, -inf});
  const VectorX<T> z_kept = testing::vec<T>({0.3, 1.0, -0.2});
  for (const auto& [name, map] : all_maps<T>()) {
    const VectorX<T> p = map(z), q = map(z_kept);
    EXPECT_EQ(p[1], T(0)) << name;
    EXPECT_EQ(p[4], T(0)) << name;
    EXPECT_NEAR(p[0], q[0], tol<T>(1e-15)) << name;
    EXPECT_NEAR(p[2], q[1], tol<T>(1e-15)) << name;
    EXPECT_NEAR(p[3], q[2], tol<T>(1e-15)) << name;
  }
}

TYPED_TEST(Maps, SoftmaxTemperatureToZeroGivesArgmaxVertex) {
  using T = TypeParam;
  const VectorX<T> z = testing::vec<T>({0.2, 1.0, 0.7, -3});
  const VectorX<T> p = softmax(z, T(1e-3));
  EXPECT_NEAR(p[1], T(1), tol<T>(1e-100));
  EXPECT_LT(softmax(z, T(0.1))[1], T(0.96));  // not yet a vertex at a moderate temperature
}

TYPED_TEST(Maps, EntmaxAtAlphaTwoIsExactlySparsemax) {
  using T = TypeParam;
  std::mt19937_64 rng(4);
  for (int trial = 0; trial < 100; ++trial) {
    const VectorX<T> z = testing::normal_vector<T>(rng, 30, 1.0);
    EXPECT_EQ(entmax(z, T(2)), sparsemax(z));
  }
}

TYPED_TEST(Maps, EntmaxApproachesSoftmaxAsAlphaToOne) {
  using T = TypeParam;
  std::mt19937_64 rng(5);
  for (int trial = 0; trial < 20; ++trial) {
    const VectorX<T> z = testing::normal_vector<T>(rng, 50, 1.0);
    const VectorX<T> s = softmax(z);
    // α = 1.0001 is computed by the entmax algorithm and agrees to ~1e−4 (spec §11.4); the gap
    // shrinks linearly in α − 1, so it is the entmax path converging, not softmax returned early.
    const T gap4 = (entmax(z, T(1.0001)) - s).cwiseAbs().maxCoeff();
    const T gap3 = (entmax(z, T(1.001)) - s).cwiseAbs().maxCoeff();
    EXPECT_LE(gap4, T(5e-4));
    EXPECT_GT(gap4, T(1e-6));
    EXPECT_NEAR(gap3 / gap4, T(10), T(1));
    // Below the cutoff the limit itself is returned.
    if constexpr (std::is_same_v<T, double>) {
      EXPECT_LE((entmax(z, 1 + 1e-9) - s).cwiseAbs().maxCoeff(), 1e-15);
    }
  }
}

TYPED_TEST(Maps, Entmax15ExactAndBisectionAgree) {
  using T = TypeParam;
  std::mt19937_64 rng(6);
  for (const Index n : {Index(1), Index(5), Index(100), Index(5000)}) {
    for (const double scale : {0.01, 1.0, 20.0}) {
      const VectorX<T> z = testing::normal_vector<T>(rng, n, scale);
      VectorX<T> pe(n), pb(n);
      const auto te = entmax(z, pe, T(1.5), EntmaxMethod::Exact15);
      const auto tb = entmax(z, pb, T(1.5), EntmaxMethod::Bisection);
      EXPECT_NEAR(te.tau, tb.tau, tol<T>(1e-12) * std::max(T(1), std::abs(te.tau))) << n << " " << scale;
      EXPECT_LE((pe - pb).cwiseAbs().maxCoeff(), tol<T>(1e-12)) << n << " " << scale;
      EXPECT_EQ(te.support_size, tb.support_size);
    }
  }
}

TYPED_TEST(Maps, EntmaxThresholdReproducesOutput) {
  using T = TypeParam;
  // p = [(α−1)z − τ]₊^{1/(α−1)} with the returned τ, for general α.
  std::mt19937_64 rng(8);
  for (const double alpha : {1.1, 1.25, 1.5, 1.75, 2.5, 4.0}) {
    const VectorX<T> z = testing::normal_vector<T>(rng, 60, 1.5);
    VectorX<T> p(60);
    const auto t = entmax(z, p, T(alpha));
    Index support = 0;
    for (Index i = 0; i < 60; ++i) {
      const double d = std::max((alpha - 1) * double(z[i]) - double(t.tau), 0.0);
      // τ is returned in T; in float its rounding is amplified by the power 1/(α−1).
      const double tolerance = std::is_same_v<T, double> ? 1e-12 : 1e-5 / (alpha - 1);
      EXPECT_NEAR(double(p[i]), std::pow(d, 1 / (alpha - 1)), tolerance) << alpha;
      support += d > 0;
    }
    EXPECT_EQ(t.support_size, support) << alpha;
  }
}

}  // namespace
}  // namespace probspace::simplex
