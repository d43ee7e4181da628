#pragma once
// Normal random matrices for the inference benchmarks, drawn once per process: Google Benchmark runs
// a benchmark function again for every repetition, and drawing the 10^8 normals of one CUDA case took
// seconds of host time each time.
#include <probspace/core/types.hpp>
#include <probspace/inference/bfloat16.hpp>

#include <cstdint>
#include <map>
#include <random>
#include <tuple>
#include <vector>

namespace probspace::bench {

/// rows × cols entries sigma·N(0, 1) from mt19937_64(seed), stored as T (float or bfloat16); the
/// same arguments return the same vector.
template <class T>
const std::vector<T>& normal_rows(Index rows, Index cols, float sigma, std::uint64_t seed) {
  static std::map<std::tuple<Index, Index, float, std::uint64_t>, std::vector<T>> drawn;
  auto [at, fresh] = drawn.try_emplace({rows, cols, sigma, seed});
  if (fresh) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> normal(0.0f, sigma);
    at->second.resize(static_cast<std::size_t>(rows * cols));
    for (T& x : at->second) x = inference::from_float<T>(normal(rng));
  }
  return at->second;
}

}  // namespace probspace::bench
