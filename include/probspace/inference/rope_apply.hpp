#pragma once
// RoPE applied in place to [tokens, heads·head_dim] activations on either backend (issue 7), from
// a cos/sin table (rope::cos_sin_table: angles reduced in double, stored as float32): row ℓ is
// rotated by table row positions[ℓ], every head alike, channels ≥ rotary_dim unchanged.
#include <probspace/inference/bfloat16.hpp>
#include <probspace/inference/context.hpp>

#include <cstdint>

namespace probspace::inference {

/// Pair i is (2i, 2i+1) (Interleaved) or (i, i + rotary_dim/2) (Half), as rope::Layout.
enum class RopeLayout { Interleaved, Half };

/// cos, sin: [length, rotary_dim/2] float32 (same memory as the context); positions: x.rows entries
/// in [0, length) (same memory); head_dim even, ≥ rotary_dim, dividing x.cols. A position outside the
/// table throws InvalidArgument naming 'positions[ℓ]' (on CUDA, reported after the kernel).
template <class T>
void rope_apply(Context& context, RowsView<T> x, const std::int32_t* positions, RowsView<const float> cos,
                RowsView<const float> sin, std::ptrdiff_t head_dim, RopeLayout layout);

}  // namespace probspace::inference
