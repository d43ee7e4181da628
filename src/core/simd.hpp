#pragma once
// One 64-byte SIMD vector of T and its lane mask (GCC/Clang vector extensions; narrower targets split
// it into several registers), for the loops the compiler does not vectorise by itself (reductions
// with masks, early exits). Private to src/.
#include <probspace/core/types.hpp>

#include <cstdint>
#include <cstring>

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

/// Whether any lane of a mask (lanes −1 or 0) is set.
template <class M> bool any(M mask) {
  M folded = mask;
  constexpr int lanes = int(sizeof(M) / sizeof(folded[0]));
  decltype(folded[0] | 0) acc = 0;
  for (int i = 0; i < lanes; ++i) acc |= folded[i];
  return acc != 0;
}

}  // namespace probspace::simd
