# Optional CUDA backend (DESIGN.md): -DPROBSPACE_CUDA=AUTO|ON|OFF. With the toolkit, the sources under
# src/inference/cuda join probspace_core (sm_90a machine code: the wgmma prefill kernel needs the
# arch-specific features; plus compute_90 PTX; unless CMAKE_CUDA_ARCHITECTURES is set); without it
# PROBSPACE_NO_CUDA is defined and the CUDA entry points report that the backend is not compiled in.
set(PROBSPACE_CUDA AUTO CACHE STRING "Build the CUDA backend: AUTO, ON or OFF")
set_property(CACHE PROBSPACE_CUDA PROPERTY STRINGS AUTO ON OFF)
set(PROBSPACE_WITH_CUDA OFF)
if(NOT PROBSPACE_CUDA STREQUAL "OFF")
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
      set(CMAKE_CUDA_ARCHITECTURES 90a-real 90-virtual)
    endif()
    enable_language(CUDA)
    find_package(CUDAToolkit REQUIRED)
    set(PROBSPACE_WITH_CUDA ON)
  elseif(PROBSPACE_CUDA STREQUAL "ON")
    message(FATAL_ERROR "PROBSPACE_CUDA=ON but no CUDA compiler was found")
  endif()
endif()
message(STATUS "probspace: CUDA backend ${PROBSPACE_WITH_CUDA}")
