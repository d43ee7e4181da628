# Compiler settings for our own targets (never imposed on consumers).
add_library(probspace_options INTERFACE)
# C++ sources only: CUDA sources get their own flags (cmake/Cuda.cmake).
target_compile_options(probspace_options INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion>
  $<$<AND:$<COMPILE_LANGUAGE:CXX>,$<BOOL:${PROBSPACE_WERROR}>>:-Werror>
  # GCC 12 false positive inside its own AVX-512 intrinsics headers (reached through Eigen).
  $<$<COMPILE_LANGUAGE:CXX>:-Wno-maybe-uninitialized -Wno-uninitialized>
  # Without AVX-512 (PROBSPACE_NATIVE off) GCC notes that 64-byte vectors (src/core/simd.hpp) pass
  # by value under a changed ABI; they never cross our own translation units.
  $<$<COMPILE_LANGUAGE:CXX>:-Wno-psabi>)
if(PROBSPACE_NATIVE)
  target_compile_options(probspace_options INTERFACE $<$<COMPILE_LANGUAGE:CXX>:-march=native>)
endif()
if(PROBSPACE_SANITIZE)
  target_compile_options(probspace_options INTERFACE
    -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  target_link_options(probspace_options INTERFACE -fsanitize=address,undefined)
endif()
