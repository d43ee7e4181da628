#pragma once
// Eigen aliases. Vectors are contiguous columns; batches are row-major [rows, vocab] as LLM tensors are.
#include <Eigen/Core>
#include <concepts>
#include <type_traits>

namespace probspace {

using Index = Eigen::Index;

/// The scalar types every primitive is instantiated for.
template <class T>
concept Real = std::same_as<T, float> || std::same_as<T, double>;

template <class T> using VectorX = Eigen::Matrix<T, Eigen::Dynamic, 1>;
template <class T> using RowMatrixX = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// Input vector: any contiguous vector expression binds without a copy.
template <class T> using ConstVectorRef = Eigen::Ref<const VectorX<T>>;
/// Output vector: a writable contiguous vector (a VectorX, a column, a transposed row of a RowMatrixX).
template <class T> using VectorRef = Eigen::Ref<VectorX<T>>;
/// Input and output batches, row-major with contiguous rows (any outer stride).
template <class T>
using ConstRowMatrixRef = Eigen::Ref<const RowMatrixX<T>, 0, Eigen::OuterStride<>>;
template <class T> using RowMatrixRef = Eigen::Ref<RowMatrixX<T>, 0, Eigen::OuterStride<>>;

/// The scalar of an Eigen expression, for the deducing convenience overloads.
template <class Derived> using scalar_of = typename std::remove_cvref_t<Derived>::Scalar;

}  // namespace probspace
