#pragma once
// Row kernels shared by the single-vector API and the batched API. Private to src/; inputs are
// validated by the caller (max_z from check_logits, parameters in range).
#include "../core/softmax_kernels.hpp"

#include <probspace/simplex/entmax.hpp>

#include <vector>

namespace probspace::simplex::kernels {

/// out = Π_{Δ_a}(y) = [y − τ]₊.
template <Real T>
Threshold<T> project_simplex_row(const T* y, Index n, T* out, double a, T max_y, ProjectionMethod method,
                                 std::vector<double>& work);
/// p = α-entmax(z).
template <Real T>
Threshold<T> entmax_row(const T* z, Index n, T* p, double alpha, EntmaxMethod method, T max_z,
                        std::vector<double>& work);

/// The Jacobian-vector products of spec §5 (the Jacobians are symmetric: JVP = VJP).
template <Real T> void softmax_jvp_row(const T* p, const T* v, Index n, T* out, T inv_temperature);
template <Real T> void sparsemax_jvp_row(const T* p, const T* v, Index n, T* out);
template <Real T> void entmax_jvp_row(const T* p, const T* v, Index n, T* out, double alpha);

}  // namespace probspace::simplex::kernels

namespace probspace::simplex::detail {
/// α must be finite and > 1; EntmaxMethod::Exact15 needs α = 1.5.
void check_entmax_alpha(double alpha, EntmaxMethod method, std::string_view function);
}
