// Projection onto Δ_a and the ℓ1 ball: every method against a brute-force oracle (spec §11.5–6).
#include "../support/testing.hpp"

#include <probspace/simplex/projection.hpp>

#include <algorithm>
#include <numeric>

namespace probspace::simplex {
namespace {

constexpr ProjectionMethod kMethods[] = {ProjectionMethod::Sort, ProjectionMethod::Condat,
                                         ProjectionMethod::Bisection, ProjectionMethod::Auto};

/// Brute force: over every non-empty subset S of the finite entries, τ_S = (Σ_S y − a)/|S|; the
/// threshold is the root of φ(τ) = Σ(y − τ)₊ − a, i.e. the candidate with the smallest |φ(τ_S)|
/// (long double). Independent of any support-selection logic.
template <class T> long double oracle_tau(const VectorX<T>& y, double a) {
  std::vector<long double> finite;
  for (Index i = 0; i < y.size(); ++i)
    if (std::isfinite(y[i])) finite.push_back(static_cast<long double>(y[i]));
  const auto m = finite.size();
  long double best_tau = 0, best_phi = std::numeric_limits<long double>::infinity();
  for (unsigned mask = 1; mask < (1u << m); ++mask) {
    long double s = 0;
    int k = 0;
    for (std::size_t i = 0; i < m; ++i)
      if (mask & (1u << i)) s += finite[i], ++k;
    const long double tau = (s - a) / k;
    long double phi = -a;
    for (const long double v : finite) phi += std::max(v - tau, 0.0L);
    if (std::abs(phi) < best_phi) best_phi = std::abs(phi), best_tau = tau;
  }
  return best_tau;
}

/// A random input of n ≤ 10 entries: normal or integer-valued (ties), a random scale from tiny to
/// huge, and some −inf entries (at least one entry stays finite).
template <class T> VectorX<T> random_small_input(std::mt19937_64& rng) {
  std::uniform_int_distribution<int> size(1, 10), kind(0, 2), small_int(-2, 2);
  std::normal_distribution<double> normal;
  constexpr double scales[] = {1e-6, 1e-3, 0.1, 1.0, 10.0, 1e3, 1e6};
  const double scale = scales[std::uniform_int_distribution<int>(0, 6)(rng)];
  const Index n = size(rng);
  const int k = kind(rng);
  VectorX<T> y(n);
  for (Index i = 0; i < n; ++i) y[i] = T(scale * (k == 1 ? small_int(rng) : normal(rng)));
  if (k == 2 && n > 1) {
    for (Index i = 0; i < n; ++i)
      if (std::bernoulli_distribution(0.3)(rng)) y[i] = -std::numeric_limits<T>::infinity();
    y[std::uniform_int_distribution<Index>(0, n - 1)(rng)] = T(scale * normal(rng));
  }
  return y;
}

template <class T> class Projection : public ::testing::Test {};
TYPED_TEST_SUITE(Projection, testing::Scalars);

TYPED_TEST(Projection, EveryMethodMatchesBruteForceOracle) {
  using T = TypeParam;
  std::mt19937_64 rng(20261128);
  constexpr double radii[] = {0.3, 1.0, 5.0};
  constexpr int kTrials = 3000;
  for (int trial = 0; trial < kTrials; ++trial) {
    const VectorX<T> y = random_small_input<T>(rng);
    const double a = radii[trial % 3];
    const long double tau = oracle_tau(y, a);
    double max_abs = a;
    for (Index i = 0; i < y.size(); ++i)
      if (std::isfinite(y[i])) max_abs = std::max(max_abs, std::abs(double(y[i])));
    const double tolerance = 16 * double(std::numeric_limits<T>::epsilon()) * max_abs;
    // Support size is only well defined when no entry sits within rounding of τ.
    Index support = 0;
    bool boundary = false;
    for (Index i = 0; i < y.size(); ++i) {
      support += static_cast<long double>(y[i]) > tau;
      boundary |= std::abs(static_cast<long double>(y[i]) - tau) <= tolerance;
    }
    for (const auto method : kMethods) {
      VectorX<T> p(y.size());
      const auto t = project_simplex(y, p, T(a), method);
      SCOPED_TRACE(::testing::Message() << to_string(method) << " trial " << trial << " y = " << y.transpose()
                                        << " a = " << a);
      ASSERT_NEAR(double(t.tau), double(tau), tolerance);
      if (!boundary) {
        ASSERT_EQ(t.support_size, support);
      }
      for (Index i = 0; i < y.size(); ++i) {
        ASSERT_GE(p[i], T(0));
        ASSERT_NEAR(double(p[i]), double(std::max(static_cast<long double>(y[i]) - tau, 0.0L)), tolerance);
      }
      ASSERT_NEAR(double(p.sum()), a, tolerance * double(y.size()));
    }
  }
}

TYPED_TEST(Projection, L1BallMatchesOracleOnMagnitudes) {
  using T = TypeParam;
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 2000; ++trial) {
    VectorX<T> y = random_small_input<T>(rng);
    for (Index i = 0; i < y.size(); ++i)
      if (!std::isfinite(y[i])) y[i] = T(0);
    const double a = trial % 2 ? 0.5 : 3.0;
    const double norm = y.template cast<double>().template lpNorm<1>();
    const double tolerance = 16 * double(std::numeric_limits<T>::epsilon()) * std::max(a, y.cwiseAbs().maxCoeff() + 0.0);
    for (const auto method : kMethods) {
      VectorX<T> x(y.size());
      const auto t = project_l1_ball(y, x, T(a), method);
      if (norm <= a) {
        ASSERT_EQ(x, y);
        ASSERT_EQ(t.tau, T(0));
        continue;
      }
      const VectorX<T> magnitude = y.cwiseAbs();
      const long double tau = oracle_tau(magnitude, a);
      ASSERT_NEAR(double(t.tau), double(tau), tolerance);
      for (Index i = 0; i < y.size(); ++i) {
        ASSERT_NEAR(double(x[i]), std::copysign(double(std::max(static_cast<long double>(magnitude[i]) - tau, 0.0L)),
                                                double(y[i])), tolerance);
      }
      ASSERT_NEAR(x.template cast<double>().template lpNorm<1>(), a, tolerance * double(y.size()));
    }
  }
}

/// Large inputs: uniform, normal and near-degenerate (all entries within 1e-9 of each other).
template <class T> VectorX<T> large_input(int kind, Index n, std::mt19937_64& rng) {
  VectorX<T> y(n);
  std::uniform_real_distribution<double> uniform;
  std::normal_distribution<double> normal;
  for (Index i = 0; i < n; ++i)
    y[i] = T(kind == 0 ? uniform(rng) : kind == 1 ? normal(rng) : 1.0 + 1e-9 * uniform(rng));
  return y;
}

TYPED_TEST(Projection, MethodsAgreeOnLargeInputs) {
  using T = TypeParam;
  std::mt19937_64 rng(11);
  for (const Index n : {Index(1), Index(1000), Index(100000)}) {
    for (int kind = 0; kind < 3; ++kind) {
      for (const double a : {0.3, 1.0, 5.0}) {
        const VectorX<T> y = large_input<T>(kind, n, rng);
        const auto ref = simplex_threshold(y, T(a), ProjectionMethod::Sort);
        for (const auto method : {ProjectionMethod::Condat, ProjectionMethod::Bisection}) {
          const auto t = simplex_threshold(y, T(a), method);
          // Thresholds agree to relative 1e-14 in double (spec §11.5); τ is rounded to T.
          const double rel = std::is_same_v<T, double> ? 1e-14 : 2 * double(std::numeric_limits<T>::epsilon());
          EXPECT_NEAR(double(t.tau), double(ref.tau), rel * std::max(1.0, std::abs(double(ref.tau))))
              << to_string(method) << " n " << n << " kind " << kind << " a " << a;
          if (std::is_same_v<T, double>) {
            EXPECT_EQ(t.support_size, ref.support_size) << to_string(method);
          }
        }
      }
    }
  }
}

TYPED_TEST(Projection, CondatMatchesSortOnOrderedAndMaskedInputs) {
  using T = TypeParam;
  // Condat's pass raises its lower bound on τ as it reads; sorted inputs (each entry a new maximum,
  // or the support first) and masked entries stress it.
  std::mt19937_64 rng(12);
  const Index n = 100000;
  for (int order = 0; order < 3; ++order) {
    VectorX<T> y = large_input<T>(0, n, rng);
    if (order == 0) std::sort(y.begin(), y.end());
    if (order == 1) std::sort(y.begin(), y.end(), std::greater<>());
    if (order == 2)
      for (Index i = 0; i < n; i += 3) y[i] = -std::numeric_limits<T>::infinity();
    for (const double a : {0.3, 1.0, 50.0}) {
      const auto ref = simplex_threshold(y, T(a), ProjectionMethod::Sort);
      const auto t = simplex_threshold(y, T(a), ProjectionMethod::Condat);
      const double rel = std::is_same_v<T, double> ? 1e-14 : 2 * double(std::numeric_limits<T>::epsilon());
      EXPECT_NEAR(double(t.tau), double(ref.tau), rel * std::max(1.0, std::abs(double(ref.tau)))) << order << " " << a;
      if (std::is_same_v<T, double>) {
        EXPECT_EQ(t.support_size, ref.support_size) << order << " " << a;
      }
    }
  }
}

TYPED_TEST(Projection, LargeOutputsAreThePositivePart) {
  using T = TypeParam;
  // Outputs of 8 MiB or more are written with streaming stores, as zeros without reading y where
  // Condat's pass skipped a piece. An output misaligned by one entry and y at another offset make
  // the vectors of the write straddle the pieces.
  std::mt19937_64 rng(13);
  const Index n = Index((std::size_t(8) << 20) / sizeof(T)) + 77;
  for (int kind = 0; kind < 3; ++kind) {
    const VectorX<T> source = large_input<T>(kind, n + 3, rng);
    const auto y = source.segment(3, n);
    VectorX<T> buffer(n + 1);
    Eigen::Map<VectorX<T>> out(buffer.data() + 1, n);
    const auto ref = simplex_threshold(VectorX<T>(y), T(1), ProjectionMethod::Sort);
    for (const auto method : {ProjectionMethod::Condat, ProjectionMethod::Bisection}) {
      const auto t = project_simplex(y, out, T(1), method);
      const double rel = std::is_same_v<T, double> ? 1e-14 : 2 * double(std::numeric_limits<T>::epsilon());
      EXPECT_NEAR(double(t.tau), double(ref.tau), rel * std::max(1.0, std::abs(double(ref.tau)))) << to_string(method);
      // The write keeps τ's rounding residue τ_lo (|τ_lo| ≤ ulp(τ)/2): out = [(y − τ) − τ_lo]₊.
      const double tol = double(std::numeric_limits<T>::epsilon()) * std::abs(double(t.tau));
      Index mismatches = 0, positive = 0;
      for (Index i = 0; i < n; ++i) {
        mismatches += std::abs(double(out[i]) - std::max(double(y[i]) - double(t.tau), 0.0)) > tol;
        positive += out[i] > T(0);
      }
      EXPECT_EQ(mismatches, 0) << to_string(method) << " kind " << kind;
      EXPECT_LE(positive, t.support_size) << to_string(method) << " kind " << kind;
    }
  }
}

TYPED_TEST(Projection, VariationalInequalityHolds) {
  using T = TypeParam;
  // (y − Π(y))·(q − Π(y)) ≤ 0 for every q ∈ Δ_a (spec §11.6).
  std::mt19937_64 rng(3);
  std::exponential_distribution<double> expo;
  for (int trial = 0; trial < 200; ++trial) {
    const double a = trial % 2 ? 1.0 : 2.5;
    const VectorX<T> y = testing::normal_vector<T>(rng, 50, 2.0);
    const VectorX<T> p = project_simplex(y, T(a));
    for (int j = 0; j < 20; ++j) {
      Eigen::VectorXd q(50);
      for (Index i = 0; i < 50; ++i) q[i] = expo(rng);
      q *= a / q.sum();
      const double ip = (y - p).template cast<double>().dot(q - p.template cast<double>());
      EXPECT_LE(ip, 100 * double(std::numeric_limits<T>::epsilon()));
    }
  }
}

}  // namespace
}  // namespace probspace::simplex
