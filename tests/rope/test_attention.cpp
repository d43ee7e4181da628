// Reference attention: oracle vs two-pass, prefill vs decode caches, table realisation (spec §6, §9, §11.5–7).
#include "../support/testing.hpp"

#include <probspace/rope/attention.hpp>

#include <cmath>

namespace probspace::rope {
namespace {

using testing::tol;

std::vector<PositionScheme> all_schemes(Index w) {
  return {PositionScheme::rope(),       PositionScheme::linear(3),         PositionScheme::rerope(w),
          PositionScheme::leaky(w, 2),  PositionScheme::leaky(w, 7.5),     PositionScheme::inverse_leaky(w, 0.5),
          PositionScheme::inverse_leaky(w, 1.0 / 16)};
}

template <class T> RowMatrixX<T> random_rows(std::mt19937_64& rng, Index rows, Index cols) {
  RowMatrixX<T> m(rows, cols);
  for (Index r = 0; r < rows; ++r) m.row(r) = testing::normal_vector<T>(rng, cols).transpose();
  return m;
}

TEST(RopeAttention, TinyOracleScores) {  // §9, w = 4, unscaled
  const Eigen::RowVector4d q(1, 2, 3, 4), k(5, 6, 7, 8);
  const RowMatrixX<double> Q = q.replicate(11, 1), K = k.replicate(11, 1);
  struct Case { Index i, j; double rerope_half, rerope_inter, leaky_half, leaky_inter; };
  const Case cases[] = {{10, 0, 32.70457583959947, 44.7129167428356, 57.67826705561964, 62.77882355303471},
                        {10, 7, 16.871472507244967, 35.46181731343932, 16.871472507244967, 35.46181731343932},
                        {5, 1, 32.70457583959947, 44.7129167428356, 32.70457583959947, 44.7129167428356}};
  for (const auto layout : {Layout::Half, Layout::Interleaved}) {
    for (const auto realisation : {Realisation::Direct, Realisation::TwoPass}) {
      const RotaryEmbedding rope(default_inv_freq(4, 1e4), layout);
      const auto re = attention_scores(Q, K, {PositionScheme::rerope(4), rope, 0, 1.0}, realisation);
      const auto lk = attention_scores(Q, K, {PositionScheme::leaky(4, 2), rope, 0, 1.0}, realisation);
      for (const auto& c : cases) {
        const bool half = layout == Layout::Half;
        EXPECT_NEAR(re(c.i, c.j), half ? c.rerope_half : c.rerope_inter, 1e-12);
        EXPECT_NEAR(lk(c.i, c.j), half ? c.leaky_half : c.leaky_inter, 1e-12);
      }
    }
  }
}

TEST(RopeAttention, TwoPassEqualsOracleForEverySchemeDouble) {  // §11.5
  std::mt19937_64 rng(7);
  const Index length = 48, d = 24;
  const RowMatrixX<double> q = random_rows<double>(rng, length, d), k = random_rows<double>(rng, length, d),
                           v = random_rows<double>(rng, length, 5);
  for (const auto layout : {Layout::Interleaved, Layout::Half}) {
    for (const auto& scheme : all_schemes(6)) {
      for (const Index log_n : {Index(0), Index(8)}) {
        // Partial rotary (16 of 24 channels) and a YaRN attention factor exercise every path.
        const AttentionSpec spec{scheme, RotaryEmbedding(yarn_frequencies(16, 1e4, 4, 32), layout, d), log_n};
        const auto direct = attention_scores(q, k, spec, Realisation::Direct);
        const auto two = attention_scores(q, k, spec, Realisation::TwoPass);
        double worst = 0;
        for (Index i = 0; i < length; ++i) {
          for (Index j = 0; j <= i; ++j) worst = std::max(worst, std::abs(direct(i, j) - two(i, j)));
          for (Index j = i + 1; j < length; ++j) EXPECT_EQ(direct(i, j), -INFINITY);
        }
        EXPECT_LE(worst, 1e-12) << scheme.name() << " " << to_string(layout);
        const auto out_direct = attention(q, k, v, spec, Realisation::Direct);
        const auto out_two = attention(q, k, v, spec, Realisation::TwoPass);
        EXPECT_LE((out_direct - out_two).cwiseAbs().maxCoeff(), 1e-12) << scheme.name();
      }
    }
  }
}

TEST(RopeAttention, SoftmaxAndScaleOfTheOracle) {
  std::mt19937_64 rng(8);
  const Index length = 9, d = 8;
  const RowMatrixX<double> q = random_rows<double>(rng, length, d), k = random_rows<double>(rng, length, d),
                           v = random_rows<double>(rng, length, 3);
  const RotaryEmbedding rope(default_inv_freq(d, 1e4), Layout::Half);
  const AttentionSpec spec{PositionScheme::rerope(3), rope};
  const auto s = attention_scores(q, k, spec, Realisation::Direct);
  const auto out = attention(q, k, v, spec, Realisation::Direct);
  for (Index i = 0; i < length; ++i) {
    Eigen::RowVectorXd expected = Eigen::RowVectorXd::Zero(3);
    double z = 0;
    for (Index j = 0; j <= i; ++j) {
      const double logit = q.row(i).dot(rotated(Eigen::VectorXd(k.row(j).transpose()),
                                                -std::min<double>(double(i - j), 3), rope)) / std::sqrt(8.0);
      EXPECT_NEAR(s(i, j), logit, 1e-14);
      expected += std::exp(logit) * v.row(j);
      z += std::exp(logit);
    }
    EXPECT_LE((out.row(i) - expected / z).cwiseAbs().maxCoeff(), 1e-14);
  }
}

template <class T> class RopeAttentionTyped : public ::testing::Test {};
TYPED_TEST_SUITE(RopeAttentionTyped, testing::Scalars);

TYPED_TEST(RopeAttentionTyped, DecodeFromEitherCacheEqualsPrefillRows) {  // §6.3, §11.6
  using T = TypeParam;
  std::mt19937_64 rng(9);
  const Index length = 30, d = 16;
  const RowMatrixX<T> q = random_rows<T>(rng, length, d), k = random_rows<T>(rng, length, d),
                      v = random_rows<T>(rng, length, 4);
  for (const auto layout : {Layout::Interleaved, Layout::Half}) {
    for (const auto& scheme : all_schemes(5)) {
      const AttentionSpec spec{scheme, RotaryEmbedding(default_inv_freq(d, 1e4), layout), 8};
      const auto prefill_scores = attention_scores(q, k, spec, Realisation::Direct);
      const auto prefill = attention(q, k, v, spec, Realisation::Direct);
      for (const auto kind : {CacheKind::RawKeys, CacheKind::RotatedKeys}) {
        KVCache<T> cache(spec, kind, 4);
        double worst_scores = 0, worst_out = 0;
        for (Index t = 0; t < length; ++t) {
          cache.append(k.row(t).transpose(), v.row(t).transpose());
          const VectorX<T> s = cache.scores(q.row(t).transpose());
          const VectorX<T> out = cache.attend(q.row(t).transpose());
          worst_scores = std::max(worst_scores, double((s.transpose() - prefill_scores.row(t).head(t + 1)).cwiseAbs().maxCoeff()));
          worst_out = std::max(worst_out, double((out.transpose() - prefill.row(t)).cwiseAbs().maxCoeff()));
        }
        EXPECT_EQ(cache.size(), length);
        EXPECT_LE(worst_scores, tol<T>(1e-12)) << scheme.name() << " " << to_string(kind);
        EXPECT_LE(worst_out, tol<T>(1e-12)) << scheme.name() << " " << to_string(kind);
      }
    }
  }
}

TEST(RopeAttention, FloatMatchesDouble) {  // §11.2 (float within 1e-5 relative)
  std::mt19937_64 rng(10);
  const Index length = 40, d = 32;
  const RowMatrixX<double> q = random_rows<double>(rng, length, d), k = random_rows<double>(rng, length, d),
                           v = random_rows<double>(rng, length, 6);
  for (const auto& scheme : all_schemes(7)) {
    for (const auto realisation : {Realisation::Direct, Realisation::TwoPass}) {
      const AttentionSpec spec{scheme, RotaryEmbedding(default_inv_freq(d, 1e4), Layout::Half)};
      const auto ref = attention(q, k, v, spec, realisation);
      const RowMatrixX<float> qf = q.cast<float>(), kf = k.cast<float>(), vf = v.cast<float>();
      const auto got = attention(qf, kf, vf, spec, realisation);
      EXPECT_LE((got.cast<double>() - ref).cwiseAbs().maxCoeff(), 1e-5 * std::max(1.0, ref.cwiseAbs().maxCoeff()))
          << scheme.name();
    }
  }
}

TEST(RopeAttention, TableRealisationNeedsTheSpecTableLengths) {  // §6.2 implementation facts, §11.7
  std::mt19937_64 rng(11);
  const Index d = 8, w = 4;
  for (const Index length : {Index(3), Index(4), Index(12)}) {
    const RowMatrixX<double> q = random_rows<double>(rng, length, d), k = random_rows<double>(rng, length, d);
    for (const auto& scheme : {PositionScheme::rerope(w), PositionScheme::leaky(w, 2)}) {
      const RotaryEmbedding rope(default_inv_freq(d, 1e4), Layout::Interleaved);
      const auto oracle = attention_scores(q, k, {scheme, rope, 0, 1.0}, Realisation::Direct);
      const auto table1 = cos_sin_table<double>(rope, length);
      RowMatrixX<double> q1 = q, k1 = k, q2 = q, k2 = k;
      rotate(q1, table1, 0, rope);
      rotate(k1, table1, 0, rope);
      const bool rerope = scheme.kind == SchemeKind::ReRope;
      // ReRoPE: queries all at table index w, keys unrotated. Leaky: the 1/k-scaled table, queries at
      // index i + w(k − 1), keys at index j.
      const auto table2 = cos_sin_table<double>(rope, scheme.table_length(length), rerope ? 1.0 : 1 / scheme.k);
      const Index offset = Index(w * (scheme.k - 1));
      if (rerope) {
        for (Index i = 0; i < length; ++i) {
          auto qi = q2.row(i);
          rotate(qi, table2, w, rope);
        }
        // A table of length L alone would not reach index w when L ≤ w.
        if (length <= w) {
          const auto short_table = cos_sin_table<double>(rope, length);
          auto qi = q2.row(0);
          EXPECT_INVALID_ARGUMENT(rotate(qi, short_table, w, rope), "first_row");
        }
      } else {
        rotate(q2, table2, offset, rope);
        rotate(k2, table2, 0, rope);
      }
      for (Index i = 0; i < length; ++i)
        for (Index j = 0; j <= i; ++j) {
          const double s = i - j < w ? q1.row(i).dot(k1.row(j)) : q2.row(i).dot(k2.row(j));
          EXPECT_NEAR(s, oracle(i, j), 1e-12) << scheme.name() << " L=" << length;
        }
    }
  }
}

}  // namespace
}  // namespace probspace::rope
