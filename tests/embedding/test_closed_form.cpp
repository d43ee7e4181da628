// Closed forms of spec embedding.md §3–5: the §6 formula columns, the σ rules, and the limits.
#include "../support/testing.hpp"

#include <probspace/embedding/closed_form.hpp>
#include <probspace/embedding/moments.hpp>

#include <boost/math/distributions/chi_squared.hpp>
#include <boost/math/quadrature/gauss_kronrod.hpp>

#include <cmath>

namespace probspace::embedding {
namespace {

constexpr Parametrisation kAll[] = {Parametrisation::Tied, Parametrisation::Untied, Parametrisation::TiedOrthogonal,
                                    Parametrisation::TiedSwap};

// §7.1: the "basic formula" and "refined formula" columns of §6 (n = 2000, d = 256), to 1e-3.
TEST(EmbeddingClosedForm, ReproducesSection6FormulaColumnsSmallVocabulary) {
  struct Row {
    SigmaRule rule;
    double tied_basic, tied_refined, other_basic, other_refined;
  };
  const Row rows[] = {{SigmaRule::Constant, 7.681, 7.728, 7.601, 7.652},
                      {SigmaRule::InverseSqrtD, 16.000, 16.000, 7.601, 8.101},
                      {SigmaRule::LogNOverD, 8.294, 8.352, 7.601, 7.714}};
  for (const auto& row : rows) {
    const double s = sigma(row.rule, 2000, 256);
    const auto tied = predicted_initial_loss(Parametrisation::Tied, 2000, 256, s);
    EXPECT_NEAR(tied.basic, row.tied_basic, 1e-3) << to_string(row.rule);
    EXPECT_NEAR(tied.refined, row.tied_refined, 1e-3) << to_string(row.rule);
    for (const auto p : {Parametrisation::Untied, Parametrisation::TiedOrthogonal, Parametrisation::TiedSwap}) {
      const auto other = predicted_initial_loss(p, 2000, 256, s);
      EXPECT_NEAR(other.basic, row.other_basic, 1e-3) << to_string(row.rule) << ' ' << to_string(p);
      EXPECT_NEAR(other.refined, row.other_refined, 1e-3) << to_string(row.rule) << ' ' << to_string(p);
    }
  }
  EXPECT_NEAR(sigma(SigmaRule::LogNOverD, 2000, 256), 0.029691, 1e-6);
}

// §7.1: the n = 32000 table of §6.
TEST(EmbeddingClosedForm, ReproducesSection6FormulaColumnsLargeVocabulary) {
  struct Row {
    Index d;
    SigmaRule rule;
    double tied_basic, tied_refined, untied_refined;
  };
  const Row rows[] = {{768, SigmaRule::Constant, 15.367, 15.368, 10.527},
                      {768, SigmaRule::InverseSqrtD, 27.713, 27.713, 10.873},
                      {768, SigmaRule::LogNOverD, 11.067, 11.102, 10.444},
                      {4096, SigmaRule::Constant, 81.920, 81.920, 11.193}};
  for (const auto& row : rows) {
    const double s = sigma(row.rule, 32000, row.d);
    const auto tied = predicted_initial_loss(Parametrisation::Tied, 32000, row.d, s);
    const auto untied = predicted_initial_loss(Parametrisation::Untied, 32000, row.d, s);
    EXPECT_NEAR(tied.basic, row.tied_basic, 1e-3) << row.d << ' ' << to_string(row.rule);
    EXPECT_NEAR(tied.refined, row.tied_refined, 1e-3) << row.d << ' ' << to_string(row.rule);
    EXPECT_NEAR(untied.refined, row.untied_refined, 1e-3) << row.d << ' ' << to_string(row.rule);
  }
  EXPECT_NEAR(sigma(SigmaRule::InverseSqrtD, 32000, 768), 0.03608, 1e-5);
  EXPECT_NEAR(sigma(SigmaRule::LogNOverD, 32000, 768), 0.013507, 1e-6);
}

// The formulas of §3–5 written out directly (moderate dσ, so e^{dσ} is representable).
TEST(EmbeddingClosedForm, MatchesTheSpecFormulasWrittenOut) {
  for (const Index n : {2, 50, 32000})
    for (const Index d : {2, 64, 768})
      for (const double s : {0.01, 0.05, 0.2}) {
        const double nn = double(n), dd = double(d), s2 = dd * s * s;
        const auto tied = predicted_initial_loss(Parametrisation::Tied, n, d, s);
        EXPECT_NEAR(tied.basic, std::log(std::exp(dd * s) + nn - 1), 1e-12);
        EXPECT_NEAR(tied.refined, std::log(std::exp(dd * s) + (nn - 1) * std::exp(s2 / 2)), 1e-12);
        for (const auto p : {Parametrisation::Untied, Parametrisation::TiedOrthogonal}) {
          const auto other = predicted_initial_loss(p, n, d, s);
          EXPECT_NEAR(other.basic, std::log(nn), 1e-12);
          EXPECT_NEAR(other.refined, std::log(nn) + s2 / 2, 1e-12);
        }
        const auto swap = predicted_initial_loss(Parametrisation::TiedSwap, n, d, s);
        EXPECT_NEAR(swap.basic, std::log(nn), 1e-12);
        EXPECT_NEAR(swap.refined, std::log(std::exp(s2) + (nn - 1) * std::exp(s2 / 2)), 1e-12);
      }
}

// §5 row 1: σ = log n / d makes e^{dσ} = n, so the tied basic loss is log(2n − 1).
TEST(EmbeddingClosedForm, SigmaRules) {
  for (const Index n : {2, 1000, 32000})
    for (const Index d : {1, 64, 4096}) {
      EXPECT_EQ(sigma(SigmaRule::Constant, n, d, 0.037), 0.037);
      EXPECT_DOUBLE_EQ(sigma(SigmaRule::InverseSqrtD, n, d), 1 / std::sqrt(double(d)));
      const double s = sigma(SigmaRule::LogNOverD, n, d);
      EXPECT_NEAR(std::exp(double(d) * s), double(n), 1e-9 * double(n));
      const auto tied = predicted_initial_loss(Parametrisation::Tied, n, d, s);
      EXPECT_NEAR(tied.basic, std::log(2.0 * double(n) - 1), 1e-12);
      const double log_n = std::log(double(n));
      EXPECT_NEAR(tied.refined, std::log(double(n) + double(n - 1) * std::exp(log_n * log_n / (2 * double(d)))), 1e-9);
    }
}

// §3 regime: once dσ ≫ log n the tied loss is dσ (no overflow at dσ = 4096); the refinement only
// adds dσ²/2 to the other logits, so it stays within dσ²/2 of the basic formula (§3).
TEST(EmbeddingClosedForm, TiedLossTracksDSigmaAndLargeValuesDoNotOverflow) {
  const auto huge = predicted_initial_loss(Parametrisation::Tied, 32000, 4096, 1.0);
  EXPECT_NEAR(huge.basic, 4096.0, 1e-12);
  EXPECT_NEAR(huge.refined, 4096.0, 1e-12);
  EXPECT_TRUE(std::isfinite(predicted_initial_loss(Parametrisation::Untied, 32000, 4096, 1.0).refined));
  for (const double s : {0.005, 0.01, 0.02, 0.05}) {
    const auto tied = predicted_initial_loss(Parametrisation::Tied, 32000, 768, s);
    EXPECT_GE(tied.refined, tied.basic);
    EXPECT_LE(tied.refined - tied.basic, 768 * s * s / 2 + 1e-12);
  }
}

// §7.5: the tied loss increases with σ, for every prediction.
TEST(EmbeddingClosedForm, TiedLossIncreasesWithSigma) {
  for (const Index d : {64, 256, 4096}) {
    InitialLossPrediction previous{0, 0, 0};
    for (double s = 1e-3; s < 0.3; s *= 1.25) {
      const auto p = predicted_initial_loss(Parametrisation::Tied, 32000, d, s);
      EXPECT_GT(p.basic, previous.basic);
      EXPECT_GT(p.refined, previous.refined);
      EXPECT_GT(p.second_order, previous.second_order) << "d " << d << " sigma " << s;
      previous = p;
    }
  }
}

// Tied second order = E over z_i = σ√d·χ_d of g(z) = log(e^z + E S) − Var S/(2(e^z + E S)²). The
// oracle integrates the χ_d density (from Boost's χ² pdf) with Boost's adaptive Gauss–Kronrod,
// independently of the library's Simpson rule; d = 1 (half-normal, density > 0 at 0) included.
TEST(EmbeddingClosedForm, TiedSecondOrderIsTheChiExpectation) {
  for (const Index n : {2, 1000})
    for (const Index d : {1, 2, 3, 64, 1024})
      for (const double s2 : {0.1, 1.0, 2.0}) {  // dσ² (dσ = √(d·dσ²) from 0.3 to 45)
        const double s = std::sqrt(s2 / double(d)), others = double(n - 1);
        const double mean_s = others * std::exp(s2 / 2), var_s = others * std::exp(s2) * std::expm1(s2);
        const boost::math::chi_squared chi2{double(d)};
        const auto integrand = [&](double c) {
          const double t = std::exp(s * std::sqrt(double(d)) * c) + mean_s;
          return 2 * c * boost::math::pdf(chi2, c * c) * (std::log(t) - var_s / (2 * t * t));
        };
        const double hi = std::sqrt(double(d)) + 15;
        const double expected = boost::math::quadrature::gauss_kronrod<double, 61>::integrate(integrand, 0.0, hi, 15u, 1e-13);
        EXPECT_NEAR(predicted_initial_loss(Parametrisation::Tied, n, d, s).second_order, expected, 1e-9 * expected)
            << "n " << n << " d " << d << " dσ² " << s2;
      }
}

// Limits of the second order. Tied with e^{z_i} dominating (n = 2, dσ = 100 ≫ dσ²/2): the loss is
// E z_i = σ√d·Eχ_d. Untied / orthogonal P: the delta method on the n i.i.d. log-normals gives
// log n + s²/2 − (e^{s²} − 1)/(2n).
TEST(EmbeddingClosedForm, SecondOrderLimits) {
  for (const Index d : {256, 1024, 4096}) {
    const double s = 100.0 / double(d);
    const double expected = s * std::sqrt(double(d)) * chi_mean(d);
    EXPECT_NEAR(predicted_initial_loss(Parametrisation::Tied, 2, d, s).second_order, expected, 1e-9 * expected)
        << "d " << d;
  }
  for (const Index n : {2, 1000, 32000})
    for (const double s2 : {0.01, 0.5, 2.0}) {
      const Index d = 256;
      const double s = std::sqrt(s2 / double(d)), nn = double(n);
      const double expected = std::log(nn) + s2 / 2 - std::expm1(s2) / (2 * nn);
      EXPECT_NEAR(predicted_initial_loss(Parametrisation::Untied, n, d, s).second_order, expected, 1e-12);
      EXPECT_NEAR(predicted_initial_loss(Parametrisation::TiedOrthogonal, n, d, s).second_order, expected, 1e-12);
    }
}

// The refinement's error for tied embeddings (docs/embedding.md): E z_i is below dσ by ≈ σ/4 and the
// spread of z_i adds a Jensen term between 0 and Var z_i / 8 (f(x) = log(e^x + C) has 0 < f'' ≤ 1/4).
TEST(EmbeddingClosedForm, TiedSecondOrderCorrectionIsBounded) {
  for (const Index n : {1000, 32000})
    for (const Index d : {64, 256, 1024})
      for (const auto rule : {SigmaRule::Constant, SigmaRule::InverseSqrtD, SigmaRule::LogNOverD}) {
        const double s = sigma(rule, n, d);
        const auto p = predicted_initial_loss(Parametrisation::Tied, n, d, s);
        const auto m = logit_moments(Parametrisation::Tied, d, s);
        const double mean_shift = double(d) * s - m.self_mean;  // ≈ σ/4 ≥ 0
        EXPECT_NEAR(mean_shift, s / 4, s / double(d));
        const double var_s = std::expm1(double(d) * s * s) / double(n - 1);  // Var S / (E S)²
        EXPECT_GE(p.second_order - p.refined, -mean_shift - var_s / 2) << n << ' ' << d << ' ' << to_string(rule);
        EXPECT_LE(p.second_order - p.refined, m.self_std * m.self_std / 8) << n << ' ' << d << ' ' << to_string(rule);
      }
}

TEST(EmbeddingClosedForm, RejectsBadInput) {
  for (const auto p : kAll) {
    EXPECT_INVALID_ARGUMENT(predicted_initial_loss(p, 1, 64, 0.02), "n");
    EXPECT_INVALID_ARGUMENT(predicted_initial_loss(p, 0, 64, 0.02), "n");
    EXPECT_INVALID_ARGUMENT(predicted_initial_loss(p, 100, 0, 0.02), "d");
    EXPECT_INVALID_ARGUMENT(predicted_initial_loss(p, 100, 64, 0.0), "sigma");
    EXPECT_INVALID_ARGUMENT(predicted_initial_loss(p, 100, 64, -0.1), "sigma");
    EXPECT_INVALID_ARGUMENT(predicted_initial_loss(p, 100, 64, std::nan("")), "sigma");
    EXPECT_INVALID_ARGUMENT(predicted_initial_loss(p, 100, 64, INFINITY), "sigma");
  }
  EXPECT_INVALID_ARGUMENT(predicted_initial_loss(Parametrisation::TiedSwap, 100, 63, 0.02), "d");
  EXPECT_NO_THROW(predicted_initial_loss(Parametrisation::TiedOrthogonal, 100, 63, 0.02));
  EXPECT_INVALID_ARGUMENT(predicted_initial_loss(static_cast<Parametrisation>(7), 100, 64, 0.02), "parametrisation");
  EXPECT_INVALID_ARGUMENT(sigma(SigmaRule::Constant, 1, 64), "n");
  EXPECT_INVALID_ARGUMENT(sigma(SigmaRule::InverseSqrtD, 100, 0), "d");
  EXPECT_INVALID_ARGUMENT(sigma(SigmaRule::Constant, 100, 64, 0.0), "constant");
  EXPECT_INVALID_ARGUMENT(sigma(SigmaRule::Constant, 100, 64, std::nan("")), "constant");
  EXPECT_INVALID_ARGUMENT(sigma(static_cast<SigmaRule>(9), 100, 64), "rule");
  EXPECT_INVALID_ARGUMENT(to_string(static_cast<SigmaRule>(9)), "rule");
  EXPECT_INVALID_ARGUMENT(to_string(static_cast<Parametrisation>(9)), "parametrisation");
}

}  // namespace
}  // namespace probspace::embedding
