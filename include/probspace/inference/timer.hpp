#pragma once
// Timing of work queued on a context: CUDA events on its stream (GPU time, as torch.cuda.Event
// measures it) or the wall clock on the CPU. For benchmarks: with Context::defer_errors(true) the
// span holds the kernels alone, not the host's wait for each call's error report.
#include <probspace/inference/context.hpp>

#include <chrono>

namespace probspace::inference {

class Timer {
public:
  explicit Timer(Context& context);
  ~Timer();
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  void start();
  /// Milliseconds from start() to the end of the work queued since (waits for it).
  double stop();

private:
  Context& context_;
  void* start_ = nullptr;
  void* stop_ = nullptr;
  std::chrono::steady_clock::time_point wall_;
};

}  // namespace probspace::inference
