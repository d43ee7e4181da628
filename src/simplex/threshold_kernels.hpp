#pragma once
// Row kernels for the simplex thresholds (spec §4.1). Private to src/: raw spans, scratch buffers
// owned by the caller, inputs already validated (no NaN/+inf, not all −inf, radius > 0), except
// where Condat runs, which checks them in its own pass.
#include <probspace/simplex/threshold.hpp>

#include <cstdint>
#include <vector>

namespace probspace::simplex::kernels {

/// τ is carried in double for float inputs too.
using ThresholdD = Threshold<double>;

template <Real T> ThresholdD threshold_sort(const T* y, Index n, double a, std::vector<double>& work);
/// Also checks y in its one pass: NaN, +inf or all −inf give support_size 0 (and a meaningless τ).
/// The pass reads y in pieces of kCondatPiece entries and skips most of them whole; `skipped`, if
/// given, gets bit p set for each piece p skipped, all of whose entries are ≤ τ.
constexpr Index kCondatPiece = 64;
template <Real T>
ThresholdD threshold_condat(const T* y, Index n, double a, std::vector<double>& work,
                            std::vector<std::uint64_t>* skipped = nullptr);
template <Real T> ThresholdD threshold_bisection(const T* y, Index n, double a, T max_y);
template <Real T>
ThresholdD threshold(const T* y, Index n, double a, T max_y, ProjectionMethod method,
                     std::vector<double>& work);

/// Whether `method` at size n runs Condat, which validates y itself and ignores max_y.
inline bool runs_condat(ProjectionMethod method, Index n) {
  return method == ProjectionMethod::Condat || (method == ProjectionMethod::Auto && n > 128);
}

/// Per-thread scratch, grown on first use and then reused (no allocation per call afterwards).
std::vector<double>& thread_scratch();

}  // namespace probspace::simplex::kernels
