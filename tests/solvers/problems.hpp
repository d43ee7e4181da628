#pragma once
// Test objectives on Δ with known answers (spec probability.md §10).
#include <probspace/core/stable.hpp>
#include <probspace/solvers/objective.hpp>

#include <algorithm>
#include <cmath>
#include <vector>
#include <limits>

namespace probspace::solvers::testing {

/// F(p) = ½‖p − z‖² (L = 1), with the exact line search of a quadratic (spec §7.1).
struct HalfSquaredDistance {
  VectorX<double> z;
  double value_and_gradient(const VectorX<double>& p, VectorX<double>& g) const {
    g = p - z;
    return 0.5 * g.squaredNorm();
  }
  double line_search(const VectorX<double>& p, const VectorX<double>& d) const {
    return std::clamp(-(p - z).dot(d) / d.squaredNorm(), 0.0, 1.0);
  }
};

/// F(p) = ½ pᵀQp + bᵀp, Q symmetric positive (semi)definite, with its exact line search.
struct Quadratic {
  Eigen::MatrixXd Q;
  VectorX<double> b;
  double value(const VectorX<double>& p) const { return 0.5 * p.dot(Q * p) + b.dot(p); }
  void gradient(const VectorX<double>& p, VectorX<double>& g) const { g = Q * p + b; }
  double line_search(const VectorX<double>& p, const VectorX<double>& d) const {
    const double curvature = d.dot(Q * d);
    const double slope = d.dot(Q * p + b);
    return curvature > 0 ? std::clamp(-slope / curvature, 0.0, 1.0) : (slope < 0 ? 1.0 : 0.0);
  }
};

/// F(p) = ½‖p − z‖² + κ KL(p‖q): strictly convex, interior minimiser; ∇ = p − z + κ(log(p/q) + 1).
struct QuadraticPlusKl {
  VectorX<double> z, q;
  double kappa;
  double value_and_gradient(const VectorX<double>& p, VectorX<double>& g) const {
    const auto log_ratio = (p.array() / q.array()).log();
    g = (p - z).array() + kappa * (log_ratio + 1);
    return 0.5 * (p - z).squaredNorm() + kappa * (p.array() * log_ratio).sum();
  }
};

/// F(p) = Σ|p_i − z_i| with the subgradient sign(p − z): Lipschitz with L_∞ = 1; F* = 0 for z ∈ Δ.
struct L1Distance {
  VectorX<double> z;
  double value_and_gradient(const VectorX<double>& p, VectorX<double>& g) const {
    g = (p - z).array().sign().matrix();
    return (p - z).lpNorm<1>();
  }
};

inline VectorX<double> reference_z() { return (VectorX<double>(4) << 1.0, 0.5, 0.1, -0.3).finished(); }
inline VectorX<double> uniform(Index n) { return VectorX<double>::Constant(n, 1.0 / double(n)); }
inline VectorX<double> vec(std::initializer_list<double> values) {
  VectorX<double> v(Index(values.size()));
  Index i = 0;
  for (double x : values) v[i++] = x;
  return v;
}

}  // namespace probspace::solvers::testing

namespace probspace::solvers::testing {

/// Wraps an objective and keeps every point it is evaluated at (the iterates of a solver that
/// evaluates each accepted step once).
template <class F> struct Recording {
  explicit Recording(F objective) : f(std::move(objective)) {}
  F f;
  mutable std::vector<VectorX<double>> points;
  double value_and_gradient(const VectorX<double>& p, VectorX<double>& g) const {
    points.push_back(p);
    return solvers::value_and_gradient(f, p, g);
  }
};

}  // namespace probspace::solvers::testing
