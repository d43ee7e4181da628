// Every reference value of spec nbce.md §11.1 (the deterministic instance).
#include "nbce_testing.hpp"

#include <probspace/nbce/merge.hpp>
#include <probspace/nbce/pooling.hpp>

namespace probspace::nbce::testing {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

TEST(NbceReference, ContextPosteriorsEntropiesAndExactPosterior) {
  const RowMatrixX<double> rows = reference_rows();
  EXPECT_VEC_NEAR(VectorX<double>(rows.row(1).array().exp()), dvec({48 / 69., 12 / 69., 4 / 69., 5 / 69.}), 1e-15);
  EXPECT_VEC_NEAR(VectorX<double>(rows.row(2).array().exp()), dvec({12 / 34., 15 / 34., 4 / 34., 3 / 34.}), 1e-15);
  EXPECT_VEC_NEAR(VectorX<double>(rows.row(3).array().exp()), dvec({8 / 63., 18 / 63., 28 / 63., 9 / 63.}), 1e-15);
  Decoder<double> decoder(untruncated(Pooling::MinEntropy, 0));
  const auto& step = decoder.step(rows);
  EXPECT_VEC_NEAR(step.entropies, dvec({1.2798542258, 0.9119486013, 1.1945767857, 1.2583891477}), 1e-10);
  EXPECT_EQ(step.selected, 1);
  EXPECT_VEC_NEAR(exact_posterior(reference_model().prior(), reference_likelihoods()),
                  dvec({288 / 895., 360 / 895., 112 / 895., 135 / 895.}), 1e-15);
}

struct TableRow {
  double beta;
  std::vector<double> average, min_entropy, max;
  double kl_average, kl_min_entropy, kl_max;
};

TEST(NbceReference, PoolingTableByBeta) {
  const std::vector<TableRow> table{
      {0, {0.3763189228, 0.3346315642, 0.173039229, 0.1160102839}, {48 / 69., 12 / 69., 4 / 69., 5 / 69.},
       {0.4034800626, 0.2558834956, 0.2577789289, 0.0828575129}, 0.0226820, 0.2960567, 0.1090661},
      {0.25, {0.3699537831, 0.3432777975, 0.1665868111, 0.1201816083}, {0.7536393392, 0.143160516, 0.0401277216, 0.0630724232},
       {0.4027522036, 0.2449333112, 0.2735754317, 0.0787390535}, 0.0173375, 0.4155361, 0.1274869},
      {1, {0.3499809224, 0.3689816777, 0.1479964834, 0.1330409165}, {0.8767123288, 0.0730593607, 0.0121765601, 0.0380517504},
       {0.3966193992, 0.2126929426, 0.3237834293, 0.066904229}, 0.0056269, 0.8629016, 0.1926768},
      {2, {288 / 895., 360 / 895., 112 / 895., 135 / 895.}, {0.9540372671, 0.0265010352, 0.0022084196, 0.0172532781},
       {0.3794854907, 0.1720811244, 0.3958504772, 0.0525829078}, 0.0, 1.5765518, 0.3032983},
  };
  const RowMatrixX<double> rows = reference_rows();
  const VectorX<double> exact = exact_posterior(reference_model().prior(), reference_likelihoods());
  for (const auto& r : table) {
    SCOPED_TRACE("beta " + std::to_string(r.beta));
    const auto avg = nbce_distribution(rows, untruncated(Pooling::Average, r.beta));
    const auto sel = nbce_distribution(rows, untruncated(Pooling::MinEntropy, r.beta));
    const auto mx = nbce_distribution(rows, untruncated(Pooling::Max, r.beta));
    const auto to_vec = [](const std::vector<double>& v) { return Eigen::Map<const VectorX<double>>(v.data(), 4).eval(); };
    EXPECT_VEC_NEAR(avg, to_vec(r.average), 1e-10);
    EXPECT_VEC_NEAR(sel, to_vec(r.min_entropy), 1e-10);
    EXPECT_VEC_NEAR(mx, to_vec(r.max), 1e-10);
    EXPECT_NEAR(kl(exact, avg), r.kl_average, 1e-7);
    EXPECT_NEAR(kl(exact, sel), r.kl_min_entropy, 1e-7);
    EXPECT_NEAR(kl(exact, mx), r.kl_max, 1e-7);
  }
  // β = n − 1 with average pooling is the exact posterior (§9.1).
  EXPECT_VEC_NEAR(nbce_distribution(rows, untruncated(Pooling::Average, 2)), exact, 1e-15);
}

TEST(NbceReference, BetaMinusOneReturnsThePriorForEveryPooling) {
  const RowMatrixX<double> rows = reference_rows();
  for (auto pooling : {Pooling::Average, Pooling::Max, Pooling::MinEntropy, Pooling::SoftEntropy})
    EXPECT_VEC_NEAR(nbce_distribution(rows, untruncated(pooling, -1)), reference_model().prior(), 1e-15);
}

TEST(NbceReference, SoftPoolingWeightsAndLimits) {
  const RowMatrixX<double> rows = reference_rows();
  auto soft = [&](double t) {
    Options o = untruncated(Pooling::SoftEntropy, 0.25);
    o.soft_temperature = t;
    return o;
  };
  Decoder<double> decoder(soft(1));
  const auto& step = decoder.step(rows);
  EXPECT_VEC_NEAR(VectorX<double>(step.weights.tail(3)), dvec({0.4063387423, 0.3062981482, 0.2873631095}), 1e-10);
  EXPECT_VEC_NEAR(VectorX<double>(step.log_probs.array().exp()),
                  dvec({0.4173181767, 0.3232296092, 0.1446565232, 0.114795691}), 1e-10);
  EXPECT_VEC_NEAR(nbce_distribution(rows, soft(0.1)), dvec({0.7179321154, 0.1645984943, 0.0480245277, 0.0694448625}),
                  1e-10);
  EXPECT_VEC_NEAR(nbce_distribution(rows, soft(1e-3)), nbce_distribution(rows, untruncated(Pooling::MinEntropy, 0.25)),
                  1e-12);
  EXPECT_VEC_NEAR(nbce_distribution(rows, soft(100)), nbce_distribution(rows, untruncated(Pooling::Average, 0.25)), 5e-4);
  // §13.5: no overflow or 0/0 at T_H = 1e−6.
  const auto tiny = nbce_distribution(rows, soft(1e-6));
  EXPECT_TRUE(tiny.allFinite());
  EXPECT_VEC_NEAR(tiny, nbce_distribution(rows, untruncated(Pooling::MinEntropy, 0.25)), 1e-15);
}

TEST(NbceReference, TruncatedStep) {
  const RowMatrixX<double> rows = reference_rows();
  Options o;  // min-entropy, β = 0.25
  o.truncation = Truncation::TopP(0.75);
  Decoder<double> decoder(o);
  const auto& step = decoder.step(rows);
  // Nuclei: row 0 {0,1,2}; rows 1, 2 {0,1}; row 3 {1,2,3}.
  const std::vector<std::vector<bool>> kept{{1, 1, 1, 0}, {1, 1, 0, 0}, {1, 1, 0, 0}, {0, 1, 1, 1}};
  for (Index r = 0; r < 4; ++r) {
    const auto nu = nucleus(VectorX<double>(rows.row(r).transpose()), o.truncation);
    for (Index t = 0; t < 4; ++t) EXPECT_EQ(nu.contains(rows(r, t), t), kept[std::size_t(r)][std::size_t(t)]) << r << "," << t;
  }
  EXPECT_VEC_NEAR(step.entropies, dvec({1.0495957165, 0.556664666, 0.7285912162, 0.9963328703}), 1e-10);
  EXPECT_EQ(step.selected, 1);
  EXPECT_NEAR(step.scores[0], -0.2245591841, 1e-10);
  EXPECT_NEAR(step.scores[1], -1.8855066174, 1e-10);
  EXPECT_EQ(step.scores[2], -kInf);
  EXPECT_EQ(step.scores[3], -kInf);
  EXPECT_VEC_NEAR(VectorX<double>(step.log_probs.array().exp()), dvec({0.8403651437, 0.1596348563, 0, 0}), 1e-10);

  // Merge asymmetry with row 3 forced: token 3 is outside row 0's nucleus and keeps l_3 unscaled.
  VectorX<double> l3 = rows.row(3).transpose(), l0 = rows.row(0).transpose();
  truncate(l3, o.truncation);
  truncate(l0, o.truncation);
  const VectorX<double> s = merge(l3, l0, 0.25);
  EXPECT_EQ(s[0], -kInf);
  EXPECT_NEAR(s[1], -1.2649605095, 1e-10);
  EXPECT_NEAR(s[2], -0.6113032922, 1e-10);
  EXPECT_NEAR(s[3], -1.9459101491, 1e-10);
  EXPECT_DOUBLE_EQ(s[3], std::log(9 / 63.));

  // Hysteresis on these entropies (§6).
  EXPECT_EQ(select_min_entropy(step.entropies, 1, 2, 0.1), 1);
  EXPECT_EQ(select_min_entropy(step.entropies, 1, 2, 0.2), 2);
}

TEST(NbceReference, TokenLevelVersusSequenceLevel) {
  VectorX<double> prior(4);
  prior << 0.4, 0.1, 0.2, 0.3;
  RowMatrixX<double> lik(2, 4);
  lik << 0.9, 0.2, 0.6, 0.3, 0.3, 0.8, 0.5, 0.6;
  const SequenceModel model(2, 2, prior, lik);
  const VectorX<double> exact = dvec({54 / 119., 8 / 119., 30 / 119., 27 / 119.});
  EXPECT_VEC_NEAR(model.exact_posterior(), exact, 1e-15);
  const Options avg = untruncated(Pooling::Average, 1);
  EXPECT_VEC_NEAR(model.nbce_posterior(avg, SequenceModel::Level::Sequence), exact, 1e-15);
  const VectorX<double> token = model.nbce_posterior(avg, SequenceModel::Level::Token);
  EXPECT_VEC_NEAR(token, dvec({0.4910500622, 0.0727481574, 0.2295798844, 0.206621896}), 1e-10);
  EXPECT_NEAR(kl(exact, token), 0.0036998088, 1e-10);
  // Step 1 alone: NBCE vs the exact marginal of t_1.
  const std::vector<Index> none;
  const auto step1 = nbce_distribution(model.step_rows(none), avg);
  EXPECT_VEC_NEAR(step1, dvec({0.5637982196, 0.4362017804}), 1e-10);
  EXPECT_VEC_NEAR(dvec({exact[0] + exact[1], exact[2] + exact[3]}), dvec({0.5210084034, 0.4789915966}), 1e-10);
}

}  // namespace
}  // namespace probspace::nbce::testing
