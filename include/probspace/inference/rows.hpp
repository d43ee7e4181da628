#pragma once
// Row-wise maps onto the simplex over [rows, V] logits on either backend (issue 7), forward and
// backward: float32 or bfloat16 inputs, float32 outputs and accumulation. −inf entries are masked;
// NaN, +inf or an all −inf row throw InvalidArgument naming the row (on CUDA, checked by the kernel
// and reported after it); outputs may have been written when that happens. The maps and their
// Jacobians are those of the simplex module
// (spec probability.md §3, §5); simplex::*_rows in double is the reference the tests use.
#include <probspace/inference/bfloat16.hpp>
#include <probspace/inference/context.hpp>

namespace probspace::inference {

/// p_r = softmax(z_r).
template <class In> void softmax_rows(Context& context, RowsView<const In> z, RowsView<float> p);
/// out_r = z_r − LSE(z_r).
template <class In> void log_softmax_rows(Context& context, RowsView<const In> z, RowsView<float> out);
/// p_r = sparsemax(z_r) = [z_r − τ_r]₊ (exact threshold).
template <class In> void sparsemax_rows(Context& context, RowsView<const In> z, RowsView<float> p);
/// p_r = α-entmax(z_r) = [(α−1)z_r − τ_r]₊^{1/(α−1)}, α > 1. α = 2 and α = 1.5 have exact thresholds;
/// other α solve Σp = 1 by Newton in a bracket to |Σp − 1| ≤ kRowsEntmaxTolerance (in double on
/// CUDA; the CPU backend uses simplex::kEntmaxTolerance) and renormalise;
/// α − 1 ≤ simplex::kEntmaxSoftmaxCutoff gives softmax (the α → 1 limit).
template <class In> void entmax_rows(Context& context, RowsView<const In> z, RowsView<float> p, float alpha);
inline constexpr double kRowsEntmaxTolerance = 1e-10;

/// Backward passes (vector–Jacobian products; the Jacobians are symmetric, so also the JVPs), from
/// the forward output and the upstream gradient g, into dz. p must be a distribution per row
/// (entries ≥ 0; the CPU backend also checks Σp = 1) and g finite.
/// softmax: dz = p ⊙ (g − ⟨p, g⟩).
void softmax_backward(Context& context, RowsView<const float> p, RowsView<const float> g, RowsView<float> dz);
/// log_softmax, from its output: dz = g − softmax(z)·Σg.
void log_softmax_backward(Context& context, RowsView<const float> log_p, RowsView<const float> g, RowsView<float> dz);
/// α-entmax (α = 2: sparsemax): with s = p^{2−α} on the support, dz = s ⊙ g − (⟨s, g⟩/Σs)·s.
void entmax_backward(Context& context, RowsView<const float> p, RowsView<const float> g, RowsView<float> dz, float alpha);

}  // namespace probspace::inference
