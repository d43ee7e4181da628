#pragma once
// Where the inference kernels run: the CPU backend (always), the CUDA backend (when compiled in and a
// GPU is present), or Auto (CUDA if available, else CPU; the choice is reported by Context::device()).
namespace probspace::inference {

enum class Device { Cpu, Cuda, Auto };
const char* to_string(Device device);

/// True when the CUDA backend is compiled in and at least one CUDA device is present.
bool cuda_available();

/// Auto → Cuda when available, else Cpu. Cuda when unavailable throws DeviceError.
Device resolve(Device device);

}  // namespace probspace::inference
