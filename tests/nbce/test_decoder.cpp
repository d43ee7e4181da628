// The Decoder (spec nbce.md §8, §13): against a composition of the primitives, exactness on the
// synthetic model (§9), β limits, failure modes, hysteresis, row-0 selection, custom and empty support.
#include "nbce_testing.hpp"

#include <probspace/core/stable.hpp>
#include <probspace/nbce/merge.hpp>
#include <probspace/nbce/pooling.hpp>

#include <algorithm>

namespace probspace::nbce::testing {
namespace {

using probspace::testing::Scalars;
constexpr double kInf = std::numeric_limits<double>::infinity();

/// Pooling of §2 over rows of log-probabilities l (−inf = removed), with the −inf arithmetic of §3.
VectorX<double> reference_pool(const RowMatrixX<double>& l, const VectorX<double>& h, const Options& o,
                               std::optional<Index> previous, Index* selected) {
  const Index rows = l.rows(), vocab = l.cols(), first = o.select_row0 ? 0 : 1;
  *selected = -1;
  if (o.pooling == Pooling::MinEntropy) {
    *selected = select_min_entropy(h, first, previous, o.eta);
    return l.row(*selected).transpose();
  }
  if (o.pooling == Pooling::Max) return l.bottomRows(rows - 1).colwise().maxCoeff().transpose();
  VectorX<double> w = VectorX<double>::Zero(rows);
  if (o.pooling == Pooling::Average) w.tail(rows - 1).setConstant(1.0 / double(rows - 1));
  else w.tail(rows - first) = entropy_weights(h.tail(rows - first), o.soft_temperature);
  VectorX<double> pooled(vocab);
  for (Index t = 0; t < vocab; ++t) {
    double s = 0;
    for (Index r = 0; r < rows; ++r)
      if (w[r] > 0) s = l(r, t) == -kInf ? -kInf : s + w[r] * l(r, t);
    pooled[t] = s;
  }
  return pooled;
}

/// §8 spelled out with the public primitives, in double: the scalar reference the fused step must
/// match, with the empty-support fallback (pool untruncated rows, truncate the pooled row).
VectorX<double> reference_scores(const RowMatrixX<double>& z, const Options& o, std::optional<Index> previous,
                                 Index* selected, bool* fallback) {
  const Index rows = z.rows();
  RowMatrixX<double> full(rows, z.cols()), l(rows, z.cols());
  VectorX<double> h(rows);
  for (Index r = 0; r < rows; ++r) {
    VectorX<double> lr = probspace::log_softmax(VectorX<double>(z.row(r).transpose()));
    full.row(r) = lr.transpose();
    truncate(lr, o.truncation);
    l.row(r) = lr.transpose();
    h[r] = partial_entropy(lr);
  }
  VectorX<double> pooled = reference_pool(l, h, o, previous, selected);
  *fallback = (pooled.array() == -kInf).all();
  if (*fallback) {
    pooled = reference_pool(full, h, o, previous, selected);
    const Nucleus<double> nu = nucleus(pooled, o.truncation);
    for (Index t = 0; t < pooled.size(); ++t)
      if (!nu.contains(pooled[t], t)) pooled[t] = -kInf;
  }
  return merge(pooled, VectorX<double>(l.row(0).transpose()), o.beta, o.finite_threshold);
}

template <class T> class DecoderTyped : public ::testing::Test {};
TYPED_TEST_SUITE(DecoderTyped, Scalars);

TYPED_TEST(DecoderTyped, FusedStepEqualsTheScalarReferenceForEveryPoolingAndTruncation) {
  using T = TypeParam;
  std::mt19937_64 rng(21);
  const double eps = std::is_same_v<T, float> ? 2e-4 : 1e-12;
  int fallbacks = 0;
  for (int trial = 0; trial < 60; ++trial) {
    const Index rows = 2 + trial % 6, vocab = 50 + 37 * (trial % 5);
    RowMatrixX<double> z(rows, vocab);
    for (Index r = 0; r < rows; ++r) z.row(r) = probspace::testing::normal_vector<double>(rng, vocab, 1.0 + double(r)).transpose();
    z(1, 3) = -kInf;
    z = z.cast<T>().template cast<double>();  // the same inputs in both precisions
    Options o;
    o.pooling = std::array{Pooling::MinEntropy, Pooling::Average, Pooling::Max, Pooling::SoftEntropy}[trial % 4];
    o.truncation = std::array{Truncation::TopP(0.9), Truncation::None(), Truncation::TopK(20)}[trial % 3];
    o.beta = std::array{0.25, -1.0, 0.0, 3.0}[trial % 4];
    o.select_row0 = trial % 5 == 0;
    o.eta = 0.1;
    Decoder<T> decoder(o);
    std::optional<Index> previous;
    for (int step = 0; step < 3; ++step) {
      Index selected;
      bool fallback;
      const VectorX<double> want = reference_scores(z, o, previous, &selected, &fallback);
      const auto& got = decoder.step(z.cast<T>());
      ASSERT_EQ(got.selected, selected) << "trial " << trial;
      ASSERT_EQ(got.fallback_used, fallback) << "trial " << trial;
      fallbacks += fallback;
      if (selected >= 0) previous = selected;
      for (Index t = 0; t < vocab; ++t) {
        if (want[t] == -kInf) EXPECT_EQ(double(got.scores[t]), -kInf) << trial << " " << t;
        else EXPECT_NEAR(double(got.scores[t]), want[t], eps * (1 + std::abs(want[t]))) << trial << " " << t;
      }
      EXPECT_FALSE(got.scores.hasNaN());
      EXPECT_NEAR(got.log_probs.template cast<double>().array().exp().sum(), 1.0, eps);
      z.row(1 + step % (rows - 1)).array() *= 0.5;  // move the entropies for the next step
    }
  }
  EXPECT_GT(fallbacks, 0) << "the sample should include empty pooled supports";
}

TYPED_TEST(DecoderTyped, ResultsAreReusedWithoutReallocation) {
  using T = TypeParam;
  std::mt19937_64 rng(2);
  RowMatrixX<T> z(5, 300);
  for (Index r = 0; r < 5; ++r) z.row(r) = probspace::testing::normal_vector<T>(rng, 300).transpose();
  Decoder<T> decoder;
  const auto& first = decoder.step(z);
  const T* scores = first.scores.data();
  const T* log_probs = first.log_probs.data();
  for (int i = 0; i < 3; ++i) {
    z.row(2).array() += T(0.1);
    const auto& next = decoder.step(z);
    EXPECT_EQ(next.scores.data(), scores);
    EXPECT_EQ(next.log_probs.data(), log_probs);
  }
}

TEST(Decoder, AveragePoolingWithBetaNMinusOneIsExactOnRandomModels) {
  for (Index n = 1; n <= 16; ++n) {
    for (std::uint64_t seed = 0; seed < 5; ++seed) {
      const auto model = CategoricalModel::random(7, 4, 100 * std::uint64_t(n) + seed);
      std::mt19937_64 rng(seed);
      const auto obs = model.sample_observations(n, rng);
      const RowMatrixX<double> lik = model.likelihoods(obs);
      const VectorX<double> exact = exact_posterior(model.prior(), lik);
      const Options o = untruncated(Pooling::Average, double(n - 1));
      EXPECT_VEC_NEAR(nbce_distribution(context_rows(model.prior(), lik), o), exact, 1e-12);
      // Order invariance (§13.1).
      RowMatrixX<double> reversed = lik.colwise().reverse();
      EXPECT_VEC_NEAR(nbce_distribution(context_rows(model.prior(), reversed), o), exact, 1e-12);
    }
  }
}

TEST(Decoder, UninformativeContextChangesNothingWithBetaNMinusOne) {
  const auto model = CategoricalModel::random(7, 4, 42);
  std::mt19937_64 rng(1);
  const auto obs = model.sample_observations(3, rng);
  const RowMatrixX<double> lik = model.likelihoods(obs);
  RowMatrixX<double> more(4, 7);
  more.topRows(3) = lik;
  more.row(3).setConstant(0.3);  // L constant in T
  const auto rows3 = context_rows(model.prior(), lik), rows4 = context_rows(model.prior(), more);
  EXPECT_VEC_NEAR(nbce_distribution(rows4, untruncated(Pooling::Average, 3)),
                  nbce_distribution(rows3, untruncated(Pooling::Average, 2)), 1e-12);
  EXPECT_GT(kl(nbce_distribution(rows3, untruncated(Pooling::Average, 0.25)),
               nbce_distribution(rows4, untruncated(Pooling::Average, 0.25))),
            1e-4);
}

TEST(Decoder, BetaLimitsAndContextAwareDecoding) {
  const auto model = CategoricalModel::random(9, 5, 7);
  std::mt19937_64 rng(3);
  const RowMatrixX<double> rows = context_rows(model.prior(), model.likelihoods(model.sample_observations(4, rng)));
  // β = 0: the pooled row after softmax; β = −1: row 0.
  for (auto pooling : {Pooling::Average, Pooling::MinEntropy, Pooling::SoftEntropy}) {
    Decoder<double> d(untruncated(pooling, 0));
    const auto& step = d.step(rows);
    VectorX<double> pooled = VectorX<double>::Zero(9);
    for (Index r = 0; r < 5; ++r) pooled += step.weights[r] * rows.row(r).transpose();
    EXPECT_VEC_NEAR(step.log_probs, probspace::log_softmax(pooled), 1e-12);
  }
  // n = 1 is context-aware decoding: (1+α) log p(y|c) − α log p(y).
  const RowMatrixX<double> one = rows.topRows(2);
  for (double alpha : {0.5, 2.0}) {
    const VectorX<double> cad = (1 + alpha) * one.row(1).transpose() - alpha * one.row(0).transpose();
    EXPECT_VEC_NEAR(nbce_distribution(one, untruncated(Pooling::MinEntropy, alpha)),
                    VectorX<double>(probspace::log_softmax(cad).array().exp()), 1e-12);
  }
  // β → ∞: s/β → log p_pool − log p_0 (pointwise mutual information ranking).
  Decoder<double> d(untruncated(Pooling::Average, 1e8));
  const VectorX<double> pmi = rows.bottomRows(4).colwise().mean().transpose() - rows.row(0).transpose();
  EXPECT_VEC_NEAR(VectorX<double>(d.step(rows).scores / 1e8), pmi, 1e-7);
}

TEST(Decoder, MinEntropyFailsWhenAnInformativeContextRaisesEntropy) {
  // §9.4: one informative context whose posterior is flatter than the prior; the uninformative
  // context (posterior = prior) has lower entropy and is selected.
  VectorX<double> prior = dvec({0.7, 0.2, 0.1});
  RowMatrixX<double> lik(2, 3);
  lik << 0.1, 0.5, 0.9,   // informative: moves mass away from the prior's mode
      0.4, 0.4, 0.4;      // uninformative
  const RowMatrixX<double> rows = context_rows(prior, lik);
  Decoder<double> d(untruncated(Pooling::MinEntropy, 0));
  const auto& step = d.step(rows);
  EXPECT_GT(step.entropies[1], step.entropies[0]) << "the informative row is above the prior's entropy";
  EXPECT_EQ(step.selected, 2);
  const VectorX<double> exact = exact_posterior(prior, lik);
  EXPECT_GT(kl(exact, VectorX<double>(step.log_probs.array().exp())), 0.1);
  EXPECT_VEC_NEAR(nbce_distribution(rows, untruncated(Pooling::Average, 1)), exact, 1e-14);
}

TEST(Decoder, TokenLevelIsNotExactOnRandomSequenceModels) {
  std::mt19937_64 rng(5);
  std::exponential_distribution<double> e(1.0);
  for (int trial = 0; trial < 5; ++trial) {
    VectorX<double> prior(9);
    for (auto& x : prior) x = e(rng);
    prior /= prior.sum();
    RowMatrixX<double> lik(3, 9);
    for (Index i = 0; i < lik.size(); ++i) lik.data()[i] = 0.05 + e(rng);
    const SequenceModel model(3, 2, prior, lik);
    const VectorX<double> exact = model.exact_posterior();
    const Options o = untruncated(Pooling::Average, 2);
    EXPECT_VEC_NEAR(model.nbce_posterior(o, SequenceModel::Level::Sequence), exact, 1e-12);
    EXPECT_GT(kl(exact, model.nbce_posterior(o, SequenceModel::Level::Token)), 1e-6);
  }
}

TEST(Decoder, HysteresisOverStepsAndRowZeroSelection) {
  // Row entropies controlled by temperature: row 1 slightly sharper than row 2 at step 2.
  const auto row = [](double sharpness) {
    VectorX<double> z(6);
    for (Index t = 0; t < 6; ++t) z[t] = -sharpness * double(t);
    return z;
  };
  RowMatrixX<double> z(3, 6);
  z.row(0) = row(0.1).transpose();
  z.row(1) = row(1.0).transpose();
  z.row(2) = row(2.0).transpose();
  Options o = untruncated(Pooling::MinEntropy, 0.25);
  o.eta = 0.1;
  Decoder<double> d(o);
  EXPECT_EQ(d.step(z).selected, 2);
  // Now row 1 is sharper, but by less than η: stay at 2.
  z.row(1) = row(2.05).transpose();
  auto h = d.step(z).entropies;
  ASSERT_LT(h[1], h[2]);
  ASSERT_GT(h[1], h[2] - 0.1);
  EXPECT_EQ(d.previous_selection(), 2);
  // Sharper by more than η: switch.
  z.row(1) = row(3.0).transpose();
  h = d.step(z).entropies;
  ASSERT_LT(h[1], h[2] - 0.1);
  EXPECT_EQ(d.previous_selection(), 1);
  // reset() forgets k_prev: no penalty at the first step.
  d.reset();
  z.row(1) = row(2.05).transpose();
  EXPECT_EQ(d.step(z).selected, 1);

  // Row 0 is never selected in generation, but may be in multiple-choice mode (§7).
  z.row(0) = row(10).transpose();
  EXPECT_NE(Decoder<double>(o).step(z).selected, 0);
  o.select_row0 = true;
  EXPECT_EQ(Decoder<double>(o).step(z).selected, 0);
}

TEST(Decoder, CustomPoolingRule) {
  const RowMatrixX<double> rows = reference_rows();
  Options o = untruncated(Pooling::Custom, 0.25);
  // A rule that picks the last context: must equal the merge of row 3.
  Decoder<double> d(o, [](const ConstRowMatrixRef<double>& c, const ConstVectorRef<double>& h, VectorRef<double> out) {
    ASSERT_EQ(h.size(), c.rows());
    out = c.row(c.rows() - 1).transpose();
  });
  const VectorX<double> want = merge(VectorX<double>(rows.row(3).transpose()), VectorX<double>(rows.row(0).transpose()), 0.25);
  EXPECT_VEC_NEAR(d.step(rows).scores, want, 1e-15);
  EXPECT_EQ(d.step(rows).selected, -1);
  // A rule returning NaN is reported, naming the rule.
  Decoder<double> bad(o, [](const ConstRowMatrixRef<double>&, const ConstVectorRef<double>&, VectorRef<double> out) {
    out.setConstant(std::nan(""));
  });
  EXPECT_INVALID_ARGUMENT(bad.step(rows), "rule");
}

TEST(Decoder, EmptyPooledSupportIsReportedOrResolved) {
  // Disjoint nuclei under top-k = 1: rows 1 and 2 keep different tokens, so average pooling is empty.
  RowMatrixX<double> z(3, 4);
  z << 0, 0, 0, 0,  //
      5, 0, 0, 0,   //
      0, 4, 1, 0;
  Options o;
  o.pooling = Pooling::Average;
  o.truncation = Truncation::TopK(1);
  o.empty_support = EmptySupport::Report;
  Decoder<double> report(o);
  const auto& r = report.step(z);
  EXPECT_TRUE(r.empty_support);
  EXPECT_FALSE(r.fallback_used);
  EXPECT_TRUE((r.scores.array() == -kInf).all());
  o.empty_support = EmptySupport::Fallback;
  Decoder<double> fallback(o);
  const auto& f = fallback.step(z);
  EXPECT_TRUE(f.empty_support);
  EXPECT_TRUE(f.fallback_used);
  // The untruncated average is largest at token 0 (5/2 vs 5/2 + ... ties broken by index) and top-1 keeps it.
  const VectorX<double> avg = 0.5 * (probspace::log_softmax(VectorX<double>(z.row(1).transpose())) +
                                     probspace::log_softmax(VectorX<double>(z.row(2).transpose())));
  Index best;
  avg.maxCoeff(&best);
  for (Index t = 0; t < 4; ++t) EXPECT_EQ(f.scores[t] > -kInf, t == best) << t;
  EXPECT_NEAR(std::exp(f.log_probs[best]), 1.0, 1e-15);
}

}  // namespace
}  // namespace probspace::nbce::testing
