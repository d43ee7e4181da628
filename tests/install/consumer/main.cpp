// A consumer of the installed package: sparsemax of the spec's vector, checked.
#include <probspace/probspace.hpp>

#include <cmath>
#include <iostream>

int main() {
  const Eigen::VectorXd z = (Eigen::VectorXd(4) << 1.0, 0.5, 0.1, -0.3).finished();
  const Eigen::VectorXd p = probspace::simplex::sparsemax(z);
  const double error = std::abs(p[0] - 0.75) + std::abs(p[1] - 0.25) + std::abs(p[2]) + std::abs(p[3]);
  try {
    probspace::simplex::entmax(z, 0.5);
    return 1;  // must have thrown
  } catch (const probspace::InvalidArgument& e) {
    std::cout << "rejected as expected: " << e.what() << '\n';
  }
  std::cout << "sparsemax(z) = " << p.transpose() << "  error " << error << '\n';
  return error < 1e-15 ? 0 : 1;
}
