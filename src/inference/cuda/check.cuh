#pragma once
// Error checking and the report of the first bad row or token, shared by the CUDA kernels' hosts.
// A context's report is a device word the kernels atomicMin the index into, plus a word of mapped
// pinned host memory they set: after the stream synchronises, the host reads that word directly, so
// a call without an error costs no copy and no memset.
#include <probspace/core/error.hpp>

#include <cuda_runtime.h>

#include <cstddef>
#include <string>

namespace probspace::inference::cuda_backend {

/// Throws DeviceError with CUDA's message unless `status` is success.
inline void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) throw DeviceError(std::string("CUDA ") + what + ": " + cudaGetErrorString(status));
}

/// What create_report() allocates (the handle a Context holds).
struct ReportState {
  unsigned long long* word;  // device memory, all ones when no index is reported
  int* raised;               // mapped pinned host memory, also addressable from the device
  bool deferred;             // Context::defer_errors: calls return without waiting
};

/// The kernels' side of a report.
struct Report {
  unsigned long long* word;
  int* raised;
};

__device__ __forceinline__ void report_index(Report report, std::ptrdiff_t index) {
  atomicMin(report.word, static_cast<unsigned long long>(index));
  *static_cast<volatile int*>(report.raised) = 1;
}

/// Clears the raised flag before the kernels that may report (not while errors are deferred: the
/// flag then collects every call up to Context::synchronize()).
inline Report arm_report(void* handle) {
  auto* state = static_cast<ReportState*>(handle);
  if (!state->deferred) *static_cast<volatile int*>(state->raised) = 0;
  return {state->word, state->raised};
}

/// After the stream has synchronised: the reported index, or −1 for none (the report is reset).
inline std::ptrdiff_t take_report(void* handle) {
  auto* state = static_cast<ReportState*>(handle);
  if (*static_cast<volatile int*>(state->raised) == 0) return -1;
  unsigned long long first = 0;
  check(cudaMemcpy(&first, state->word, sizeof first, cudaMemcpyDeviceToHost), "cudaMemcpy");
  check(cudaMemset(state->word, 0xff, sizeof first), "cudaMemset");
  *static_cast<volatile int*>(state->raised) = 0;
  return std::ptrdiff_t(first);
}

/// Checks the launches, waits for the stream and returns the reported index, or −1 for none; with
/// deferred errors returns −1 at once (Context::synchronize() reports).
inline std::ptrdiff_t read_report(void* handle, cudaStream_t stream, const char* kernel) {
  check(cudaGetLastError(), kernel);
  if (static_cast<ReportState*>(handle)->deferred) return -1;
  check(cudaStreamSynchronize(stream), kernel);
  return take_report(handle);
}

}  // namespace probspace::inference::cuda_backend
