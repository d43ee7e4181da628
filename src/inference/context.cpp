// Device selection, the execution context and device buffers, over the CUDA backend's entry points
// (or their stubs without CUDA).
#include "cuda/backend.hpp"

#include <probspace/core/error.hpp>
#include <probspace/inference/bfloat16.hpp>
#include <probspace/inference/context.hpp>

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
  if (stream_) cuda_backend::synchronize(stream_);
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
