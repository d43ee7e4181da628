// Batched row maps equal the single-vector maps row by row; strided views, aliasing, errors per row.
#include "../support/testing.hpp"

#include <probspace/core/stable.hpp>
#include <probspace/simplex/batched.hpp>
#include <probspace/simplex/jacobian.hpp>
#include <probspace/simplex/softmax.hpp>
#include <probspace/simplex/sparsemax.hpp>

namespace probspace::simplex {
namespace {

template <class T> class Batched : public ::testing::Test {};
TYPED_TEST_SUITE(Batched, testing::Scalars);

/// Rows differ from the single-vector result only by SIMD alignment (the order of partial sums).
template <class T, class Row> void expect_row_near(const Row& row, const VectorX<T>& expected) {
  EXPECT_LE((row.transpose() - expected).cwiseAbs().maxCoeff(),
            testing::tol<T>(1e-15) * std::max(T(1), expected.cwiseAbs().maxCoeff()));
}

template <class T> RowMatrixX<T> random_rows(std::mt19937_64& rng, Index rows, Index cols) {
  RowMatrixX<T> m(rows, cols);
  for (Index r = 0; r < rows; ++r) m.row(r) = testing::normal_vector<T>(rng, cols, 2.0).transpose();
  return m;
}

TYPED_TEST(Batched, ForwardMapsMatchSingleVector) {
  using T = TypeParam;
  std::mt19937_64 rng(17);
  const RowMatrixX<T> z = random_rows<T>(rng, 37, 301);
  RowMatrixX<T> p(37, 301);
  softmax_rows(z, p, T(0.8));
  for (Index r = 0; r < 37; ++r) expect_row_near<T>(p.row(r), softmax(VectorX<T>(z.row(r).transpose()), T(0.8)));
  log_softmax_rows(z, p);
  for (Index r = 0; r < 37; ++r) expect_row_near<T>(p.row(r), log_softmax(VectorX<T>(z.row(r).transpose())));
  sparsemax_rows(z, p);
  for (Index r = 0; r < 37; ++r) expect_row_near<T>(p.row(r), sparsemax(VectorX<T>(z.row(r).transpose())));
  for (const T alpha : {T(1.5), T(1.3), T(2)}) {
    entmax_rows(z, p, alpha);
    for (Index r = 0; r < 37; ++r)
      expect_row_near<T>(p.row(r), entmax(VectorX<T>(z.row(r).transpose()), alpha));
  }
}

TYPED_TEST(Batched, VjpsMatchSingleVector) {
  using T = TypeParam;
  std::mt19937_64 rng(18);
  const RowMatrixX<T> z = random_rows<T>(rng, 9, 50), v = random_rows<T>(rng, 9, 50);
  RowMatrixX<T> p(9, 50), out(9, 50);
  VectorX<T> expected(50);
  softmax_rows(z, p);
  softmax_vjp_rows(p, v, out);
  for (Index r = 0; r < 9; ++r) {
    softmax_vjp(VectorX<T>(p.row(r).transpose()), VectorX<T>(v.row(r).transpose()), expected);
    expect_row_near<T>(out.row(r), expected);
  }
  sparsemax_rows(z, p);
  sparsemax_vjp_rows(p, v, out);
  for (Index r = 0; r < 9; ++r) {
    sparsemax_vjp(VectorX<T>(p.row(r).transpose()), VectorX<T>(v.row(r).transpose()), expected);
    expect_row_near<T>(out.row(r), expected);
  }
  entmax_rows(z, p, T(1.5));
  entmax_vjp_rows(p, v, T(1.5), out);
  for (Index r = 0; r < 9; ++r) {
    entmax_vjp(VectorX<T>(p.row(r).transpose()), VectorX<T>(v.row(r).transpose()), T(1.5), expected);
    expect_row_near<T>(out.row(r), expected);
  }
}

TYPED_TEST(Batched, StridedBlocksAndInPlace) {
  using T = TypeParam;
  std::mt19937_64 rng(19);
  RowMatrixX<T> big = random_rows<T>(rng, 20, 64);
  const RowMatrixX<T> original = big;
  // A block of columns [8, 40) of rows [2, 12): rows are contiguous, the outer stride is 64.
  sparsemax_rows(big.block(2, 8, 10, 32), big.block(2, 8, 10, 32));
  for (Index r = 0; r < 20; ++r) {
    if (r < 2 || r >= 12) {
      EXPECT_EQ(big.row(r), original.row(r));
      continue;
    }
    EXPECT_EQ(VectorX<T>(big.row(r).segment(8, 32).transpose()),
              sparsemax(VectorX<T>(original.row(r).segment(8, 32).transpose())));
    EXPECT_EQ(big.row(r).head(8), original.row(r).head(8));
    EXPECT_EQ(big.row(r).tail(24), original.row(r).tail(24));
  }
}

TYPED_TEST(Batched, BadRowIsNamed) {
  using T = TypeParam;
  std::mt19937_64 rng(20);
  RowMatrixX<T> z = random_rows<T>(rng, 16, 10), p(16, 10);
  z(5, 3) = std::numeric_limits<T>::quiet_NaN();
  z.row(11).setConstant(-std::numeric_limits<T>::infinity());
  EXPECT_INVALID_ARGUMENT(softmax_rows(z, p), "z[5]");
  EXPECT_INVALID_ARGUMENT(entmax_rows(z, p, T(1.5)), "z[5]");
  z(5, 3) = T(0);
  EXPECT_INVALID_ARGUMENT(sparsemax_rows(z, p), "z[11]");
}

}  // namespace
}  // namespace probspace::simplex
