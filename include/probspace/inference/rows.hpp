#pragma once
// Row-wise maps over [rows, V] logits on either backend (issue 7): float32 or bfloat16 inputs,
// float32 outputs and accumulation. −inf entries are masked; NaN, +inf or an all −inf row throw
// InvalidArgument naming the row (on CUDA, checked by the kernel and reported after it).
#include <probspace/inference/bfloat16.hpp>
#include <probspace/inference/context.hpp>

namespace probspace::inference {

/// p_r = softmax(z_r).
template <class In> void softmax_rows(Context& context, RowsView<const In> z, RowsView<float> p);
/// out_r = z_r − LSE(z_r).
template <class In> void log_softmax_rows(Context& context, RowsView<const In> z, RowsView<float> out);

}  // namespace probspace::inference
