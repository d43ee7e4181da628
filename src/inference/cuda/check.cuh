#pragma once
// Error checking and the one-word report (first bad row or token) shared by the CUDA kernels' hosts.
#include <probspace/core/error.hpp>

#include <cuda_runtime.h>

#include <cstddef>
#include <string>

namespace probspace::inference::cuda_backend {

/// Throws DeviceError with CUDA's message unless `status` is success.
inline void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) throw DeviceError(std::string("CUDA ") + what + ": " + cudaGetErrorString(status));
}

/// The context's report word, set to "none" (all ones) before a kernel that may atomicMin into it.
inline unsigned long long* reset_report(void* word, cudaStream_t stream) {
  auto* report = static_cast<unsigned long long*>(word);
  check(cudaMemsetAsync(report, 0xff, sizeof *report, stream), "cudaMemsetAsync");
  return report;
}

/// Checks the launch, waits for the stream and returns the reported index, or −1 for none.
inline std::ptrdiff_t read_report(const unsigned long long* report, cudaStream_t stream, const char* kernel) {
  check(cudaGetLastError(), kernel);
  unsigned long long first = 0;
  check(cudaMemcpyAsync(&first, report, sizeof first, cudaMemcpyDeviceToHost, stream), "cudaMemcpyAsync");
  check(cudaStreamSynchronize(stream), kernel);
  return first == ~0ull ? -1 : std::ptrdiff_t(first);
}

}  // namespace probspace::inference::cuda_backend
