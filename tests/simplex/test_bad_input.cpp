// Every public simplex entry point rejects bad input with InvalidArgument naming the argument.
#include "../support/testing.hpp"

#include <probspace/probspace.hpp>

namespace probspace::simplex {
namespace {

using testing::vec;

template <class T> class BadInput : public ::testing::Test {
protected:
  const T inf = std::numeric_limits<T>::infinity();
  const T nan = std::numeric_limits<T>::quiet_NaN();
  const VectorX<T> empty = VectorX<T>(0);
  const VectorX<T> good = vec<T>({0.3, -1.0, 2.0});
  const VectorX<T> with_nan = vec<T>({0.3, std::nan(""), 2.0});
  const VectorX<T> with_pinf = vec<T>({0.3, std::numeric_limits<double>::infinity(), 2.0});
  const VectorX<T> all_masked = VectorX<T>::Constant(3, -std::numeric_limits<T>::infinity());
  const VectorX<T> p = vec<T>({0.5, 0.25, 0.25});
  VectorX<T> out = VectorX<T>(3);
  VectorX<T> short_out = VectorX<T>(2);
};
TYPED_TEST_SUITE(BadInput, testing::Scalars);

TYPED_TEST(BadInput, ThresholdAndProjections) {
  using T = TypeParam;
  for (const auto m : {ProjectionMethod::Auto, ProjectionMethod::Sort, ProjectionMethod::Condat, ProjectionMethod::Bisection}) {
    EXPECT_INVALID_ARGUMENT(simplex_threshold(this->empty, T(1), m), "y");
    EXPECT_INVALID_ARGUMENT(simplex_threshold(this->with_nan, T(1), m), "y");
    EXPECT_INVALID_ARGUMENT(simplex_threshold(this->with_pinf, T(1), m), "y");
    EXPECT_INVALID_ARGUMENT(simplex_threshold(this->all_masked, T(1), m), "y");
    EXPECT_INVALID_ARGUMENT(simplex_threshold(this->good, T(0), m), "radius");
    EXPECT_INVALID_ARGUMENT(simplex_threshold(this->good, T(-1), m), "radius");
    EXPECT_INVALID_ARGUMENT(simplex_threshold(this->good, this->nan, m), "radius");
    EXPECT_INVALID_ARGUMENT(simplex_threshold(this->good, this->inf, m), "radius");
    EXPECT_INVALID_ARGUMENT(project_simplex(this->good, this->short_out, T(1), m), "out");
    EXPECT_INVALID_ARGUMENT(project_simplex(this->empty, T(1), m), "y");
    EXPECT_INVALID_ARGUMENT(project_simplex(this->with_nan, this->out, T(1), m), "y");
    EXPECT_INVALID_ARGUMENT(project_simplex(this->good, this->out, T(0), m), "radius");
    EXPECT_INVALID_ARGUMENT(project_l1_ball(this->good, this->short_out, T(1), m), "out");
    EXPECT_INVALID_ARGUMENT(project_l1_ball(this->empty, T(1), m), "y");
    EXPECT_INVALID_ARGUMENT(project_l1_ball(this->with_nan, T(1), m), "y");
    EXPECT_INVALID_ARGUMENT(project_l1_ball(vec<T>({1.0, -std::numeric_limits<double>::infinity()}), T(1), m), "y");
    EXPECT_INVALID_ARGUMENT(project_l1_ball(this->good, T(-2), m), "radius");
    EXPECT_INVALID_ARGUMENT(sparsemax(this->good, this->short_out, m), "p");
    EXPECT_INVALID_ARGUMENT(sparsemax(this->with_nan, this->out, m), "z");
  }
  EXPECT_INVALID_ARGUMENT(sparsemax(this->empty), "z");
  EXPECT_INVALID_ARGUMENT(sparsemax(this->all_masked), "z");
}

TYPED_TEST(BadInput, LongInputsFaultyLateLeaveTheOutputUntouched) {
  using T = TypeParam;
  // Condat checks y during its pass (after candidates have been collected and the bound raised):
  // a NaN or +inf anywhere still throws, before anything is written.
  const Index n = 100000;
  for (const Index at : {Index(0), Index(50001), n - 1}) {
    for (const T bad : {this->nan, this->inf}) {
      VectorX<T> y = VectorX<T>::LinSpaced(n, T(0), T(1));
      y[at] = bad;
      for (const auto m : {ProjectionMethod::Auto, ProjectionMethod::Condat}) {
        VectorX<T> untouched = VectorX<T>::Constant(n, T(7));
        EXPECT_INVALID_ARGUMENT(project_simplex(y, untouched, T(1), m), "y");
        EXPECT_INVALID_ARGUMENT(sparsemax(y, untouched, m), "z");
        EXPECT_INVALID_ARGUMENT(simplex_threshold(y, T(1), m), "y");
        EXPECT_TRUE((untouched.array() == T(7)).all()) << "at " << at;
      }
    }
  }
}

TYPED_TEST(BadInput, SoftmaxAndEntmax) {
  using T = TypeParam;
  EXPECT_INVALID_ARGUMENT(softmax(this->empty), "z");
  EXPECT_INVALID_ARGUMENT(softmax(this->with_nan), "z");
  EXPECT_INVALID_ARGUMENT(softmax(this->with_pinf), "z");
  EXPECT_INVALID_ARGUMENT(softmax(this->all_masked), "z");
  EXPECT_INVALID_ARGUMENT(softmax(this->good, T(0)), "temperature");
  EXPECT_INVALID_ARGUMENT(softmax(this->good, T(-1)), "temperature");
  EXPECT_INVALID_ARGUMENT(softmax(this->good, this->nan), "temperature");
  EXPECT_INVALID_ARGUMENT(softmax(this->good, this->short_out), "p");
  EXPECT_INVALID_ARGUMENT(entmax(this->empty, T(1.5)), "z");
  EXPECT_INVALID_ARGUMENT(entmax(this->with_nan, T(1.5)), "z");
  EXPECT_INVALID_ARGUMENT(entmax(this->all_masked, T(1.5)), "z");
  EXPECT_INVALID_ARGUMENT(entmax(this->good, T(1)), "alpha");
  EXPECT_INVALID_ARGUMENT(entmax(this->good, T(0.5)), "alpha");
  EXPECT_INVALID_ARGUMENT(entmax(this->good, this->nan), "alpha");
  EXPECT_INVALID_ARGUMENT(entmax(this->good, this->inf), "alpha");
  EXPECT_INVALID_ARGUMENT(entmax(this->good, T(1.3), EntmaxMethod::Exact15), "method");
  EXPECT_INVALID_ARGUMENT(entmax(this->good, this->short_out, T(1.5)), "p");
}

TYPED_TEST(BadInput, JacobianVectorProducts) {
  using T = TypeParam;
  const VectorX<T> not_distribution = vec<T>({0.5, 0.7, 0.1});
  const VectorX<T> negative = vec<T>({1.5, -0.5, 0.0});
  EXPECT_INVALID_ARGUMENT(softmax_jvp(not_distribution, this->good, this->out), "p");
  EXPECT_INVALID_ARGUMENT(softmax_jvp(this->p, this->with_nan, this->out), "v");
  EXPECT_INVALID_ARGUMENT(softmax_jvp(this->p, vec<T>({1, 2}), this->out), "v");
  EXPECT_INVALID_ARGUMENT(softmax_jvp(this->p, this->good, this->short_out), "out");
  EXPECT_INVALID_ARGUMENT(softmax_vjp(this->p, this->good, this->out, T(0)), "temperature");
  EXPECT_INVALID_ARGUMENT(sparsemax_jvp(negative, this->good, this->out), "p");
  EXPECT_INVALID_ARGUMENT(sparsemax_vjp(this->empty, this->empty, this->short_out), "p");
  EXPECT_INVALID_ARGUMENT(sparsemax_vjp(this->p, this->with_nan, this->out), "v");
  EXPECT_INVALID_ARGUMENT(entmax_jvp(this->p, this->good, T(1), this->out), "alpha");
  EXPECT_INVALID_ARGUMENT(entmax_vjp(this->p, this->good, T(1.5), this->short_out), "out");
  EXPECT_INVALID_ARGUMENT(entmax_vjp(not_distribution, this->good, T(1.5), this->out), "p");
}

TYPED_TEST(BadInput, LossesAndCertificates) {
  using T = TypeParam;
  EXPECT_INVALID_ARGUMENT(softmax_loss(this->good, 3), "k");
  EXPECT_INVALID_ARGUMENT(sparsemax_loss(this->good, -1), "k");
  EXPECT_INVALID_ARGUMENT(entmax_loss(this->good, 0, T(1)), "alpha");
  EXPECT_INVALID_ARGUMENT(entmax_loss(this->with_nan, 0, T(1.5)), "z");
  EXPECT_INVALID_ARGUMENT(softmax_loss(this->empty, 0), "z");
  EXPECT_INVALID_ARGUMENT(fenchel_young_loss(Regularizer::Euclidean, this->good, vec<T>({0.5, 0.6, 0}), this->out), "y");
  EXPECT_INVALID_ARGUMENT(fenchel_young_loss(Regularizer::Euclidean, this->good, vec<T>({1, 0}), this->out), "y");
  EXPECT_INVALID_ARGUMENT(fenchel_young_loss(Regularizer::Shannon, this->good, this->p, this->short_out), "grad");
  EXPECT_INVALID_ARGUMENT(fenchel_young_loss(Regularizer::Shannon, this->good, 1, this->short_out), "grad");
  EXPECT_INVALID_ARGUMENT(tsallis_entropy(this->p, T(0.9)), "alpha");
  EXPECT_INVALID_ARGUMENT(tsallis_entropy(this->good, T(1.5)), "p");
  EXPECT_INVALID_ARGUMENT(kkt_certificate(this->empty, this->empty), "p");
  EXPECT_INVALID_ARGUMENT(kkt_certificate(this->with_nan, this->good), "p");
  EXPECT_INVALID_ARGUMENT(kkt_certificate(this->p, vec<T>({1, 2})), "g");
  EXPECT_INVALID_ARGUMENT(kkt_certificate(this->p, this->with_pinf), "g");
  EXPECT_INVALID_ARGUMENT(kkt_certificate(this->p, this->good, T(0)), "radius");
  EXPECT_INVALID_ARGUMENT(kkt_certificate(this->p, this->good, T(1), T(-1)), "support_threshold");
}

TYPED_TEST(BadInput, Batched) {
  using T = TypeParam;
  RowMatrixX<T> z = RowMatrixX<T>::Zero(4, 3), pm(4, 3), wrong(3, 3), no_columns(4, 0);
  const RowMatrixX<T> uniform = RowMatrixX<T>::Constant(4, 3, T(1) / T(3));
  EXPECT_INVALID_ARGUMENT(softmax_rows(z, wrong), "p");
  EXPECT_INVALID_ARGUMENT(softmax_rows(z, pm, T(0)), "temperature");
  EXPECT_INVALID_ARGUMENT(softmax_rows(no_columns, no_columns), "z");
  EXPECT_INVALID_ARGUMENT(log_softmax_rows(z, wrong), "out");
  EXPECT_INVALID_ARGUMENT(sparsemax_rows(z, wrong), "p");
  EXPECT_INVALID_ARGUMENT(entmax_rows(z, pm, T(1)), "alpha");
  EXPECT_INVALID_ARGUMENT(entmax_rows(z, pm, T(2), EntmaxMethod::Exact15), "method");
  EXPECT_INVALID_ARGUMENT(softmax_vjp_rows(uniform, z, wrong), "out");
  EXPECT_INVALID_ARGUMENT(softmax_vjp_rows(uniform, wrong, pm), "v");
  EXPECT_INVALID_ARGUMENT(softmax_vjp_rows(z, z, pm), "p[0]");
  EXPECT_INVALID_ARGUMENT(sparsemax_vjp_rows(z, z, pm), "p[0]");
  z(2, 1) = this->nan;
  EXPECT_INVALID_ARGUMENT(sparsemax_vjp_rows(uniform, z, pm), "v[2]");
  EXPECT_INVALID_ARGUMENT(entmax_vjp_rows(uniform, uniform, T(0.5), pm), "alpha");
}

}  // namespace
}  // namespace probspace::simplex
