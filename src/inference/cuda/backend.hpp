#pragma once
// The CUDA backend's entry points, in plain types (no Eigen, which stays out of .cu files).
// Implemented in src/inference/cuda/*.cu when CUDA is compiled in, else by cuda_stub.cpp, whose
// functions report that the backend is missing. Failures throw probspace::DeviceError.
#include <cstddef>
#include <cstdint>

namespace probspace::inference::cuda_backend {

bool available();
void* create_stream();
void destroy_stream(void* stream) noexcept;
void synchronize(void* stream);
void* allocate(std::size_t bytes);
void release(void* pointer) noexcept;
void copy_to_device(void* device, const void* host, std::size_t bytes);
void copy_to_host(void* host, const void* device, std::size_t bytes);

enum class InputType { Float32, BFloat16 };

/// Row-wise softmax (log = false) or log_softmax of [rows, cols] logits into float32; returns the
/// first row holding NaN or +inf or only −inf, or −1 (the call waits for the stream to read that).
/// `flag` is one device word of the context's (8 bytes), used for that report.
std::ptrdiff_t softmax_rows(void* stream, void* flag, InputType type, const void* z, std::ptrdiff_t rows,
                            std::ptrdiff_t cols, std::ptrdiff_t z_stride, float* out, std::ptrdiff_t out_stride, bool log);

/// RoPE in place on [tokens, heads·head_dim] (float32 or bfloat16) from float32 cos/sin tables
/// [length, rotary_dim/2] (row stride table_stride); returns the first token whose position is
/// outside [0, length), or −1.
std::ptrdiff_t rope_apply(void* stream, void* flag, InputType type, void* x, std::ptrdiff_t tokens,
                          std::ptrdiff_t x_stride, int heads, int head_dim, int rotary_dim,
                          const std::int32_t* positions, const float* cos, const float* sin,
                          std::ptrdiff_t table_stride, std::ptrdiff_t length, bool interleaved);

}  // namespace probspace::inference::cuda_backend
