#pragma once
// Shared argument checks for vectors of logits and of probabilities.
#include <probspace/core/error.hpp>
#include <probspace/core/types.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

namespace probspace::detail {

/// Logits: non-empty, no NaN, no +inf, not all −inf (−inf means "masked"). Returns max x.
/// One pass in L1-sized blocks: a vectorised max, and a vectorised NaN/+inf flag (bitwise, no
/// short-circuit, so the compiler can vectorise it).
template <Real T>
T check_logits(const T* x, Index n, std::string_view function, std::string_view argument) {
  require(n > 0, function, argument, "must not be empty");
  constexpr T inf = std::numeric_limits<T>::infinity();
  constexpr Index kBlock = 2048;
  T max = -inf;
  int bad = 0;
  for (Index b = 0; b < n; b += kBlock) {
    const Index len = std::min(kBlock, n - b);
    const T* xb = x + b;
    for (Index i = 0; i < len; ++i) bad |= int(xb[i] != xb[i]) | int(xb[i] == inf);
    if (bad) break;
    max = std::max(max, Eigen::Map<const VectorX<T>>(xb, len).maxCoeff());
  }
  if (bad) {
    for (Index i = 0; i < n; ++i)
      require(!std::isnan(x[i]) && x[i] != inf, function, argument, "must hold no NaN or +inf, got ", x[i],
              " at index ", i);
  }
  require(max != -inf, function, argument, "is entirely -inf (every entry masked)");
  return max;
}

/// A probability vector: non-empty, finite, ≥ 0, |Σp − 1| ≤ √ε (sum accumulated in double).
template <Real T>
void check_distribution(const T* p, Index n, std::string_view function, std::string_view argument) {
  require(n > 0, function, argument, "must not be empty");
  // One pass: a bitwise flag and four independent double sums (no serial add chain); the bad entry
  // is located only when there is one.
  double sums[4] = {0, 0, 0, 0};
  int bad = 0;
  Index i = 0;
  for (; i + 4 <= n; i += 4)
    for (int k = 0; k < 4; ++k) {
      bad |= int(!(p[i + k] >= T(0) && p[i + k] <= std::numeric_limits<T>::max()));
      sums[k] += double(p[i + k]);
    }
  for (; i < n; ++i) {
    bad |= int(!(p[i] >= T(0) && p[i] <= std::numeric_limits<T>::max()));
    sums[0] += double(p[i]);
  }
  const double sum = (sums[0] + sums[1]) + (sums[2] + sums[3]);
  for (i = 0; bad && i < n; ++i)
    require(std::isfinite(p[i]) && p[i] >= T(0), function, argument,
            "must be finite and >= 0, got ", p[i], " at index ", i);
  const double tol = std::sqrt(double(std::numeric_limits<T>::epsilon()));
  require(std::abs(sum - 1.0) <= tol, function, argument, "must sum to 1 (within ", tol,
          "), sums to ", sum);
}

inline void check_same_size(Index a, Index b, std::string_view function, std::string_view argument) {
  require(a == b, function, argument, "has size ", b, ", expected ", a);
}

}  // namespace probspace::detail
