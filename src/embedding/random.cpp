// Counter-keyed random streams (see random.hpp).
#include "random.hpp"

#include <algorithm>
#include <cmath>

namespace probspace::embedding::kernels {
namespace {

std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

}  // namespace

std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t a, std::uint64_t b, std::uint64_t c) {
  std::uint64_t state = seed;
  for (const std::uint64_t key : {a, b, c}) {
    state = splitmix64(state) ^ key;
  }
  return splitmix64(state);
}

Xoshiro256::Xoshiro256(std::uint64_t seed) {
  for (auto& word : s_) word = splitmix64(seed);
}

std::uint64_t Xoshiro256::next() {
  const std::uint64_t result = rotl(s_[0] + s_[3], 23) + s_[0];
  const std::uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

template <Real T> void fill_normal(T* data, Index rows, Index cols, double scale, std::uint64_t seed, int threads) {
  const Index chunks = (rows + kNormalChunkRows - 1) / kNormalChunkRows;
#pragma omp parallel for schedule(static) num_threads(threads)
  for (Index chunk = 0; chunk < chunks; ++chunk) {
    Xoshiro256 rng(derive_seed(seed, std::uint64_t(chunk)));
    const Index begin = chunk * kNormalChunkRows * cols;
    const Index end = std::min(rows, (chunk + 1) * kNormalChunkRows) * cols;
    // Marsaglia's polar method: (a, b) uniform in the unit disc gives two independent N(0, 1).
    for (Index k = begin; k < end;) {
      const double a = 2 * rng.uniform_open_closed() - 1, b = 2 * rng.uniform_open_closed() - 1;
      const double s = a * a + b * b;
      if (s >= 1 || s == 0) continue;
      const double f = scale * std::sqrt(-2 * std::log(s) / s);
      data[k++] = T(a * f);
      if (k < end) data[k++] = T(b * f);
    }
  }
}

template void fill_normal<float>(float*, Index, Index, double, std::uint64_t, int);
template void fill_normal<double>(double*, Index, Index, double, std::uint64_t, int);

}  // namespace probspace::embedding::kernels
