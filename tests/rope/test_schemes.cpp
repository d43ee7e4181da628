// Position schemes, matrices, closed-form exponents, decay bound and log-n (spec §4, §5, §6.1, §8, §9).
#include "../support/testing.hpp"

#include <probspace/rope/decay.hpp>
#include <probspace/rope/log_n.hpp>
#include <probspace/rope/schemes.hpp>

#include <cmath>

namespace probspace::rope {
namespace {

std::vector<double> row(const RowMatrixX<double>& m, Index i) {
  return std::vector<double>(m.row(i).data(), m.row(i).data() + i + 1);
}

TEST(RopeSchemes, MatrixRowsOfTheSpec) {  // §9, L = 8, w = 3
  EXPECT_EQ(row(PositionScheme::rerope(3).relative_matrix(8), 7), (std::vector<double>{3, 3, 3, 3, 3, 2, 1, 0}));
  EXPECT_EQ(row(PositionScheme::rerope(3).relative_matrix(8), 3), (std::vector<double>{3, 2, 1, 0}));
  EXPECT_EQ(row(PositionScheme::leaky(3, 2).relative_matrix(8), 7),
            (std::vector<double>{5, 4.5, 4, 3.5, 3, 2, 1, 0}));
  EXPECT_EQ(row(PositionScheme::inverse_leaky(3, 0.5).relative_matrix(8), 7),
            (std::vector<double>{11, 9, 7, 5, 3, 2, 1, 0}));
  EXPECT_EQ(row(PositionScheme::rope().relative_matrix(8), 7), (std::vector<double>{7, 6, 5, 4, 3, 2, 1, 0}));
  EXPECT_EQ(row(PositionScheme::linear(2).relative_matrix(8), 7),
            (std::vector<double>{3.5, 3, 2.5, 2, 1.5, 1, 0.5, 0}));
  const auto m = PositionScheme::rerope(3).relative_matrix(8);
  EXPECT_TRUE(std::isnan(m(2, 5)));  // above the diagonal: masked
}

TEST(RopeSchemes, ToeplitzWindowValueAndReRopeBound) {  // §5, §11.4
  for (const auto& s : {PositionScheme::rope(), PositionScheme::linear(4), PositionScheme::rerope(5),
                        PositionScheme::leaky(5, 8), PositionScheme::inverse_leaky(5, 0.25)}) {
    const auto m = s.relative_matrix(20);
    for (Index i = 0; i < 20; ++i)
      for (Index j = 0; j <= i; ++j) {
        EXPECT_EQ(m(i, j), m(i - j, 0)) << s.name();  // Toeplitz
        EXPECT_EQ(m(i, j), -s.exponent(i, j)) << s.name();  // §6.1 closed form
      }
    if (s.two_pass()) {
      EXPECT_EQ(s.relative_position(5), 5.0) << s.name();  // P(w) = w
      for (Index r = 0; r < 5; ++r) EXPECT_EQ(s.relative_position(double(r)), double(r));  // in-window 0…w−1
    }
  }
  for (const Index length : {Index(1), Index(3), Index(6), Index(100), Index(100000)})
    EXPECT_EQ(PositionScheme::rerope(5).max_position(length), double(std::min<Index>(length - 1, 5)));
}

TEST(RopeSchemes, LeakyMaxFormPicksTheWrongBranchForKBelowOne) {  // §6.1 pitfall, §11.5
  const auto inv = PositionScheme::inverse_leaky(3, 0.5);
  int mismatches = 0;
  for (Index i = 0; i < 12; ++i)
    for (Index j = 0; j <= i; ++j) {
      const double delta = double(j - i), w = 3;
      const double max_form = std::max(delta, (delta + w) / inv.k - w);
      const double min_form = std::min(delta, (delta + w) / inv.k - w);
      EXPECT_EQ(min_form, -inv.relative_position(double(i - j)));
      mismatches += max_form != -inv.relative_position(double(i - j));
    }
  // The max form is right only at r = w, where both branches meet; wrong at every other distance.
  EXPECT_EQ(mismatches, 78 - 9);
}

TEST(RopeSchemes, TrainedRangeExamples) {  // §5
  const auto a = PositionScheme::leaky(128, 8);
  EXPECT_EQ(a.max_position(4096), 623.875);
  EXPECT_FALSE(within_trained_range(a, 4096, 512));
  const auto b = PositionScheme::leaky(512, 16);
  EXPECT_EQ(b.max_position(16384), 1503.9375);
  EXPECT_TRUE(within_trained_range(b, 16384, 4096));
  const auto inv = inverse_leaky_for_extension(512, 8);
  EXPECT_EQ(inv.window, 128);
  EXPECT_EQ(inv.k, 1.0 / 16);
  EXPECT_EQ(inv.max_position(512), 6256.0);  // 128 + 16·383, covers 4095
  EXPECT_GE(inv.max_position(512), 4095.0);
  EXPECT_NEAR(inv.max_position(512), 512.0 / 4 + 1.5 * 8 * 512, 2 * 8 + 1);  // ≈ L/4 + 1.5·s·L
  EXPECT_TRUE(within_trained_range(PositionScheme::rerope(511), 1 << 20, 512));
  EXPECT_FALSE(within_trained_range(PositionScheme::rerope(512), 1 << 20, 512));  // w < L_train required
}

TEST(RopeSchemes, PassPositionsAndTableLength) {  // §6.2
  const auto re = PositionScheme::rerope(4);
  EXPECT_EQ(re.pass2_query_position(10), 4.0);
  EXPECT_EQ(re.pass2_key_position(7), 0.0);
  const auto lk = PositionScheme::leaky(4, 2);
  EXPECT_EQ(lk.pass2_query_position(10), 7.0);  // (i − w)/k + w
  EXPECT_EQ(lk.pass2_key_position(6), 3.0);     // j/k
  for (Index i = 0; i < 30; ++i)  // (i + w(k−1))/k = (i − w)/k + w: the scaled table's query offset
    EXPECT_EQ(lk.pass2_query_position(i), double(i + 4) / 2);
  // Pass 2 realises −P: query minus key position = P(i − j) off the window.
  for (Index i = 0; i < 30; ++i)
    for (Index j = 0; j + 4 <= i; ++j) {
      EXPECT_EQ(lk.pass2_query_position(i) - lk.pass2_key_position(j), lk.relative_position(double(i - j)));
      EXPECT_EQ(re.pass2_query_position(i) - re.pass2_key_position(j), re.relative_position(double(i - j)));
    }
  EXPECT_EQ(PositionScheme::linear(4).pass1_position(8), 2.0);
  EXPECT_EQ(re.table_length(3), 5);  // index w = 4 needed even for L ≤ w (§11.7)
  EXPECT_EQ(re.table_length(50), 50);
  EXPECT_EQ(lk.table_length(50), 54);
  EXPECT_EQ(PositionScheme::rope().table_length(50), 50);
}

TEST(RopeDecay, IndicatorReferenceValues) {  // §9, §11.3
  const Eigen::VectorXd theta = default_inv_freq(128, 1e4);
  const std::pair<double, double> table[] = {{0, 32.5000},    {1, 31.5382},   {2, 28.9560},   {4, 22.6040},
                                             {8, 19.8174},    {16, 15.7750},  {32, 13.3843},  {64, 10.0899},
                                             {128, 9.2729},   {256, 6.5431},  {512, 5.3114},  {1024, 4.0241}};
  for (const auto& [delta, f] : table) EXPECT_NEAR(decay_indicator(delta, theta), f, 5e-5) << delta;
  EXPECT_GT(decay_indicator(19, theta), decay_indicator(18, theta));  // oscillation
  EXPECT_EQ(decay_indicator(0, theta), 32.5);
  EXPECT_NEAR(decay_indicator(-37, theta), decay_indicator(37, theta), 1e-13);  // |S_j| is even in Δ
}

TEST(RopeDecay, AbelBoundHoldsAndScoreIsTheRotatedDotProduct) {  // §3 complex form, §4, §11.3
  std::mt19937_64 rng(6);
  for (const auto layout : {Layout::Interleaved, Layout::Half}) {
    const RotaryEmbedding rope(default_inv_freq(128, 1e4), layout);
    for (int t = 0; t < 10; ++t) {
      const Eigen::VectorXd q = testing::normal_vector<double>(rng, 128), k = testing::normal_vector<double>(rng, 128);
      for (const double delta : {0.0, 1.0, 7.0, 64.0, 1000.0, 12345.5}) {
        const auto a = abel_summation(q, k, delta, rope);
        EXPECT_LE(a.magnitude, a.bound * (1 + 1e-12));
        EXPECT_LE(std::abs(a.score), a.magnitude * (1 + 1e-12));
        const double m = 20000, n = m - delta;
        EXPECT_NEAR(a.score, rotated(q, m, rope).dot(rotated(k, n, rope)), 1e-9);
        // The bound's second factor is (d/2)·f(Δ).
        double max_step = 0;
        for (Index i = 0; i < 64; ++i) {
          const auto pair = [&](const Eigen::VectorXd& x, Index c) {
            return layout == Layout::Half ? std::complex<double>(x[c], x[c + 64]) : std::complex<double>(x[2 * c], x[2 * c + 1]);
          };
          const auto h = [&](Index c) { return c < 64 ? pair(q, c) * std::conj(pair(k, c)) : 0.0; };
          max_step = std::max(max_step, std::abs(h(i + 1) - h(i)));
        }
        EXPECT_NEAR(a.bound, max_step * 64 * decay_indicator(delta, rope.inv_freq), 1e-9 * a.bound);
      }
    }
  }
}

TEST(RopeLogN, DaggerValues) {  // §8, §11.9
  EXPECT_EQ(log_n_dagger(0, 4096), 1.0);
  EXPECT_EQ(log_n_dagger(4095, 4096), 1.0);
  EXPECT_NEAR(log_n_dagger(8191, 4096), 13.0 / 12, 1e-15);
  EXPECT_NEAR(log_n_dagger(8191, 4096), 1.0833333, 5e-8);
  EXPECT_NEAR(log_n_dagger(16383, 4096), 14.0 / 12, 1e-15);
  EXPECT_NEAR(log_n_scale(512, 512), 1.0, 1e-15);
  EXPECT_NEAR(log_n_scale(4096, 512), 12.0 / 9, 1e-15);
  EXPECT_LT(log_n_scale(100, 512), 1.0);  // the train-time form also shrinks short contexts
}

}  // namespace
}  // namespace probspace::rope
