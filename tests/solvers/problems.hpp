#pragma once
// Test objectives on Δ with known answers (spec probability.md §10).
#include <probspace/core/stable.hpp>
#include <probspace/solvers/objective.hpp>

#include <algorithm>
#include <cmath>
#include <vector>
#include <limits>
#include <random>

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

namespace probspace::solvers::testing {

/// An exact line search for any convex DifferentiableObjective: bisection on φ′(η) = d·∇F(p + ηd),
/// which is non-decreasing on [0, 1] (to full precision: 80 halvings).
template <class F> double bisect_line_search(const F& f, const VectorX<double>& p, const VectorX<double>& d) {
  VectorX<double> g(p.size());
  const auto slope = [&](double eta) {
    solvers::value_and_gradient(f, VectorX<double>(p + eta * d), g);
    return g.allFinite() ? d.dot(g) : (eta > 0 ? std::numeric_limits<double>::infinity() : -std::numeric_limits<double>::infinity());
  };
  if (slope(1) <= 0) return 1;
  double lo = 0, hi = 1;
  for (int k = 0; k < 80; ++k) {
    const double mid = 0.5 * (lo + hi);
    (slope(mid) <= 0 ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

/// F(p) = Σ ½ q_i p_i² + b_i p_i + κ p_i log p_i: separable, strictly convex (μ ≥ min q), interior
/// minimiser. Also a templated functor for Ceres's autodiff and a line search.
struct SeparableStrictlyConvex {
  VectorX<double> q, b;
  double kappa;
  template <class T> T operator()(const T* p) const {
    T sum(0);
    for (Index i = 0; i < q.size(); ++i) sum += 0.5 * q[i] * p[i] * p[i] + b[i] * p[i] + kappa * p[i] * log(p[i]);
    return sum;
  }
  double value_and_gradient(const VectorX<double>& p, VectorX<double>& g) const {
    g = q.cwiseProduct(p) + b + kappa * (p.array().log() + 1).matrix();
    return (*this)(p.data());
  }
  double line_search(const VectorX<double>& p, const VectorX<double>& d) const { return bisect_line_search(*this, p, d); }
};

/// F(p) = ½ pᵀQp + bᵀp as a templated functor (non-separable), for the Ceres solver.
struct QuadraticFunctor {
  Eigen::MatrixXd Q;
  VectorX<double> b;
  template <class T> T operator()(const T* p) const {
    T sum(0);
    for (Index i = 0; i < b.size(); ++i) {
      T row(0);
      for (Index j = 0; j < b.size(); ++j) row += Q(i, j) * p[j];
      sum += p[i] * (0.5 * row + b[i]);
    }
    return sum;
  }
};

/// A random strongly convex quadratic: Q = AᵀA/m + μI.
inline Quadratic random_quadratic(std::mt19937_64& rng, Index n, double mu, double b_scale) {
  std::normal_distribution<double> normal;
  Eigen::MatrixXd A(n, n);
  for (auto& a : A.reshaped()) a = normal(rng);
  VectorX<double> b(n);
  for (auto& v : b) v = b_scale * normal(rng);
  return {A.transpose() * A / double(n) + mu * Eigen::MatrixXd::Identity(n, n), b};
}

}  // namespace probspace::solvers::testing
