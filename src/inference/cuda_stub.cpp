// The CUDA backend when probspace is built without CUDA (PROBSPACE_NO_CUDA): nothing is available,
// and every entry point reports why.
#include "cuda/backend.hpp"

#include <probspace/core/error.hpp>

namespace probspace::inference::cuda_backend {
namespace {
[[noreturn]] void missing() { throw DeviceError("probspace was built without CUDA (PROBSPACE_CUDA=OFF or no toolkit)"); }
}  // namespace

bool available() { return false; }
void* create_stream() { missing(); }
void destroy_stream(void*) noexcept {}
void synchronize(void*) { missing(); }
void* allocate(std::size_t) { missing(); }
void release(void*) noexcept {}
void copy_to_device(void*, const void*, std::size_t) { missing(); }
void copy_to_host(void*, const void*, std::size_t) { missing(); }
void copy_on_device(void*, void*, const void*, std::size_t) { missing(); }
void* create_report() { missing(); }
void destroy_report(void*) noexcept {}
void defer_report(void*, bool) { missing(); }
std::ptrdiff_t synchronize_report(void*, void*) { missing(); }
void* create_event() { missing(); }
void destroy_event(void*) noexcept {}
void record_event(void*, void*) { missing(); }
double elapsed_ms(void*, void*) { missing(); }
std::ptrdiff_t softmax_rows(void*, void*, InputType, const void*, std::ptrdiff_t, std::ptrdiff_t, std::ptrdiff_t,
                            float*, std::ptrdiff_t, bool) {
  missing();
}
std::ptrdiff_t entmax_rows(void*, void*, InputType, const void*, std::ptrdiff_t, std::ptrdiff_t, std::ptrdiff_t, float*,
                           std::ptrdiff_t, float, double) {
  missing();
}
std::ptrdiff_t rows_backward(void*, void*, Backward, float, const float*, std::ptrdiff_t, const float*, std::ptrdiff_t, float*,
                             std::ptrdiff_t, std::ptrdiff_t, std::ptrdiff_t) {
  missing();
}
void* nbce_create(std::ptrdiff_t, std::ptrdiff_t, std::ptrdiff_t) { missing(); }
void nbce_destroy(void*) noexcept {}
void nbce_reset(void*, void*) { missing(); }
std::ptrdiff_t nbce_step(void*, void*, void*, const NbceParams&, InputType, const void*, std::ptrdiff_t, float*,
                         std::ptrdiff_t, std::int32_t*, float*) {
  missing();
}
std::ptrdiff_t rope_apply(void*, void*, InputType, void*, std::ptrdiff_t, std::ptrdiff_t, int, int, int,
                          const std::int32_t*, const float*, const float*, std::ptrdiff_t, std::ptrdiff_t, bool) {
  missing();
}
std::ptrdiff_t attention_prefill(void*, void*, InputType, const AttentionShape&, std::ptrdiff_t, const void*, std::ptrdiff_t,
                                 const void*, std::ptrdiff_t, const void*, std::ptrdiff_t, void*, std::ptrdiff_t,
                                 const double*, const double*, const double*) {
  missing();
}
std::ptrdiff_t attention_append(void*, void*, InputType, const AttentionShape&, std::ptrdiff_t, const void*, std::ptrdiff_t,
                                const void*, std::ptrdiff_t, void*, void*, void*, const double*, const double*) {
  missing();
}
std::ptrdiff_t attention_decode(void*, void*, InputType, const AttentionShape&, std::ptrdiff_t, const void*, const void*,
                                const void*, const void*, void*, const double*, const double*, double) {
  missing();
}

}  // namespace probspace::inference::cuda_backend
