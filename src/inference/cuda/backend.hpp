#pragma once
// The CUDA backend's entry points, in plain types (no Eigen, which stays out of .cu files).
// Implemented in src/inference/cuda/*.cu when CUDA is compiled in, else by cuda_stub.cpp, whose
// functions report that the backend is missing. Failures throw probspace::DeviceError.
#include <cstddef>

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

}  // namespace probspace::inference::cuda_backend
