#pragma once
// Row-parallel loops with OpenMP, shared by every batched kernel. Private to src/.
#include <probspace/core/types.hpp>

#include <exception>
#include <string>
#include <string_view>

namespace probspace::kernels {

/// Below this many elements in all rows together, threads cost more than they save.
inline constexpr Index kParallelElements = Index(1) << 15;

/// Runs row(r) for every row of a [rows, cols] batch, in parallel when the batch is large enough;
/// the first exception (lowest row) is rethrown afterwards, since exceptions must not leave an
/// OpenMP region.
template <class RowFn> void parallel_rows(Index rows, Index cols, RowFn&& row) {
  std::exception_ptr error;
  Index error_row = rows;
#pragma omp parallel for schedule(static) if (rows > 1 && rows * cols >= kParallelElements)
  for (Index r = 0; r < rows; ++r) {
    try {
      row(r);
    } catch (...) {
#pragma omp critical(probspace_parallel_rows)
      if (r < error_row) {
        error_row = r;
        error = std::current_exception();
      }
    }
  }
  if (error) std::rethrow_exception(error);
}

/// "row r of arg" for error messages: "z[5]".
inline std::string row_name(std::string_view arg, Index r) {
  return std::string(arg) + "[" + std::to_string(r) + "]";
}

}  // namespace probspace::kernels
