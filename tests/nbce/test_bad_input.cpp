// Every public NBCE entry point rejects bad input with InvalidArgument naming the argument.
#include "nbce_testing.hpp"

#include <probspace/nbce/merge.hpp>
#include <probspace/nbce/pooling.hpp>
#include <probspace/nbce/sampling.hpp>

namespace probspace::nbce::testing {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

Options with(auto&& change) {
  Options o;
  change(o);
  return o;
}

TEST(NbceBadInput, DecoderOptions) {
  EXPECT_INVALID_ARGUMENT(Decoder<double>(with([](Options& o) { o.beta = -1.5; })), "options.beta");
  EXPECT_INVALID_ARGUMENT(Decoder<double>(with([](Options& o) { o.beta = std::nan(""); })), "options.beta");
  EXPECT_INVALID_ARGUMENT(Decoder<double>(with([](Options& o) { o.beta = kInf; })), "options.beta");
  EXPECT_INVALID_ARGUMENT(Decoder<float>(with([](Options& o) { o.eta = -0.1; })), "options.eta");
  EXPECT_INVALID_ARGUMENT(Decoder<double>(with([](Options& o) { o.soft_temperature = 0; })), "options.soft_temperature");
  EXPECT_INVALID_ARGUMENT(Decoder<double>(with([](Options& o) { o.truncation = Truncation::TopP(0); })),
                          "options.truncation");
  EXPECT_INVALID_ARGUMENT(Decoder<double>(with([](Options& o) { o.truncation = Truncation::TopP(1.01); })),
                          "options.truncation");
  EXPECT_INVALID_ARGUMENT(Decoder<double>(with([](Options& o) { o.truncation = Truncation::TopP(std::nan("")); })),
                          "options.truncation");
  EXPECT_INVALID_ARGUMENT(Decoder<double>(with([](Options& o) { o.truncation = Truncation::TopK(0); })),
                          "options.truncation");
  EXPECT_INVALID_ARGUMENT(Decoder<double>(with([](Options& o) { o.finite_threshold = std::nan(""); })),
                          "options.finite_threshold");
  EXPECT_INVALID_ARGUMENT(Decoder<double>(with([](Options& o) { o.pooling = Pooling::Custom; })), "rule");
  EXPECT_NO_THROW(Decoder<double>(with([](Options& o) { o.beta = -1; })));
}

TEST(NbceBadInput, DecoderStep) {
  Decoder<double> d;
  EXPECT_INVALID_ARGUMENT(d.step(RowMatrixX<double>::Zero(1, 5)), "logits");  // n = 0
  EXPECT_INVALID_ARGUMENT(d.step(RowMatrixX<double>::Zero(3, 0)), "logits");
  RowMatrixX<double> z = RowMatrixX<double>::Zero(3, 5);
  z(2, 1) = std::nan("");
  EXPECT_INVALID_ARGUMENT(d.step(z), "logits[2]");
  z(2, 1) = kInf;
  EXPECT_INVALID_ARGUMENT(d.step(z), "logits[2]");
  z.row(2).setConstant(-kInf);
  EXPECT_INVALID_ARGUMENT(d.step(z), "logits[2]");
  z.row(2).setZero();
  EXPECT_NO_THROW(d.step(z));
  EXPECT_INVALID_ARGUMENT(d.step(RowMatrixX<double>::Zero(3, 6)), "logits");  // V mismatch
  EXPECT_INVALID_ARGUMENT(d.step(RowMatrixX<double>::Zero(4, 5)), "logits");  // n mismatch
  d.reset();
  EXPECT_NO_THROW(d.step(RowMatrixX<double>::Zero(4, 6)));
}

TEST(NbceBadInput, Primitives) {
  const VectorX<double> ok = dvec({0, -1, -2});
  EXPECT_INVALID_ARGUMENT(nucleus(dvec({0, std::nan(""), 1}), Truncation::TopP(0.9)), "x");
  EXPECT_INVALID_ARGUMENT(nucleus(VectorX<double>(0), Truncation::TopP(0.9)), "x");
  EXPECT_INVALID_ARGUMENT(nucleus(dvec({-kInf, -kInf}), Truncation::TopP(0.9)), "x");
  EXPECT_INVALID_ARGUMENT(nucleus(ok, Truncation::TopP(-0.5)), "truncation");
  VectorX<double> l = ok;
  EXPECT_INVALID_ARGUMENT(truncate(l, Truncation::TopK(-3)), "truncation");
  l[1] = std::nan("");
  EXPECT_INVALID_ARGUMENT(truncate(l, Truncation::TopP(0.5)), "log_probs");
  EXPECT_INVALID_ARGUMENT(partial_entropy(dvec({0.5, -1})), "log_probs");
  EXPECT_INVALID_ARGUMENT(partial_entropy(dvec({std::nan(""), -1})), "log_probs");
  EXPECT_INVALID_ARGUMENT(partial_entropy(VectorX<double>(0)), "log_probs");

  EXPECT_INVALID_ARGUMENT(merge(ok, dvec({0, -1}), 0.25), "l_0");
  EXPECT_INVALID_ARGUMENT(merge(ok, ok, -1.01), "beta");
  EXPECT_INVALID_ARGUMENT(merge(ok, ok, 0.25, std::nan("")), "finite_threshold");
  EXPECT_INVALID_ARGUMENT(merge(dvec({0, std::nan(""), 1}), ok, 0.25), "l_sel");
  VectorX<double> s(2);
  EXPECT_INVALID_ARGUMENT(merge(ok, ok, 0.25, s), "s");

  EXPECT_INVALID_ARGUMENT(select_min_entropy(dvec({1, 2}), 2, std::nullopt, 0.1), "first_row");
  EXPECT_INVALID_ARGUMENT(select_min_entropy(dvec({1, 2}), 1, 0, 0.1), "previous");
  EXPECT_INVALID_ARGUMENT(select_min_entropy(dvec({1, 2}), 1, std::nullopt, -1), "eta");
  EXPECT_INVALID_ARGUMENT(select_min_entropy(dvec({1, std::nan("")}), 1, std::nullopt, 0.1), "entropies");
  EXPECT_INVALID_ARGUMENT(entropy_weights(dvec({1, 2}), 0), "temperature");
  EXPECT_INVALID_ARGUMENT(entropy_weights(VectorX<double>(0), 1), "entropies");

  EXPECT_INVALID_ARGUMENT(sample(ok, 0.0, 0.5), "tau");
  EXPECT_INVALID_ARGUMENT(sample(ok, 0.01, 1.0), "u");
  EXPECT_INVALID_ARGUMENT(sample(dvec({std::nan(""), 0}), 0.01, 0.5), "scores");
}

TEST(NbceBadInput, SyntheticModels) {
  const VectorX<double> prior = dvec({0.5, 0.5});
  RowMatrixX<double> lik(1, 2);
  lik << 0.3, 0.6;
  EXPECT_INVALID_ARGUMENT(context_rows(dvec({0.5, 0.6}), lik), "prior");
  EXPECT_INVALID_ARGUMENT(context_rows(dvec({1.0, 0.0}), lik), "prior");
  EXPECT_INVALID_ARGUMENT(exact_posterior(dvec({0.2, 0.3, 0.5}), lik), "likelihoods");
  RowMatrixX<double> neg = lik;
  neg(0, 0) = -0.1;
  EXPECT_INVALID_ARGUMENT(exact_posterior(prior, neg), "likelihoods");
  RowMatrixX<double> l2(2, 2);
  l2 << 0.5, 0.5, 0.2, 0.7;
  EXPECT_INVALID_ARGUMENT(CategoricalModel(prior, l2), "likelihood");  // a row not summing to one
  EXPECT_INVALID_ARGUMENT(CategoricalModel::random(0, 3, 1), "answers");
  const auto model = CategoricalModel::random(3, 2, 1);
  const std::vector<Index> bad{0, 2};
  EXPECT_INVALID_ARGUMENT(model.likelihoods(bad), "observations");
  EXPECT_INVALID_ARGUMENT(SequenceModel(2, 2, prior, lik), "prior");
  EXPECT_INVALID_ARGUMENT(SequenceModel(0, 2, prior, lik), "vocab");
  const SequenceModel seq(2, 1, prior, lik);
  const std::vector<Index> too_long{0};
  EXPECT_INVALID_ARGUMENT(seq.step_rows(too_long), "prefix");
}

}  // namespace
}  // namespace probspace::nbce::testing
