#pragma once
// Row kernels for the simplex thresholds (spec §4.1). Private to src/: raw spans, scratch buffers
// owned by the caller, inputs already validated (no NaN/+inf, not all −inf, radius > 0).
#include <probspace/simplex/threshold.hpp>

#include <vector>

namespace probspace::simplex::kernels {

/// τ is carried in double for float inputs too.
using ThresholdD = Threshold<double>;

template <Real T> ThresholdD threshold_sort(const T* y, Index n, double a, std::vector<double>& work);
template <Real T> ThresholdD threshold_condat(const T* y, Index n, double a, std::vector<double>& work);
template <Real T> ThresholdD threshold_bisection(const T* y, Index n, double a, T max_y);
template <Real T>
ThresholdD threshold(const T* y, Index n, double a, T max_y, ProjectionMethod method,
                     std::vector<double>& work);

/// Per-thread scratch, grown on first use and then reused (no allocation per call afterwards).
std::vector<double>& thread_scratch();

}  // namespace probspace::simplex::kernels
