// sparsemax / entmax rows and every backward pass on the CPU backend, against the simplex module in
// double; bfloat16 inputs, strided views and bad input.
#include <probspace/inference/eigen_view.hpp>
#include <probspace/inference/rows.hpp>
#include <probspace/simplex/batched.hpp>

#include "../support/inference.hpp"

namespace probspace::inference {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

RowMatrixX<float> logits(Index rows, Index cols, std::uint64_t seed) {
  RowMatrixX<float> z = probspace::testing::normal_rows(rows, cols, seed, 2.0);
  z(1, 3) = -kInf;  // masked
  z.row(2).setConstant(0.5f);  // all tied
  return z;
}

/// The simplex module's map in double: α = 2 sparsemax, else entmax.
RowMatrixX<double> reference(const RowMatrixX<float>& z, double alpha) {
  RowMatrixX<double> p(z.rows(), z.cols());
  const RowMatrixX<double> zd = z.cast<double>();
  if (alpha == 2) simplex::sparsemax_rows(zd, p);
  else simplex::entmax_rows(zd, p, alpha);
  return p;
}

TEST(InferenceSimplexRows, SparsemaxAndEntmaxMatchTheSimplexModuleInDouble) {
  Context cpu(Device::Cpu);
  const RowMatrixX<float> z = logits(9, 777, 1);
  for (const float alpha : {2.0f, 1.5f, 1.25f, 3.0f}) {
    RowMatrixX<float> p(9, 777);
    if (alpha == 2.0f) sparsemax_rows<float>(cpu, rows_view(z), rows_view(p));
    else entmax_rows<float>(cpu, rows_view(z), rows_view(p), alpha);
    const RowMatrixX<double> want = reference(z, alpha);
    EXPECT_LT((p.cast<double>() - want).cwiseAbs().maxCoeff(), 2e-6) << alpha;
    for (Index r = 0; r < 9; ++r) EXPECT_NEAR(p.row(r).cast<double>().sum(), 1.0, 1e-5) << alpha;
    EXPECT_EQ(p(1, 3), 0.0f);
    EXPECT_NEAR(p(2, 0), 1.0f / 777, 1e-7) << "tied row: uniform";
  }
}

TEST(InferenceSimplexRows, Bfloat16AndStridedViewsGiveTheSameRows) {
  Context cpu(Device::Cpu);
  const RowMatrixX<float> z = logits(6, 300, 2);
  const std::vector<bfloat16> zb = probspace::testing::stored_as<bfloat16>(z);
  const RowMatrixX<float> widened = probspace::testing::widened(zb, z.rows(), z.cols());
  RowMatrixX<float> from_bf16(6, 300), from_f32(6, 300);
  entmax_rows<bfloat16>(cpu, {zb.data(), 6, 300, 300, Memory::Host}, rows_view(from_bf16), 1.5f);
  entmax_rows<float>(cpu, rows_view(std::as_const(widened)), rows_view(from_f32), 1.5f);
  EXPECT_EQ(from_bf16, from_f32);
  RowMatrixX<float> every_other(3, 300);
  sparsemax_rows<float>(cpu, {z.data(), 3, 300, 600, Memory::Host}, rows_view(every_other));
  RowMatrixX<float> all(6, 300);
  sparsemax_rows<float>(cpu, rows_view(z), rows_view(all));
  for (Index r = 0; r < 3; ++r) EXPECT_EQ(every_other.row(r), all.row(2 * r)) << r;
}

/// dz = Jᵀg against central differences of the forward map in double: ⟨dz, v⟩ = d/dε ⟨g, map(z + εv)⟩.
TEST(InferenceSimplexRows, BackwardPassesMatchFiniteDifferences) {
  Context cpu(Device::Cpu);
  std::mt19937_64 rng(3);
  const Index rows = 4, cols = 60;
  RowMatrixX<float> z(rows, cols), g(rows, cols), v(rows, cols);
  for (Index r = 0; r < rows; ++r) {
    z.row(r) = probspace::testing::normal_vector<float>(rng, cols, 1.0).transpose();
    g.row(r) = probspace::testing::normal_vector<float>(rng, cols, 1.0).transpose();
    v.row(r) = probspace::testing::normal_vector<float>(rng, cols, 1.0).transpose();
  }
  struct Case {
    const char* name;
    double alpha;  // 1: softmax, 0: log_softmax
  };
  for (const Case c : {Case{"softmax", 1}, Case{"log_softmax", 0}, Case{"sparsemax", 2}, Case{"entmax15", 1.5}, Case{"entmax1.7", 1.7}}) {
    const auto forward = [&](const RowMatrixX<double>& zd) {
      RowMatrixX<double> y(rows, cols);
      if (c.alpha == 1) simplex::softmax_rows(zd, y);
      else if (c.alpha == 0) simplex::log_softmax_rows(zd, y);
      else if (c.alpha == 2) simplex::sparsemax_rows(zd, y);
      else simplex::entmax_rows(zd, y, c.alpha);
      return y;
    };
    RowMatrixX<float> y(rows, cols), dz(rows, cols);
    const RowMatrixX<double> yd = forward(z.cast<double>());
    y = yd.cast<float>();
    if (c.alpha == 1) softmax_backward(cpu, rows_view(std::as_const(y)), rows_view(g), rows_view(dz));
    else if (c.alpha == 0) log_softmax_backward(cpu, rows_view(std::as_const(y)), rows_view(g), rows_view(dz));
    else entmax_backward(cpu, rows_view(std::as_const(y)), rows_view(g), rows_view(dz), float(c.alpha));
    const double eps = 1e-6;
    const RowMatrixX<double> up = forward(z.cast<double>() + eps * v.cast<double>());
    const RowMatrixX<double> down = forward(z.cast<double>() - eps * v.cast<double>());
    for (Index r = 0; r < rows; ++r) {
      const double fd = g.row(r).cast<double>().dot(up.row(r) - down.row(r)) / (2 * eps);
      const double got = dz.row(r).cast<double>().dot(v.row(r).cast<double>());
      EXPECT_NEAR(got, fd, 2e-4 * (1 + std::abs(fd))) << c.name << " row " << r;
    }
  }
}

TEST(InferenceSimplexRows, BadInputNamesTheArgument) {
  Context cpu(Device::Cpu);
  RowMatrixX<float> z = logits(4, 10, 4), p(4, 10), wrong(4, 9);
  EXPECT_INVALID_ARGUMENT(entmax_rows<float>(cpu, rows_view(std::as_const(z)), rows_view(p), 1.0f), "alpha");
  EXPECT_INVALID_ARGUMENT(entmax_rows<float>(cpu, rows_view(std::as_const(z)), rows_view(p), std::nanf("")), "alpha");
  EXPECT_INVALID_ARGUMENT(sparsemax_rows<float>(cpu, rows_view(std::as_const(z)), rows_view(wrong)), "out");
  z(3, 1) = std::nanf("");
  EXPECT_INVALID_ARGUMENT(sparsemax_rows<float>(cpu, rows_view(std::as_const(z)), rows_view(p)), "z[3]");
  RowMatrixX<float> q = RowMatrixX<float>::Constant(4, 10, 0.1f), g = RowMatrixX<float>::Zero(4, 10), dz(4, 10);
  EXPECT_INVALID_ARGUMENT(softmax_backward(cpu, rows_view(std::as_const(q)), rows_view(std::as_const(g)), rows_view(wrong)), "dz");
  g(0, 0) = kInf;
  EXPECT_INVALID_ARGUMENT(entmax_backward(cpu, rows_view(std::as_const(q)), rows_view(std::as_const(g)), rows_view(dz), 1.5f), "g[0]");
  g(0, 0) = 0;
  q(2, 2) = -0.1f;
  EXPECT_INVALID_ARGUMENT(entmax_backward(cpu, rows_view(std::as_const(q)), rows_view(std::as_const(g)), rows_view(dz), 2.0f), "p[2]");
  EXPECT_INVALID_ARGUMENT(entmax_backward(cpu, rows_view(std::as_const(q)), rows_view(std::as_const(g)), rows_view(dz), 0.5f), "alpha");
  RowMatrixX<float> log_p = RowMatrixX<float>::Constant(4, 10, std::log(0.1f));
  log_p(2, 2) = 0.5f;  // log-probabilities must be <= 0
  EXPECT_INVALID_ARGUMENT(log_softmax_backward(cpu, rows_view(std::as_const(log_p)), rows_view(std::as_const(g)), rows_view(dz)),
                          "log_p[2]");
}

}  // namespace
}  // namespace probspace::inference
