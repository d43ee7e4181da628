#pragma once
// Row-parallel loops with OpenMP, shared by every batched kernel. Private to src/.
#include <probspace/core/types.hpp>

#include <exception>
#include <string>
#include <string_view>

namespace probspace::kernels {

/// Runs row(r) for every row in parallel; the first exception (lowest row) is rethrown afterwards,
/// since exceptions must not leave an OpenMP region.
template <class RowFn> void parallel_rows(Index rows, RowFn&& row) {
  std::exception_ptr error;
  Index error_row = rows;
#pragma omp parallel for schedule(static)
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
