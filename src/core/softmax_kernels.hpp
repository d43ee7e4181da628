#pragma once
// Vectorised softmax / log_softmax row kernels, shared by core, simplex and the batched API.
// Private to src/; the caller has validated z and computed max_z (check_logits).
#include <probspace/core/types.hpp>

namespace probspace::kernels {

/// p = softmax((z − max_z)·inv_temperature); returns LSE(z·inv_temperature).
template <Real T> double softmax_row(const T* z, Index n, T* p, T inv_temperature, T max_z);
/// out = z − LSE(z); out may alias z.
template <Real T> void log_softmax_row(const T* z, Index n, T* out, T max_z);

}  // namespace probspace::kernels
