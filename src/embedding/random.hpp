#pragma once
// Private to src/embedding: counter-keyed random streams, so every table, projection and target
// is a function of (seed, indices) alone and parallel filling is independent of the thread count.
#include <probspace/core/types.hpp>

#include <cstdint>

namespace probspace::embedding::kernels {

/// SplitMix64 finaliser chained over the keys: a well-mixed 64-bit seed for each (seed, a, b, c).
std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t a, std::uint64_t b = 0, std::uint64_t c = 0);

/// xoshiro256++ (Blackman–Vigna), state filled by SplitMix64 from one 64-bit seed.
class Xoshiro256 {
public:
  explicit Xoshiro256(std::uint64_t seed);
  std::uint64_t next();
  /// Uniform on (0, 1] with 53 random bits.
  double uniform_open_closed() { return double((next() >> 11) + 1) * 0x1.0p-53; }
  /// Uniform on {0, …, k − 1} (k ≤ 2^31; the bias of floor(u·k) is below 2^-22).
  Index below(Index k) { return Index(double(next() >> 11) * 0x1.0p-53 * double(k)); }

private:
  std::uint64_t s_[4];
};

/// Fills the row-major rows × cols block with N(0, scale²) (polar method in double). Chunks of
/// kNormalChunkRows rows are keyed by (seed, chunk) and filled in parallel by `threads` threads.
template <Real T> void fill_normal(T* data, Index rows, Index cols, double scale, std::uint64_t seed, int threads);
inline constexpr Index kNormalChunkRows = 64;

}  // namespace probspace::embedding::kernels
