#pragma once
// The execution context (owns the CUDA stream on the CUDA backend) and RAII device buffers.
#include <probspace/inference/device.hpp>
#include <probspace/inference/view.hpp>

#include <cstddef>
#include <cstdint>

namespace probspace::inference {

class Context {
public:
  /// Resolves `device` (see resolve()); a CUDA context creates its own stream.
  explicit Context(Device device = Device::Auto);
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  /// Cpu or Cuda: the backend this context runs on.
  Device device() const { return device_; }
  /// The cudaStream_t of a CUDA context (nullptr on the CPU).
  void* stream() const { return stream_; }
  /// Waits for the work queued on this context. With deferred errors, throws the InvalidArgument a
  /// kernel queued since the last synchronize() reported (naming its first bad row).
  void synchronize() const;
  /// CUDA: whether kernel calls return at once (true) or wait to report bad input (false, the
  /// default). Deferred calls can be queued back to back; synchronize() reports. No effect on the CPU.
  void defer_errors(bool deferred);
  /// The kernels' error report (CUDA contexts; nullptr on the CPU): how a kernel returns the first
  /// bad row to the call that launched it. Internal to the backend.
  void* report() const { return report_; }

private:
  Device device_;
  void* stream_ = nullptr;
  void* report_ = nullptr;
};

/// A CUDA allocation of n elements of T (float, bfloat16 or std::int32_t), freed on destruction (plain
/// cudaMalloc).
template <class T> class DeviceBuffer {
public:
  explicit DeviceBuffer(std::ptrdiff_t n);
  ~DeviceBuffer();
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  T* data() const { return data_; }
  std::ptrdiff_t size() const { return size_; }
  /// Blocking: the bytes are on the device on return, so any context's stream may read them next.
  void copy_from_host(const T* host, std::ptrdiff_t n);
  void copy_to_host(T* host, std::ptrdiff_t n) const;
  /// A [rows, cols] view over this buffer (rows·cols ≤ size()).
  RowsView<T> rows(std::ptrdiff_t rows, std::ptrdiff_t cols) const;

private:
  T* data_ = nullptr;
  std::ptrdiff_t size_ = 0;
};

}  // namespace probspace::inference
