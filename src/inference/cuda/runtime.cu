// CUDA runtime pieces of the backend: device query, streams, memory.
#include "backend.hpp"
#include "check.cuh"

#include <probspace/core/error.hpp>

#include <cuda_runtime.h>

#include <string>

namespace probspace::inference::cuda_backend {

bool available() {
  int count = 0;
  return cudaGetDeviceCount(&count) == cudaSuccess && count > 0;
}

void* create_stream() {
  cudaStream_t stream = nullptr;
  check(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreate");
  return stream;
}
void destroy_stream(void* stream) noexcept { cudaStreamDestroy(static_cast<cudaStream_t>(stream)); }
void synchronize(void* stream) { check(cudaStreamSynchronize(static_cast<cudaStream_t>(stream)), "cudaStreamSynchronize"); }

void* allocate(std::size_t bytes) {
  void* p = nullptr;
  check(cudaMalloc(&p, bytes), "cudaMalloc");
  return p;
}
void release(void* pointer) noexcept { cudaFree(pointer); }
void* create_report() {
  auto* state = new ReportState{nullptr, nullptr, false};
  try {
    state->word = static_cast<unsigned long long*>(allocate(sizeof(unsigned long long)));
    check(cudaMemset(state->word, 0xff, sizeof(unsigned long long)), "cudaMemset");
    check(cudaHostAlloc(&state->raised, sizeof(int), cudaHostAllocMapped), "cudaHostAlloc");
    *state->raised = 0;
  } catch (...) {
    destroy_report(state);
    throw;
  }
  return state;
}
void destroy_report(void* report) noexcept {
  auto* state = static_cast<ReportState*>(report);
  release(state->word);
  if (state->raised) cudaFreeHost(state->raised);
  delete state;
}
void defer_report(void* report, bool deferred) { static_cast<ReportState*>(report)->deferred = deferred; }
std::ptrdiff_t synchronize_report(void* report, void* stream) {
  synchronize(stream);
  return take_report(report);
}

void* create_event() {
  cudaEvent_t event = nullptr;
  check(cudaEventCreate(&event), "cudaEventCreate");
  return event;
}
void destroy_event(void* event) noexcept { cudaEventDestroy(static_cast<cudaEvent_t>(event)); }
void record_event(void* event, void* stream) {
  check(cudaEventRecord(static_cast<cudaEvent_t>(event), static_cast<cudaStream_t>(stream)), "cudaEventRecord");
}
double elapsed_ms(void* start, void* stop) {
  check(cudaEventSynchronize(static_cast<cudaEvent_t>(stop)), "cudaEventSynchronize");
  float ms = 0;
  check(cudaEventElapsedTime(&ms, static_cast<cudaEvent_t>(start), static_cast<cudaEvent_t>(stop)), "cudaEventElapsedTime");
  return double(ms);
}

/// From pageable host memory cudaMemcpy returns once the bytes are staged, before the DMA lands
/// ("API synchronization behavior"), and the contexts' streams are non-blocking: without the
/// synchronisation a kernel queued next on a context stream could read the old contents.
void copy_to_device(void* device, const void* host, std::size_t bytes) {
  check(cudaMemcpy(device, host, bytes, cudaMemcpyHostToDevice), "cudaMemcpy to device");
  check(cudaStreamSynchronize(nullptr), "cudaStreamSynchronize after the copy to device");
}
void copy_to_host(void* host, const void* device, std::size_t bytes) {
  check(cudaMemcpy(host, device, bytes, cudaMemcpyDeviceToHost), "cudaMemcpy to host");
}
void copy_on_device(void* stream, void* to, const void* from, std::size_t bytes) {
  check(cudaMemcpyAsync(to, from, bytes, cudaMemcpyDeviceToDevice, static_cast<cudaStream_t>(stream)),
        "cudaMemcpyAsync on device");
}

}  // namespace probspace::inference::cuda_backend
