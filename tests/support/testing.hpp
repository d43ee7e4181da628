#pragma once
// Shared test helpers: typed-test scalar list, tolerances, random inputs, finite differences.
#include <probspace/core/error.hpp>
#include <probspace/core/types.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <random>
#include <string>

namespace probspace::testing {

using Scalars = ::testing::Types<float, double>;

/// A tolerance that scales with the type: `digits` significant digits for double, ~6 for float.
template <class T> constexpr T tol(double double_tol) {
  return std::is_same_v<T, double> ? T(double_tol) : T(std::max(double_tol, 2e-6));
}

template <class T> VectorX<T> vec(std::initializer_list<double> values) {
  VectorX<T> v(Index(values.size()));
  Index i = 0;
  for (double x : values) v[i++] = T(x);
  return v;
}

/// A random vector with entries of the given scale drawn from N(0, scale²).
template <class T> VectorX<T> normal_vector(std::mt19937_64& rng, Index n, double scale = 1.0) {
  std::normal_distribution<double> d(0.0, scale);
  VectorX<T> v(n);
  for (Index i = 0; i < n; ++i) v[i] = T(d(rng));
  return v;
}

/// Central finite-difference Jacobian-vector product of f at z along v, computed in double.
inline Eigen::VectorXd fd_jvp(const std::function<Eigen::VectorXd(const Eigen::VectorXd&)>& f,
                              const Eigen::VectorXd& z, const Eigen::VectorXd& v, double h = 1e-6) {
  return (f(z + h * v) - f(z - h * v)) / (2 * h);
}

/// Central finite-difference gradient of a scalar function, computed in double.
inline Eigen::VectorXd fd_gradient(const std::function<double(const Eigen::VectorXd&)>& f,
                                   const Eigen::VectorXd& z, double h = 1e-6) {
  Eigen::VectorXd g(z.size());
  for (Index i = 0; i < z.size(); ++i) {
    Eigen::VectorXd a = z, b = z;
    a[i] += h;
    b[i] -= h;
    g[i] = (f(a) - f(b)) / (2 * h);
  }
  return g;
}

/// Expects `statement` to throw probspace::InvalidArgument whose message names `argument`.
#define EXPECT_INVALID_ARGUMENT(statement, argument)                                          \
  do {                                                                                        \
    try {                                                                                     \
      statement;                                                                              \
      ADD_FAILURE() << "expected InvalidArgument naming '" << (argument) << "': " #statement; \
    } catch (const ::probspace::InvalidArgument& e) {                                         \
      EXPECT_NE(std::string(e.what()).find(std::string("'") + (argument) + "'"), std::string::npos) \
          << "message does not name '" << (argument) << "': " << e.what();                    \
    }                                                                                         \
  } while (0)

}  // namespace probspace::testing
