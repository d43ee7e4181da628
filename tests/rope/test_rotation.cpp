// Rotation algebra in both layouts, layout conversion, tables (spec §1–3, §9, §11.1–2, §11.8).
#include "../support/testing.hpp"

#include <probspace/rope/layout.hpp>
#include <probspace/rope/rotation.hpp>

#include <cmath>

namespace probspace::rope {
namespace {

using testing::normal_vector;
using testing::tol;

const Layout kLayouts[] = {Layout::Interleaved, Layout::Half};

RotaryEmbedding rope_of(Index d, Layout layout, Index head_dim = 0, double base = 1e4) {
  return {default_inv_freq(d, base), layout, head_dim};
}

TEST(RopeRotation, RelativeIdentityOfMatricesAtRealPositions) {  // §3, §11.1
  std::mt19937_64 rng(1);
  std::uniform_real_distribution<double> pos(-5000, 5000);
  for (const auto layout : kLayouts) {
    const auto rope = rope_of(16, layout, 20);  // partial rotary: 4 pass-through channels
    for (int t = 0; t < 20; ++t) {
      const double m = pos(rng), n = pos(rng);
      const Eigen::MatrixXd rm = rotation_matrix(m, rope), rn = rotation_matrix(n, rope);
      EXPECT_LE((rm.transpose() * rn - rotation_matrix(n - m, rope)).cwiseAbs().maxCoeff(), 1e-12);
      EXPECT_LE((rm.transpose() - rotation_matrix(-m, rope)).cwiseAbs().maxCoeff(), 1e-12);
      EXPECT_LE((rm * rm.transpose() - Eigen::MatrixXd::Identity(20, 20)).cwiseAbs().maxCoeff(), 1e-13);
      EXPECT_TRUE(rm.bottomRightCorner(4, 4).isIdentity(0.0));
    }
  }
}

template <class T> class RopeRotationTyped : public ::testing::Test {};
TYPED_TEST_SUITE(RopeRotationTyped, testing::Scalars);

TYPED_TEST(RopeRotationTyped, ScoreDependsOnlyOnDifferenceAndNormsArePreserved) {  // §3, §11.1
  using T = TypeParam;
  std::mt19937_64 rng(2);
  std::uniform_real_distribution<double> pos(0, 3000);
  for (const auto layout : kLayouts) {
    const auto rope = rope_of(64, layout);
    for (int t = 0; t < 20; ++t) {
      const VectorX<T> q = normal_vector<T>(rng, 64), k = normal_vector<T>(rng, 64);
      const double m = pos(rng), n = pos(rng);
      const VectorX<T> rq = rotated(q, m, rope);
      const double lhs = double(rq.dot(rotated(k, n, rope)));
      const double rhs = double(q.dot(rotated(k, n - m, rope)));
      EXPECT_NEAR(lhs, rhs, tol<T>(1e-12) * 64);
      EXPECT_NEAR(double(rq.norm()), double(q.norm()), tol<T>(1e-13) * 8);
    }
  }
}

TYPED_TEST(RopeRotationTyped, ReferenceValuesD4) {  // §9
  using T = TypeParam;
  const VectorX<T> q = testing::vec<T>({1, 2, 3, 4}), k = testing::vec<T>({5, 6, 7, 8});
  struct Case { Layout layout; std::array<double, 4> rq; double score; };
  for (const Case& c : {Case{Layout::Half, {-1.4133525208, 1.8791180667, -2.8288574817, 4.0581911354}, 25.737013794951604},
                        Case{Layout::Interleaved, {-1.2722325127, -1.8388649851, 2.8786681004, 4.0881866356},
                             42.197719757951134}}) {
    const auto rope = rope_of(4, c.layout);
    EXPECT_LE((rope.inv_freq - Eigen::Vector2d(1, 0.01)).cwiseAbs().maxCoeff(), 1e-16);
    const VectorX<T> rq = rotated(q, 3, rope);
    for (Index i = 0; i < 4; ++i) EXPECT_NEAR(double(rq[i]), c.rq[std::size_t(i)], tol<T>(5e-11) * 4);
    EXPECT_NEAR(double(rq.dot(rotated(k, 1, rope))), c.score, tol<T>(1e-12) * c.score);
    EXPECT_NEAR(double(q.dot(rotated(k, -2, rope))), c.score, tol<T>(1e-12) * c.score);
  }
}

TYPED_TEST(RopeRotationTyped, LayoutConversionRoundTripsAndPreservesScores) {  // §2, §11.1
  using T = TypeParam;
  std::mt19937_64 rng(3);
  const Index d = 24, rot = 16, heads = 3;
  RowMatrixX<T> q(5, heads * d), k(5, heads * d);
  for (Index r = 0; r < 5; ++r) q.row(r) = normal_vector<T>(rng, heads * d), k.row(r) = normal_vector<T>(rng, heads * d);
  // π and its inverse as the spec writes them.
  const auto pi = half_from_interleaved(8, 8);
  EXPECT_EQ(pi, (std::vector<Index>{0, 2, 4, 6, 1, 3, 5, 7}));
  const RowMatrixX<T> half = convert_layout(q, Layout::Interleaved, Layout::Half, d, rot);
  for (Index i = 0; i < rot / 2; ++i) {
    EXPECT_EQ(half(0, i), q(0, 2 * i));
    EXPECT_EQ(half(0, i + rot / 2), q(0, 2 * i + 1));
  }
  for (Index c = rot; c < d; ++c) EXPECT_EQ(half(0, d + c), q(0, d + c));  // pass-through channels untouched
  EXPECT_EQ(convert_layout(half, Layout::Half, Layout::Interleaved, d, rot), q);
  EXPECT_EQ(convert_layout(q, Layout::Half, Layout::Half, d, rot), q);
  // The half kernel on converted vectors gives the interleaved kernel's result, converted (exactly).
  const RotaryEmbedding inter = rope_of(rot, Layout::Interleaved, d), halfr = rope_of(rot, Layout::Half, d);
  const Eigen::VectorXd positions = Eigen::VectorXd::LinSpaced(5, 3.5, 900.25);
  RowMatrixX<T> a = q, b = half, ka = k, kb = convert_layout(k, Layout::Interleaved, Layout::Half, d, rot);
  rotate(a, positions, inter);
  rotate(b, positions, halfr);
  EXPECT_EQ(convert_layout(a, Layout::Interleaved, Layout::Half, d, rot), b);
  rotate(ka, positions.reverse().eval(), inter);
  rotate(kb, positions.reverse().eval(), halfr);
  const RowMatrixX<T> sa = a * ka.transpose(), sb = b * kb.transpose();
  EXPECT_LE(double((sa - sb).cwiseAbs().maxCoeff()), tol<T>(1e-13) * 50);
  // Weight rows: q = x W_qᵀ, so permuting the rows of W_q permutes the columns of q.
  RowMatrixX<T> w(heads * d, 7), x(4, 7);
  for (Index r = 0; r < w.rows(); ++r) w.row(r) = normal_vector<T>(rng, 7);
  for (Index r = 0; r < 4; ++r) x.row(r) = normal_vector<T>(rng, 7);
  const RowMatrixX<T> wh = convert_weight_rows(w, Layout::Interleaved, Layout::Half, d, rot);
  const RowMatrixX<T> xw = x * w.transpose(), xwh = x * wh.transpose();
  EXPECT_EQ(convert_layout(xw, Layout::Interleaved, Layout::Half, d, rot), xwh);
  EXPECT_EQ(convert_weight_rows(wh, Layout::Half, Layout::Interleaved, d, rot), w);
}

TYPED_TEST(RopeRotationTyped, TableMatchesDirectAndMultiHead) {  // §2 (tables), §6.2 (linear table)
  using T = TypeParam;
  std::mt19937_64 rng(4);
  for (const auto layout : kLayouts) {
    const auto rope = rope_of(32, layout, 40);
    RowMatrixX<T> x(6, 3 * 40);
    for (Index r = 0; r < 6; ++r) x.row(r) = normal_vector<T>(rng, 120);
    for (const double scale : {1.0, 0.25}) {
      const auto table = cos_sin_table<T>(rope, 20, scale);
      RowMatrixX<T> a = x, b = x;
      rotate(a, table, 9, rope);
      rotate(b, (Eigen::VectorXd::LinSpaced(6, 9, 14) * scale).eval(), rope);
      EXPECT_LE(double((a - b).cwiseAbs().maxCoeff()), tol<T>(1e-15) * 4);
      EXPECT_EQ(rotated(x.row(2), 11 * scale, rope).transpose(), b.row(2));  // a row vector binds too
      for (Index head = 0; head < 3; ++head) {  // each head rotated alike
        const VectorX<T> one = rotated(VectorX<T>(x.row(2).segment(head * 40, 40).transpose()), 11 * scale, rope);
        EXPECT_LE(double((one.transpose() - b.row(2).segment(head * 40, 40)).cwiseAbs().maxCoeff()), tol<T>(1e-15) * 4);
      }
    }
  }
}

TEST(RopeRotation, FloatTableStaysAccurateAtLongContext) {  // angles reduced in double
  const auto rope = rope_of(128, Layout::Half);
  const Index far = 1'000'000;
  const auto table = cos_sin_table<float>(rope, 1001, 1000.0);  // row 1000 is position 10^6
  double worst = 0, naive_worst = 0;
  for (Index i = 0; i < 64; ++i) {
    const double angle = double(far) * rope.inv_freq[i];
    worst = std::max(worst, std::abs(double(table.cos(1000, i)) - std::cos(angle)));
    const float naive = std::cos(float(far) * float(rope.inv_freq[i]));  // fp32 angle: loses the phase
    naive_worst = std::max(naive_worst, std::abs(double(naive) - std::cos(angle)));
  }
  EXPECT_LE(worst, 6e-8);       // float rounding of the value only
  EXPECT_GE(naive_worst, 1e-3);  // what the table avoids
}

TEST(RopeRotation, AttentionFactorSquaredInLogits) {  // §7, §11.8
  std::mt19937_64 rng(5);
  const Eigen::VectorXd q = normal_vector<double>(rng, 32), k = normal_vector<double>(rng, 32);
  const auto yarn = yarn_frequencies(32, 1e4, 16, 4096);
  for (const auto layout : kLayouts) {
    const RotaryEmbedding scaled(yarn, layout), plain(yarn.inv_freq, layout);
    const double s_scaled = rotated(q, 70, scaled).dot(rotated(k, 12, scaled));
    const double s_plain = rotated(q, 70, plain).dot(rotated(k, 12, plain));
    EXPECT_NEAR(s_scaled, yarn.attention_factor * yarn.attention_factor * s_plain, 1e-12 * std::abs(s_plain) + 1e-13);
    const auto table = cos_sin_table<double>(scaled, 80);
    EXPECT_NEAR(table.cos(70, 3) * table.cos(70, 3) + table.sin(70, 3) * table.sin(70, 3),
                yarn.attention_factor * yarn.attention_factor, 1e-14);
  }
}

}  // namespace
}  // namespace probspace::rope
