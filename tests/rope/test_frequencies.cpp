// Frequencies and scaling families: spec §7 formulas and §9 reference values.
#include "../support/testing.hpp"

#include <probspace/rope/frequencies.hpp>

#include <cmath>
#include <numbers>

namespace probspace::rope {
namespace {

const Eigen::VectorXd theta128 = default_inv_freq(128, 1e4);

TEST(RopeFrequencies, DefaultReferenceValues) {  // §9
  ASSERT_EQ(theta128.size(), 64);
  EXPECT_EQ(theta128[0], 1.0);
  EXPECT_NEAR(theta128[1], 0.8659643233600653, 1e-15);
  EXPECT_NEAR(theta128[2], 0.7498942093324559, 1e-15);
  EXPECT_NEAR(theta128[3], 0.6493816315762113, 1e-15);
  EXPECT_NEAR(theta128[63] / 1.1547819846894582e-4, 1.0, 1e-13);
  EXPECT_NEAR(2 * std::numbers::pi / theta128[63], 54410.14, 0.01);
  // β-base view: θ_i = β^(−i), β = base^(2/d).
  const double beta = std::pow(1e4, 2.0 / 128);
  for (Index i = 0; i < 64; ++i) EXPECT_NEAR(theta128[i], std::pow(beta, -double(i)), 1e-15);
  const auto f = default_frequencies(128);
  EXPECT_EQ(f.inv_freq, theta128);
  EXPECT_EQ(f.attention_factor, 1.0);
}

TEST(RopeFrequencies, LinearDividesByFactor) {
  const auto f = linear_frequencies(128, 1e4, 4);
  EXPECT_LE((f.inv_freq - theta128 / 4).cwiseAbs().maxCoeff(), 1e-17);
  EXPECT_EQ(f.attention_factor, 1.0);
}

TEST(RopeFrequencies, NtkAwareBaseReferenceValues) {  // §9
  EXPECT_NEAR(ntk_aware_base(128, 1e4, 2), 20221.26, 0.005);
  EXPECT_NEAR(ntk_aware_base(128, 1e4, 4), 40889.94, 0.005);
  EXPECT_NEAR(ntk_aware_base(128, 1e4, 8), 82684.62, 0.005);
  EXPECT_NEAR(ntk_aware_base(128, 1e4, 16), 167198.74, 0.005);
  // λ = s^{2/(dim−2)}: the lowest frequency becomes exactly θ/s, the highest is unchanged.
  for (const double s : {2.0, 8.0, 16.0}) {
    const auto f = ntk_aware_frequencies(128, 1e4, s);
    EXPECT_NEAR(f.inv_freq[63] / (theta128[63] / s), 1.0, 1e-12);
    EXPECT_EQ(f.inv_freq[0], 1.0);
  }
}

TEST(RopeFrequencies, NtkOldFixedMixed) {
  const double s = 12;
  const auto old_ = ntk_old_frequencies(128, 1e4, s);
  EXPECT_LE((old_.inv_freq - default_inv_freq(128, 1e4 * s)).cwiseAbs().maxCoeff(), 1e-15);  // base′ = base·s
  const auto fixed = ntk_fixed_frequencies(128, 1e4, s);
  for (Index i = 0; i < 64; ++i) EXPECT_NEAR(fixed.inv_freq[i] / theta128[i], std::pow(s, -2.0 * double(i + 1) / 128), 1e-14);
  // §9: a and the end factors of the reference patch (s = 12, b = 0.75).
  EXPECT_NEAR(ntk_mixed_a(128, 12, 0.75), 0.10981839641754002, 1e-16);
  const auto mixed = ntk_mixed_frequencies(128, 1e4, 12, 0.75);
  EXPECT_NEAR(mixed.inv_freq[0] / theta128[0], 0.895996836757925, 1e-14);
  EXPECT_NEAR(mixed.inv_freq[63] / theta128[63], 1.0 / 12, 1e-14);
  // λ_1 ≥ … ≥ λ_{d/2} ≥ 1 and Π λ = s, with λ_{i+1} = F_{i−1}/F_i, F_i = inv_freq[i]/θ_i, F_{−1} = 1.
  double product = theta128[0] / mixed.inv_freq[0];
  double previous = product;
  for (Index i = 1; i < 64; ++i) {
    const double lambda = (mixed.inv_freq[i - 1] / theta128[i - 1]) / (mixed.inv_freq[i] / theta128[i]);
    EXPECT_GE(lambda, 1.0);
    EXPECT_LE(lambda, previous * (1 + 1e-12));
    previous = lambda;
    product *= lambda;
  }
  EXPECT_NEAR(product, 12.0, 1e-11);
  // b = 1 → fixed, b = 0 → PI.
  EXPECT_LE((ntk_mixed_frequencies(128, 1e4, s, 1).inv_freq - fixed.inv_freq).cwiseAbs().maxCoeff(), 1e-15);
  EXPECT_LE((ntk_mixed_frequencies(128, 1e4, s, 0).inv_freq - linear_frequencies(128, 1e4, s).inv_freq)
                .cwiseAbs().maxCoeff(), 1e-15);
}

TEST(RopeFrequencies, DynamicNtk) {  // §9
  EXPECT_NEAR(dynamic_ntk_base(128, 1e4, 2, 8192, 4096), 30527.7367, 5e-5);
  for (const Index seq : {Index(1), Index(100), Index(4096)}) {
    EXPECT_EQ(dynamic_ntk_base(128, 1e4, 2, seq, 4096), 1e4);
    EXPECT_EQ(dynamic_ntk_frequencies(128, 1e4, 2, seq, 4096).inv_freq, theta128);
  }
  // The same formula as NTK-aware with s′ = s·L/L_max − (s − 1).
  EXPECT_NEAR(dynamic_ntk_base(128, 1e4, 2, 8192, 4096), ntk_aware_base(128, 1e4, 3), 1e-9);
}

TEST(RopeFrequencies, YarnCorrectionRanges) {  // §9
  struct Case { Index l; double raw_low, raw_high, low, high; };
  for (const Case c : {Case{2048, 16.128, 40.210, 16, 41}, Case{4096, 20.944, 45.027, 20, 46},
                       Case{8192, 25.761, 49.843, 25, 50}}) {
    EXPECT_NEAR(yarn_correction_dim(128, 1e4, c.l, 32), c.raw_low, 5e-4);
    EXPECT_NEAR(yarn_correction_dim(128, 1e4, c.l, 1), c.raw_high, 5e-4);
    const auto r = yarn_correction_range(128, 1e4, c.l);
    EXPECT_EQ(r.low, c.low);
    EXPECT_EQ(r.high, c.high);
    const auto raw = yarn_correction_range(128, 1e4, c.l, 32, 1, false);
    EXPECT_NEAR(raw.low, c.raw_low, 5e-4);
  }
  // The corr_dim pair's wavelength fits N times into L_orig: 2π/θ at real index corr_dim = L_orig/N.
  const double cd = yarn_correction_dim(128, 1e4, 4096, 32);
  EXPECT_NEAR(2 * std::numbers::pi * std::pow(1e4, 2 * cd / 128), 4096.0 / 32, 1e-9);
  // Clamped to [0, dim − 1].
  EXPECT_EQ(yarn_correction_range(128, 1e4, 8).low, 0.0);
  EXPECT_EQ(yarn_correction_range(16, 1e4, 1 << 30, 2, 1).high, 15.0);
}

TEST(RopeFrequencies, YarnInvFreqAndMscale) {  // §9
  const auto f = yarn_frequencies(128, 1e4, 16, 4096);
  EXPECT_NEAR(f.inv_freq[20], 0.05623413251903491, 1e-16);
  EXPECT_EQ(f.inv_freq[20], theta128[20]);
  EXPECT_NEAR(f.inv_freq[30], 0.00852684377296741, 1e-16);
  EXPECT_NEAR(f.inv_freq[63] / theta128[63], 1.0 / 16, 1e-15);
  for (Index i = 0; i < 64; ++i) {  // the ramp formula, i ≤ low untouched, i ≥ high divided by s
    const double e = 1 - std::clamp((double(i) - 20) / 26, 0.0, 1.0);
    EXPECT_NEAR(f.inv_freq[i], theta128[i] * e + theta128[i] / 16 * (1 - e), 1e-17);
  }
  struct Case { double s, mscale, squared; };
  for (const Case c : {Case{2, 1.0693147, 1.1434}, Case{4, 1.1386294, 1.2965}, Case{8, 1.2079442, 1.4591},
                       Case{16, 1.2772589, 1.6314}, Case{32, 1.3465736, 1.8133}, Case{40, 1.3688879, 1.8739}}) {
    const double m = yarn_frequencies(128, 1e4, c.s, 4096).attention_factor;
    EXPECT_NEAR(m, c.mscale, 5e-8);
    EXPECT_NEAR(m * m, c.squared, 5e-5);
  }
  EXPECT_EQ(yarn_get_mscale(1), 1.0);
  EXPECT_EQ(yarn_get_mscale(0.5), 1.0);
  // The mscale / mscale_all_dim ratio (DeepSeek style), and an explicit override.
  YarnOptions o;
  o.mscale = 0.707;
  o.mscale_all_dim = 0.707;
  EXPECT_NEAR(yarn_frequencies(128, 1e4, 40, 4096, o).attention_factor, 1.0, 1e-15);
  o.mscale = 1.0;
  EXPECT_NEAR(yarn_frequencies(128, 1e4, 40, 4096, o).attention_factor,
              (0.1 * std::log(40.0) + 1) / (0.1 * 0.707 * std::log(40.0) + 1), 1e-15);
  o.attention_factor = 1.25;
  EXPECT_EQ(yarn_frequencies(128, 1e4, 40, 4096, o).attention_factor, 1.25);
  // s = 1 is the default RoPE.
  const auto one = yarn_frequencies(128, 1e4, 1, 4096);
  EXPECT_LE((one.inv_freq - theta128).cwiseAbs().maxCoeff(), 1e-16);
  EXPECT_EQ(one.attention_factor, 1.0);
}

TEST(RopeFrequencies, Llama3Bands) {  // §9
  const Eigen::VectorXd theta = default_inv_freq(128, 5e5);
  const auto f = llama3_frequencies(128, 5e5, 8, 8192, 1, 4);
  EXPECT_EQ(f.attention_factor, 1.0);
  int unchanged = 0, smoothed = 0, divided = 0;
  for (Index i = 0; i < 64; ++i) {
    if (f.inv_freq[i] == theta[i]) {
      EXPECT_LE(i, 28);
      ++unchanged;
    } else if (std::abs(f.inv_freq[i] - theta[i] / 8) <= 1e-18) {
      EXPECT_GE(i, 35);
      ++divided;
    } else {
      EXPECT_TRUE(i >= 29 && i <= 34) << i;
      EXPECT_LT(f.inv_freq[i], theta[i]);
      EXPECT_GT(f.inv_freq[i], theta[i] / 8);
      ++smoothed;
    }
  }
  EXPECT_EQ(unchanged, 29);
  EXPECT_EQ(smoothed, 6);
  EXPECT_EQ(divided, 29);
  EXPECT_NEAR(theta[29], 0.0026160992529250353, 1e-18);
  EXPECT_NEAR(f.inv_freq[29], 0.002166570763503359, 1e-17);
}

TEST(RopeFrequencies, LongRope) {
  Eigen::VectorXd short_factor = Eigen::VectorXd::LinSpaced(64, 1.0, 1.5);
  Eigen::VectorXd long_factor = Eigen::VectorXd::LinSpaced(64, 1.0, 40.0);
  const auto at = [&](Index seq) { return longrope_frequencies(128, 1e4, 32, 4096, short_factor, long_factor, seq); };
  EXPECT_NEAR(at(4096).attention_factor, 1.1902380714238083, 1e-15);  // §9
  EXPECT_NEAR(at(4096).attention_factor, std::sqrt(17.0 / 12), 1e-15);
  const auto relative = [](const Eigen::VectorXd& a, const Eigen::VectorXd& b) {
    return ((a - b).array() / b.array()).abs().maxCoeff();
  };
  EXPECT_LE(relative(at(4096).inv_freq, theta128.cwiseQuotient(short_factor)), 1e-15);
  EXPECT_LE(relative(at(4097).inv_freq, theta128.cwiseQuotient(long_factor)), 1e-15);
  EXPECT_EQ(longrope_frequencies(128, 1e4, 1, 4096, short_factor, long_factor, 10).attention_factor, 1.0);
  EXPECT_EQ(longrope_frequencies(128, 1e4, 32, 4096, short_factor, long_factor, 10, 1.5).attention_factor, 1.5);
  // s defaults to max_position / L_orig through the config.
  RopeConfig c;
  c.type = RopeType::LongRope;
  c.original_max_position = 4096;
  c.max_position = 131072;
  c.short_factor = short_factor;
  c.long_factor = long_factor;
  EXPECT_NEAR(frequencies(c, 10).attention_factor, 1.1902380714238083, 1e-15);
}

TEST(RopeFrequencies, PartialRotaryAndConfigDispatch) {
  EXPECT_EQ(rotary_dim(128), 128);
  EXPECT_EQ(rotary_dim(128, 0.25), 32);
  EXPECT_EQ(rotary_dim(80, 0.5), 40);
  EXPECT_EQ(rotary_dim(96, 0.3), 28);  // 28.8 truncated to an even count
  RopeConfig c;
  c.head_dim = 256;
  c.partial_rotary_factor = 0.5;
  c.factor = 8;
  c.original_max_position = 8192;
  c.base = 5e5;
  c.mixed_b = 0.75;
  for (const auto type : {RopeType::Default, RopeType::Linear, RopeType::NtkAware, RopeType::NtkOld,
                          RopeType::NtkFixed, RopeType::NtkMixed, RopeType::Dynamic, RopeType::Yarn,
                          RopeType::Llama3}) {
    c.type = type;
    const auto f = frequencies(c, 20000);
    EXPECT_EQ(f.inv_freq.size(), 64) << to_string(type);
    const Frequencies direct = [&] {
      switch (type) {
        case RopeType::Default: return default_frequencies(128, 5e5);
        case RopeType::Linear: return linear_frequencies(128, 5e5, 8);
        case RopeType::NtkAware: return ntk_aware_frequencies(128, 5e5, 8);
        case RopeType::NtkOld: return ntk_old_frequencies(128, 5e5, 8);
        case RopeType::NtkFixed: return ntk_fixed_frequencies(128, 5e5, 8);
        case RopeType::NtkMixed: return ntk_mixed_frequencies(128, 5e5, 8, 0.75);
        case RopeType::Dynamic: return dynamic_ntk_frequencies(128, 5e5, 8, 20000, 8192);
        case RopeType::Yarn: return yarn_frequencies(128, 5e5, 8, 8192);
        default: return llama3_frequencies(128, 5e5, 8, 8192);
      }
    }();
    EXPECT_EQ(f.inv_freq, direct.inv_freq) << to_string(type);
    EXPECT_EQ(f.attention_factor, direct.attention_factor) << to_string(type);
  }
}

TEST(RopeFrequencies, DynamicUpdateRule) {  // §7 "Dynamic update rule"
  RopeConfig c;
  c.type = RopeType::Dynamic;
  c.factor = 2;
  c.original_max_position = 4096;
  DynamicFrequencies dyn(c);
  EXPECT_EQ(dyn.current().inv_freq, theta128);
  EXPECT_EQ(dyn.update(100).inv_freq, theta128);
  const Eigen::VectorXd grown = dynamic_ntk_frequencies(128, 1e4, 2, 8192, 4096).inv_freq;
  EXPECT_EQ(dyn.update(8191).inv_freq, grown);
  EXPECT_EQ(dyn.cached_max_length(), 8192);
  EXPECT_EQ(dyn.update(5000).inv_freq, grown);  // shorter but ≥ L_orig: keeps the grown base
  EXPECT_EQ(dyn.update(4094).inv_freq, theta128);  // below L_orig after growth: reset
  EXPECT_EQ(dyn.cached_max_length(), 4096);
  c.type = RopeType::LongRope;
  c.factor = 32;
  c.short_factor = Eigen::VectorXd::Constant(64, 1.0);
  c.long_factor = Eigen::VectorXd::Constant(64, 4.0);
  DynamicFrequencies lr(c);
  EXPECT_EQ(lr.update(4095).inv_freq, theta128);
  EXPECT_LE((lr.update(4096).inv_freq - theta128 / 4).cwiseAbs().maxCoeff(), 1e-17);
  EXPECT_EQ(lr.update(10).inv_freq, theta128);
}

}  // namespace
}  // namespace probspace::rope
