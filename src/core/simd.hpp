#pragma once
// One 64-byte SIMD vector of T and its lane mask (GCC/Clang vector extensions; narrower targets split
// it into several registers), for the loops the compiler does not vectorise by itself (reductions
// with masks, early exits). Private to src/.
#include <probspace/core/types.hpp>

#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <immintrin.h>
#endif

namespace probspace::simd {

template <Real T> struct Simd;
template <> struct Simd<float> {
  typedef float V __attribute__((vector_size(64)));
  typedef std::int32_t M __attribute__((vector_size(64)));
};
template <> struct Simd<double> {
  typedef double V __attribute__((vector_size(64)));
  typedef std::int64_t M __attribute__((vector_size(64)));
};
/// Lanes per vector.
template <Real T> constexpr Index kWidth = Index(64 / sizeof(T));

/// kWidth<T> consecutive values from any address.
template <Real T> typename Simd<T>::V load(const T* x) {
  typename Simd<T>::V v;
  std::memcpy(&v, x, sizeof v);
  return v;
}

/// kWidth<double> consecutive values of T from any address, widened to double.
template <Real T> typename Simd<double>::V load_double(const T* x) {
  if constexpr (sizeof(T) == sizeof(double)) {
    return load(x);
  } else {
    typedef T Half __attribute__((vector_size(32)));
    Half h;
    std::memcpy(&h, x, sizeof h);
    return __builtin_convertvector(h, typename Simd<double>::V);
  }
}

/// Store v at a 64-byte aligned address with non-temporal (streaming) stores where the target has
/// them: the line is written without being read for ownership first. Follow with stream_fence().
template <Real T> void stream(T* aligned, typename Simd<T>::V v) {
#if defined(__AVX512F__)
  if constexpr (sizeof(T) == sizeof(double)) _mm512_stream_pd(aligned, __m512d(v));
  else _mm512_stream_ps(aligned, __m512(v));
#elif defined(__SSE2__)
  for (int k = 0; k < 4; ++k) {  // four SSE stores
    const char* part = reinterpret_cast<const char*>(&v) + 16 * k;
    if constexpr (sizeof(T) == sizeof(double)) {
      __m128d x;
      std::memcpy(&x, part, 16);
      _mm_stream_pd(aligned + 2 * k, x);
    } else {
      __m128 x;
      std::memcpy(&x, part, 16);
      _mm_stream_ps(aligned + 4 * k, x);
    }
  }
#else
  std::memcpy(aligned, &v, sizeof v);
#endif
}
/// Orders the streaming stores before any later store (they are weakly ordered).
inline void stream_fence() {
#if defined(__SSE2__)
  _mm_sfence();
#endif
}

/// Whether any lane of a mask (lanes −1 or 0) is set.
template <class M> bool any(M mask) {
  M folded = mask;
  constexpr int lanes = int(sizeof(M) / sizeof(folded[0]));
  decltype(folded[0] | 0) acc = 0;
  for (int i = 0; i < lanes; ++i) acc |= folded[i];
  return acc != 0;
}

}  // namespace probspace::simd
