// softmax(z/T) (spec §3 row 2).
#include "../core/softmax_kernels.hpp"

#include <probspace/core/checks.hpp>
#include <probspace/simplex/softmax.hpp>

#include <cmath>

namespace probspace::simplex::detail {

template <Real T> void softmax(const ConstVectorRef<T>& z, VectorRef<T> p, T temperature) {
  probspace::detail::check_same_size(z.size(), p.size(), "softmax", "p");
  const T max_z = probspace::detail::check_logits(z.data(), z.size(), "softmax", "z");
  probspace::detail::require_positive(temperature, "softmax", "temperature");
  probspace::kernels::softmax_row(z.data(), z.size(), p.data(), T(1) / temperature, max_z);
}

template void softmax<float>(const ConstVectorRef<float>&, VectorRef<float>, float);
template void softmax<double>(const ConstVectorRef<double>&, VectorRef<double>, double);

}  // namespace probspace::simplex::detail
