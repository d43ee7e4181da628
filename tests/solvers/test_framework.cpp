// The solver framework: objective concepts and Summary::brief_report.
#include <probspace/solvers/objective.hpp>
#include <probspace/solvers/options.hpp>
#include <probspace/solvers/summary.hpp>

#include <gtest/gtest.h>

namespace probspace::solvers {
namespace {

/// F(p) = ½‖p − z‖² in both forms, counting calls.
struct Separate {
  VectorX<double> z;
  double value(const VectorX<double>& p) const { return 0.5 * (p - z).squaredNorm(); }
  void gradient(const VectorX<double>& p, VectorX<double>& g) const { g = p - z; }
};
struct Fused {
  VectorX<double> z;
  mutable int calls = 0;
  double value_and_gradient(const VectorX<double>& p, VectorX<double>& g) const {
    ++calls;
    g = p - z;
    return 0.5 * (p - z).squaredNorm();
  }
};
struct NotAnObjective {
  double value(const VectorX<double>&) const { return 0; }
};

static_assert(DifferentiableObjective<Separate>);
static_assert(DifferentiableObjective<Fused>);
static_assert(!DifferentiableObjective<NotAnObjective>);
static_assert(!LineSearchObjective<Separate>);

TEST(SolverFramework, ValueAndGradientDispatchesToEitherForm) {
  const VectorX<double> z = VectorX<double>::LinSpaced(4, 1.0, -0.3), p = VectorX<double>::Constant(4, 0.25);
  VectorX<double> g1(4), g2(4);
  const double v1 = value_and_gradient(Separate{z}, p, g1);
  Fused fused{z};
  const double v2 = value_and_gradient(fused, p, g2);
  EXPECT_EQ(v1, v2);
  EXPECT_EQ(g1, g2);
  EXPECT_EQ(fused.calls, 1);
  EXPECT_DOUBLE_EQ(v1, 0.5 * (p - z).squaredNorm());
}

TEST(SolverFramework, BriefReportNamesTerminationAndCertificates) {
  Summary s;
  s.termination = Termination::MaxIterations;
  s.iterations = 12;
  s.objective = 0.1125;
  s.kkt_residual = 3e-5;
  s.restarts.push_back({4, "objective is NaN", 0.5});
  const std::string r = s.brief_report();
  EXPECT_NE(r.find("MAX_ITERATIONS after 12 iterations"), std::string::npos) << r;
  EXPECT_NE(r.find("0.1125"), std::string::npos) << r;
  EXPECT_NE(r.find("3.000e-05"), std::string::npos) << r;
  EXPECT_NE(r.find("1 restarts"), std::string::npos) << r;
  EXPECT_FALSE(s.converged());
  s.termination = Termination::Converged;
  EXPECT_TRUE(s.converged());
}

}  // namespace
}  // namespace probspace::solvers
