#pragma once
// The argument checks shared by the inference entry points: a view's shape, pointer and memory.
// Private to src/.
#include <probspace/core/error.hpp>
#include <probspace/inference/context.hpp>

#include <string_view>

namespace probspace::inference {

/// rows ≥ 0, cols ≥ 1, stride ≥ cols, data when rows > 0, and the context's memory (host on the CPU).
template <class T>
void check_view(const RowsView<T>& v, const Context& context, std::string_view fn, std::string_view name) {
  using probspace::detail::require;
  require(v.rows >= 0 && v.cols >= 1 && v.stride >= v.cols, fn, name,
          "must have rows >= 0, cols >= 1 and stride >= cols, got [", v.rows, ", ", v.cols, "] stride ", v.stride);
  require(v.rows == 0 || v.data != nullptr, fn, name, "has a null data pointer");
  const Memory expected = context.device() == Device::Cuda ? Memory::Cuda : Memory::Host;
  require(v.memory == expected, fn, name, "must be ", expected == Memory::Cuda ? "CUDA" : "host",
          " memory for a ", to_string(context.device()), " context");
}

}  // namespace probspace::inference
