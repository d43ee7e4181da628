#pragma once
// Views of Eigen row-major matrices (host memory) for the inference kernels.
#include <probspace/core/types.hpp>
#include <probspace/inference/view.hpp>

namespace probspace::inference {

template <class T> RowsView<T> rows_view(RowMatrixX<T>& m) { return {m.data(), m.rows(), m.cols(), m.cols(), Memory::Host}; }
template <class T> RowsView<const T> rows_view(const RowMatrixX<T>& m) {
  return {m.data(), m.rows(), m.cols(), m.cols(), Memory::Host};
}

}  // namespace probspace::inference
