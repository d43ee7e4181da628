# Compiler settings for our own targets (never imposed on consumers).
add_library(probspace_options INTERFACE)
# C++ sources only: CUDA sources get their own flags (cmake/Cuda.cmake).
target_compile_options(probspace_options INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion>
  $<$<AND:$<COMPILE_LANGUAGE:CXX>,$<BOOL:${PROBSPACE_WERROR}>>:-Werror>
  # GCC 12 false positive inside its own AVX-512 intrinsics headers (reached through Eigen).
  $<$<COMPILE_LANGUAGE:CXX>:-Wno-maybe-uninitialized -Wno-uninitialized>)
if(PROBSPACE_NATIVE)
  target_compile_options(probspace_options INTERFACE $<$<COMPILE_LANGUAGE:CXX>:-march=native>)
endif()
if(PROBSPACE_SANITIZE)
  target_compile_options(probspace_options INTERFACE
    -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  target_link_options(probspace_options INTERFACE -fsanitize=address,undefined)
endif()
