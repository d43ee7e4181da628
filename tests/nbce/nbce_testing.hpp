#pragma once
// Helpers for the NBCE tests: the deterministic instance of spec nbce.md §11.1 and small utilities.
#include <probspace/nbce/decoder.hpp>
#include <probspace/nbce/synthetic.hpp>

#include "../support/testing.hpp"

namespace probspace::nbce::testing {

/// §11.1: π, L and the observations s = (0, 1, 2).
inline CategoricalModel reference_model() {
  VectorX<double> prior(4);
  prior << 0.4, 0.3, 0.2, 0.1;
  RowMatrixX<double> l(4, 3);
  l << 0.6, 0.3, 0.1, 0.2, 0.5, 0.3, 0.1, 0.2, 0.7, 0.25, 0.3, 0.45;
  return {prior, l};
}
inline RowMatrixX<double> reference_likelihoods() {
  const std::vector<Index> s{0, 1, 2};
  return reference_model().likelihoods(s);
}
inline RowMatrixX<double> reference_rows() { return context_rows(reference_model().prior(), reference_likelihoods()); }

inline Options untruncated(Pooling pooling, double beta) {
  Options o;
  o.pooling = pooling;
  o.beta = beta;
  o.truncation = Truncation::None();
  o.eta = 0;
  return o;
}

/// p_NBCE = exp(log_probs) of one step.
template <Real T = double>
VectorX<double> nbce_distribution(const RowMatrixX<double>& rows, const Options& options) {
  Decoder<T> decoder(options);
  const RowMatrixX<T> z = rows.cast<T>();
  return decoder.step(z).log_probs.template cast<double>().array().exp();
}

inline double kl(const VectorX<double>& p, const VectorX<double>& q) {
  double d = 0;
  for (Index i = 0; i < p.size(); ++i)
    if (p[i] > 0) d += p[i] * std::log(p[i] / q[i]);
  return d;
}

inline VectorX<double> dvec(std::initializer_list<double> v) { return probspace::testing::vec<double>(v); }

#define EXPECT_VEC_NEAR(a, b, tolerance)                                                         \
  do {                                                                                           \
    const Eigen::VectorXd a_ = (a).template cast<double>(), b_ = (b).template cast<double>();    \
    ASSERT_EQ(a_.size(), b_.size());                                                             \
    for (Index i_ = 0; i_ < a_.size(); ++i_) EXPECT_NEAR(a_[i_], b_[i_], tolerance) << "at " << i_; \
  } while (0)

}  // namespace probspace::nbce::testing
