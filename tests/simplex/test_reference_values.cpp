// The reference values of spec probability.md §10, float and double.
#include "../support/testing.hpp"

#include <probspace/simplex/entmax.hpp>
#include <probspace/simplex/jacobian.hpp>
#include <probspace/simplex/losses.hpp>
#include <probspace/simplex/projection.hpp>
#include <probspace/simplex/softmax.hpp>
#include <probspace/simplex/sparsemax.hpp>

namespace probspace::simplex {
namespace {

using testing::tol;
using testing::vec;

template <class T> class ReferenceValues : public ::testing::Test {
protected:
  const VectorX<T> z = vec<T>({1.0, 0.5, 0.1, -0.3});
  const VectorX<T> z2 = vec<T>({2, 1, 0, -1});
  const VectorX<T> v = vec<T>({1, -1, 0.5, 2});
};
TYPED_TEST_SUITE(ReferenceValues, testing::Scalars);

template <class T> void expect_vec_near(const VectorX<T>& got, const VectorX<T>& want, T tolerance) {
  ASSERT_EQ(got.size(), want.size());
  for (Index i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], tolerance) << "index " << i;
}

TYPED_TEST(ReferenceValues, Softmax) {
  using T = TypeParam;
  expect_vec_near<T>(softmax(this->z), vec<T>({0.437515729035, 0.265366703766, 0.177880621085, 0.119236946114}),
                     tol<T>(1e-12));
  expect_vec_near<T>(softmax(this->z, T(0.5)),
                     vec<T>({0.622102593096, 0.2288587543, 0.102832866999, 0.0462057856057}), tol<T>(1e-12));
}

TYPED_TEST(ReferenceValues, Sparsemax) {
  using T = TypeParam;
  VectorX<T> p(4);
  const auto t = sparsemax(this->z, p);
  expect_vec_near<T>(p, vec<T>({0.75, 0.25, 0, 0}), tol<T>(1e-15));
  EXPECT_NEAR(t.tau, T(0.25), tol<T>(1e-15));
  EXPECT_EQ(t.support_size, 2);
  const auto t2 = sparsemax(this->z2, p);
  expect_vec_near<T>(p, vec<T>({1, 0, 0, 0}), tol<T>(1e-15));
  EXPECT_NEAR(t2.tau, T(1), tol<T>(1e-15));
}

TYPED_TEST(ReferenceValues, Entmax15) {
  using T = TypeParam;
  VectorX<T> p(4);
  const auto t = entmax(this->z, p, T(1.5));
  expect_vec_near<T>(p, vec<T>({0.601731749912, 0.276374898125, 0.106089416696, 0.0158039352663}), tol<T>(1e-12));
  EXPECT_NEAR(t.tau, T(-0.275713703573953), tol<T>(1e-14));
  EXPECT_EQ(t.support_size, 4);
  const auto t2 = entmax(this->z2, p, T(1.5));
  const double s7 = std::sqrt(7.0);
  expect_vec_near<T>(p, vec<T>({(4 + s7) / 8, (4 - s7) / 8, 0, 0}), tol<T>(1e-15));
  EXPECT_NEAR(t2.tau, T((3 - s7) / 4), tol<T>(1e-15));
  EXPECT_EQ(t2.support_size, 2);
}

TYPED_TEST(ReferenceValues, Entmax125) {
  using T = TypeParam;
  VectorX<T> p(4);
  const auto t = entmax(this->z, p, T(1.25));
  expect_vec_near<T>(p, vec<T>({0.510076596478, 0.268890063397, 0.147860101932, 0.0731732381933}), tol<T>(1e-12));
  EXPECT_NEAR(t.tau, T(-0.595101454916435), tol<T>(1e-14));
}

TYPED_TEST(ReferenceValues, Losses) {
  using T = TypeParam;
  EXPECT_NEAR(sparsemax_loss(this->z, 0), T(0.0625), tol<T>(1e-15));
  EXPECT_NEAR(sparsemax_loss(this->z, 1), T(0.5625), tol<T>(1e-15));
  EXPECT_NEAR(sparsemax_loss(this->z, 2), T(0.9625), tol<T>(1e-15));
  EXPECT_NEAR(softmax_loss(this->z, 0), T(0.8266426217513927), tol<T>(1e-14));
  EXPECT_NEAR(softmax_loss(this->z, 2), T(1.7266426217513926), tol<T>(1e-14));
  EXPECT_NEAR(entmax_loss(this->z, 0, T(1.5)), T(0.214310715256), tol<T>(1e-12));
  EXPECT_NEAR(entmax_loss(this->z, 2, T(1.5)), T(1.11431071526), tol<T>(1e-11));
  EXPECT_NEAR(tsallis_entropy(entmax(this->z, T(1.5)), T(1.5)), T(0.468523755192), tol<T>(1e-12));
  EXPECT_NEAR(entmax_loss(this->z2, 0, T(1.5)), T(0.0616558676062), tol<T>(1e-12));
  EXPECT_NEAR(entmax_loss(this->z2, 1, T(1.5)), T(1.06165586761), tol<T>(1e-11));
}

TYPED_TEST(ReferenceValues, VectorJacobianProducts) {
  using T = TypeParam;
  VectorX<T> out(4);
  sparsemax_vjp(sparsemax(this->z), this->v, out);
  expect_vec_near<T>(out, vec<T>({1, -1, 0, 0}), tol<T>(1e-15));
  entmax_vjp(entmax(this->z, T(1.5)), this->v, T(1.5), out);
  expect_vec_near<T>(out, vec<T>({0.481739326163, -0.724944886409, 0.0394202246123, 0.203785335634}), tol<T>(1e-12));
  softmax_vjp(softmax(this->z), this->v, out);
  expect_vec_near<T>(out, vec<T>({0.21894895912, -0.397934150914, 7.76932675422e-5, 0.178907498526}), tol<T>(1e-11));
}

TYPED_TEST(ReferenceValues, MarginGivesExactVertex) {
  using T = TypeParam;
  for (const double alpha : {1.25, 1.5, 2.0, 3.0}) {
    const auto zm = vec<T>({0, -1 / (alpha - 1)});
    const VectorX<T> p = entmax(zm, T(alpha));
    EXPECT_EQ(p[0], T(1)) << "alpha " << alpha;
    EXPECT_EQ(p[1], T(0)) << "alpha " << alpha;
    EXPECT_EQ(entmax_loss(zm, 0, T(alpha)), T(0)) << "alpha " << alpha;
  }
}

TYPED_TEST(ReferenceValues, ProjectionBoundaryCaseAndL1Ball) {
  using T = TypeParam;
  const auto y = vec<T>({0.5, 1.2, -0.1, 0.8});
  for (const auto method : {ProjectionMethod::Sort, ProjectionMethod::Condat, ProjectionMethod::Bisection,
                            ProjectionMethod::Auto}) {
    VectorX<T> p(4);
    const auto t = project_simplex(y, p, T(1), method);
    expect_vec_near<T>(p, vec<T>({0, 0.7, 0, 0.3}), tol<T>(1e-15));
    EXPECT_NEAR(t.tau, T(0.5), tol<T>(1e-15)) << to_string(method);
    // y₀ sits exactly at τ in exact arithmetic; in float, 1.2f + 0.8f rounds, so y₀ may join.
    if constexpr (std::is_same_v<T, double>) {
      EXPECT_EQ(t.support_size, 2) << to_string(method);
    }
    VectorX<T> x(4);
    const auto tl = project_l1_ball(vec<T>({0.9, -0.7, 0.2, -0.05}), x, T(1), method);
    expect_vec_near<T>(x, vec<T>({0.6, -0.4, 0, 0}), tol<T>(1e-15));
    EXPECT_NEAR(tl.tau, T(0.3), tol<T>(1e-15));
  }
}

}  // namespace
}  // namespace probspace::simplex
