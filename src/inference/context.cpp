// Device selection, the execution context and device buffers, over the CUDA backend's entry points
// (or their stubs without CUDA).
#include "cuda/backend.hpp"

#include <probspace/core/error.hpp>
#include <probspace/inference/bfloat16.hpp>
#include <probspace/inference/context.hpp>
#include <probspace/inference/timer.hpp>

namespace probspace::inference {

const char* to_string(Device device) {
  switch (device) {
  case Device::Cpu: return "cpu";
  case Device::Cuda: return "cuda";
  case Device::Auto: return "auto";
  }
  return "unknown";
}

bool cuda_available() {
  static const bool available = cuda_backend::available();
  return available;
}

Device resolve(Device device) {
  if (device == Device::Auto) return cuda_available() ? Device::Cuda : Device::Cpu;
  if (device == Device::Cuda && !cuda_available())
    throw DeviceError("Device::Cuda requested, but no CUDA device is available (or CUDA is not compiled in)");
  return device;
}

Context::Context(Device device) : device_(resolve(device)) {
  if (device_ == Device::Cuda) {
    stream_ = cuda_backend::create_stream();
    report_ = cuda_backend::create_report();
  }
}
Context::~Context() {
  if (report_) cuda_backend::destroy_report(report_);
  if (stream_) cuda_backend::destroy_stream(stream_);
}
void Context::synchronize() const {
  if (!stream_) return;
  const std::ptrdiff_t bad = cuda_backend::synchronize_report(report_, stream_);
  detail::require(bad < 0, "Context::synchronize", "input", "of a kernel queued since the last synchronize() is invalid at row ",
                  bad, " (NaN, +inf, an all -inf row, or a position outside the table)");
}
void Context::defer_errors(bool deferred) {
  if (report_) cuda_backend::defer_report(report_, deferred);
}

template <class T> DeviceBuffer<T>::DeviceBuffer(std::ptrdiff_t n) : size_(n) {
  detail::require(n >= 0, "DeviceBuffer", "n", "must be >= 0, got ", n);
  if (n > 0) data_ = static_cast<T*>(cuda_backend::allocate(std::size_t(n) * sizeof(T)));
}
template <class T> DeviceBuffer<T>::~DeviceBuffer() {
  if (data_) cuda_backend::release(data_);
}
template <class T> void DeviceBuffer<T>::copy_from_host(const T* host, std::ptrdiff_t n) {
  detail::require(n >= 0 && n <= size_, "DeviceBuffer::copy_from_host", "n", "must be in [0, ", size_, "], got ", n);
  if (n > 0) cuda_backend::copy_to_device(data_, host, std::size_t(n) * sizeof(T));
}
template <class T> void DeviceBuffer<T>::copy_to_host(T* host, std::ptrdiff_t n) const {
  detail::require(n >= 0 && n <= size_, "DeviceBuffer::copy_to_host", "n", "must be in [0, ", size_, "], got ", n);
  if (n > 0) cuda_backend::copy_to_host(host, data_, std::size_t(n) * sizeof(T));
}
template <class T> RowsView<T> DeviceBuffer<T>::rows(std::ptrdiff_t rows, std::ptrdiff_t cols) const {
  detail::require(rows >= 0 && cols >= 0 && rows * cols <= size_, "DeviceBuffer::rows", "rows",
                  "[", rows, ", ", cols, "] does not fit in ", size_, " elements");
  return {data_, rows, cols, cols, Memory::Cuda};
}

template class DeviceBuffer<float>;
template class DeviceBuffer<bfloat16>;
template class DeviceBuffer<std::int32_t>;

}  // namespace probspace::inference

namespace probspace::inference {

Timer::Timer(Context& context) : context_(context) {
  if (context.device() == Device::Cuda) {
    start_ = cuda_backend::create_event();
    stop_ = cuda_backend::create_event();
  }
}
Timer::~Timer() {
  if (start_) cuda_backend::destroy_event(start_);
  if (stop_) cuda_backend::destroy_event(stop_);
}
void Timer::start() {
  if (start_) cuda_backend::record_event(start_, context_.stream());
  else wall_ = std::chrono::steady_clock::now();
}
double Timer::stop() {
  if (!stop_) return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - wall_).count();
  cuda_backend::record_event(stop_, context_.stream());
  const double ms = cuda_backend::elapsed_ms(start_, stop_);
  context_.synchronize();  // reports what the timed calls deferred
  return ms;
}

}  // namespace probspace::inference
