// Moment facts of spec embedding.md §2 by sampling (§7.2) and the logit moments of §3–5.
#include "../support/testing.hpp"

#include <probspace/embedding/moments.hpp>

#include <cmath>
#include <numbers>

namespace probspace::embedding {
namespace {

/// Sample mean and its standard error.
struct Estimate {
  double mean, se;
};
template <class F> Estimate estimate(int count, F&& draw) {
  double sum = 0, squares = 0;
  for (int k = 0; k < count; ++k) {
    const double x = draw();
    sum += x;
    squares += x * x;
  }
  const double mean = sum / count;
  return {mean, std::sqrt((squares / count - mean * mean) / (count - 1))};
}

// §7.2: E‖w‖² = dσ², Var‖w‖² = 2dσ⁴, E[(w·v)²] = dσ⁴ (1/d at σ² = 1/d, not 1/d³), within 4 s.e.
TEST(EmbeddingMoments, SectionTwoFactsBySampling) {
  std::mt19937_64 rng(20230720);
  for (const Index d : {1, 16, 256}) {
    for (const double s : {0.02, 1 / std::sqrt(double(d))}) {
      constexpr int kCount = 20000;
      std::vector<double> norms(kCount);
      const auto norm2 = estimate(kCount, [&, k = 0]() mutable {
        const double x = testing::normal_vector<double>(rng, d, s).squaredNorm();
        norms[std::size_t(k++)] = x;
        return x;
      });
      EXPECT_NEAR(norm2.mean, expected_squared_norm(d, s), 4 * norm2.se) << d << ' ' << s;
      const auto centred = estimate(kCount, [&, k = 0]() mutable {
        const double c = norms[std::size_t(k++)] - expected_squared_norm(d, s);
        return c * c;
      });
      EXPECT_NEAR(centred.mean, squared_norm_variance(d, s), 4 * centred.se) << d << ' ' << s;
      const auto dot2 = estimate(kCount, [&] {
        const double x = testing::normal_vector<double>(rng, d, s).dot(testing::normal_vector<double>(rng, d, s));
        return x * x;
      });
      EXPECT_NEAR(dot2.mean, expected_squared_dot(d, s), 4 * dot2.se) << d << ' ' << s;
    }
  }
  EXPECT_DOUBLE_EQ(expected_squared_dot(256, 1 / 16.0), 1 / 256.0);  // the §2 row, value 1/d
}

TEST(EmbeddingMoments, ChiMean) {
  EXPECT_NEAR(chi_mean(1), std::sqrt(2 / std::numbers::pi), 1e-15);
  EXPECT_NEAR(chi_mean(2), std::sqrt(std::numbers::pi / 2), 1e-15);
  EXPECT_NEAR(chi_mean(3), 2 * std::sqrt(2 / std::numbers::pi), 1e-15);
  for (const Index d : {100, 4096, 1000000}) {  // √d(1 − 1/(4d) + 1/(32d²) + O(d⁻³))
    const double dd = double(d);
    EXPECT_NEAR(chi_mean(d), std::sqrt(dd) * (1 - 1 / (4 * dd) + 1 / (32 * dd * dd)), std::sqrt(dd) * (1 / (dd * dd * dd) + 1e-15));
  }
}

// §3 and §5: the exact moments against the spec's approximations, which hold to O(1/d).
TEST(EmbeddingMoments, LogitMomentsMatchSpecApproximations) {
  for (const Index d : {64, 256, 4096})
    for (const double s : {0.02, 1 / std::sqrt(double(d))}) {
      const double dd = double(d), s2 = dd * s * s;
      const auto tied = logit_moments(Parametrisation::Tied, d, s);
      EXPECT_NEAR(tied.self_mean, dd * s, dd * s / dd);           // ≈ dσ (§3)
      EXPECT_NEAR(tied.self_std, s * std::sqrt(dd / 2), s * std::sqrt(dd / 2) / dd);  // ≈ σ√(d/2)
      for (const auto p : {Parametrisation::Tied, Parametrisation::Untied, Parametrisation::TiedOrthogonal,
                           Parametrisation::TiedSwap}) {
        const auto m = logit_moments(p, d, s);
        EXPECT_EQ(m.other_mean, 0);
        EXPECT_DOUBLE_EQ(m.other_variance, s2);  // dσ² (§3)
        if (p == Parametrisation::Tied) continue;
        EXPECT_EQ(m.self_mean, 0);
      }
      EXPECT_DOUBLE_EQ(logit_moments(Parametrisation::Untied, d, s).self_std, std::sqrt(s2));
      EXPECT_DOUBLE_EQ(logit_moments(Parametrisation::TiedOrthogonal, d, s).self_std, std::sqrt(s2));
      const double swap_var = std::pow(logit_moments(Parametrisation::TiedSwap, d, s).self_std, 2);
      EXPECT_NEAR(swap_var, 2 * s2, 2 * s2 * 2 / dd);  // 2dσ²·d/(d+2) ≈ 2dσ² (§5)
    }
}

TEST(EmbeddingMoments, RejectsBadInput) {
  EXPECT_INVALID_ARGUMENT(expected_squared_norm(0, 0.02), "d");
  EXPECT_INVALID_ARGUMENT(expected_squared_norm(16, 0), "sigma");
  EXPECT_INVALID_ARGUMENT(squared_norm_variance(0, 0.02), "d");
  EXPECT_INVALID_ARGUMENT(squared_norm_variance(16, -1), "sigma");
  EXPECT_INVALID_ARGUMENT(expected_squared_dot(-3, 0.02), "d");
  EXPECT_INVALID_ARGUMENT(expected_squared_dot(16, std::nan("")), "sigma");
  EXPECT_INVALID_ARGUMENT(chi_mean(0), "d");
  EXPECT_INVALID_ARGUMENT(logit_moments(Parametrisation::Tied, 0, 0.02), "d");
  EXPECT_INVALID_ARGUMENT(logit_moments(Parametrisation::TiedSwap, 15, 0.02), "d");
  EXPECT_INVALID_ARGUMENT(logit_moments(Parametrisation::Untied, 16, 0), "sigma");
  EXPECT_INVALID_ARGUMENT(logit_moments(static_cast<Parametrisation>(-1), 16, 0.02), "parametrisation");
}

}  // namespace
}  // namespace probspace::embedding
