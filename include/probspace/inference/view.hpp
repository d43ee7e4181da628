#pragma once
// Strided row-major views over host or CUDA memory, so Eigen matrices, numpy arrays and PyTorch
// tensors (data_ptr(), stride(0)) can be passed without copies. A view does not own its memory.
// Eigen-free, so CUDA sources can use it; eigen_view.hpp makes views of Eigen matrices.
#include <cstddef>

namespace probspace::inference {

enum class Memory { Host, Cuda };

/// [rows, cols] with row r at data + r·stride (stride ≥ cols, in elements).
template <class T> struct RowsView {
  T* data = nullptr;
  std::ptrdiff_t rows = 0, cols = 0, stride = 0;
  Memory memory = Memory::Host;

  operator RowsView<const T>() const { return {data, rows, cols, stride, memory}; }
};

}  // namespace probspace::inference
