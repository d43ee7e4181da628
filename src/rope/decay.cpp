// Abel summation bound, decay indicator (spec §4) and log-n scaling (spec §8).
#include <probspace/core/error.hpp>
#include <probspace/rope/decay.hpp>
#include <probspace/rope/log_n.hpp>

#include <algorithm>
#include <cmath>
#include <complex>
#include <vector>

namespace probspace::rope {

using probspace::detail::require;

namespace {

/// |S_j| for j = 1..d/2, S_j = Σ_{i<j} e^{ιΔθ_i}.
std::vector<double> partial_sum_magnitudes(double delta, const Eigen::VectorXd& inv_freq, std::string_view fn) {
  require(std::isfinite(delta), fn, "delta", "must be finite, got ", delta);
  require(inv_freq.size() > 0 && inv_freq.allFinite(), fn, "inv_freq", "must be non-empty and finite");
  std::vector<double> magnitudes;
  std::complex<double> s = 0;
  for (Index i = 0; i < inv_freq.size(); ++i) {
    s += std::polar(1.0, delta * inv_freq[i]);
    magnitudes.push_back(std::abs(s));
  }
  return magnitudes;
}

}  // namespace

double decay_indicator(double delta, const Eigen::VectorXd& inv_freq) {
  const auto m = partial_sum_magnitudes(delta, inv_freq, "decay_indicator");
  double sum = 0;
  for (const double v : m) sum += v;
  return sum / static_cast<double>(m.size());
}

namespace detail {

AbelSummation abel_summation(const ConstVectorRef<double>& q, const ConstVectorRef<double>& k, double delta,
                             const RotaryEmbedding& rope) {
  constexpr std::string_view fn = "abel_summation";
  rope.validate(fn);
  const Index d = rope.rotary_dim(), h = d / 2;
  require(rope.head_size() == d, fn, "rope.head_dim", "must equal rotary_dim = ", d, " (no pass-through channels)");
  require(q.size() == d && q.allFinite(), fn, "q", "must hold ", d, " finite entries, has ", q.size());
  require(k.size() == d && k.allFinite(), fn, "k", "must hold ", d, " finite entries, has ", k.size());
  const auto pair = [&](const ConstVectorRef<double>& x, Index i) {
    return rope.layout == Layout::Half ? std::complex<double>(x[i], x[i + h])
                                       : std::complex<double>(x[2 * i], x[2 * i + 1]);
  };
  const auto s = partial_sum_magnitudes(delta, rope.inv_freq, fn);
  std::complex<double> sum = 0;
  double max_step = 0, sum_s = 0;
  for (Index i = 0; i < h; ++i) {
    const std::complex<double> hi = pair(q, i) * std::conj(pair(k, i));
    const std::complex<double> next = i + 1 < h ? pair(q, i + 1) * std::conj(pair(k, i + 1)) : 0.0;  // h_{d/2} = 0
    sum += hi * std::polar(1.0, delta * rope.inv_freq[i]);
    max_step = std::max(max_step, std::abs(next - hi));
    sum_s += s[static_cast<std::size_t>(i)];
  }
  return {sum.real(), std::abs(sum), max_step * sum_s};
}

}  // namespace detail

double log_n_scale(Index n, Index train_length) {
  require(n >= 1, "log_n_scale", "n", "must be >= 1, got ", n);
  require(train_length >= 2, "log_n_scale", "train_length", "must be >= 2, got ", train_length);
  return std::log(static_cast<double>(n)) / std::log(static_cast<double>(train_length));
}

double log_n_dagger(Index position, Index train_length) {
  require(position >= 0, "log_n_dagger", "position", "must be >= 0, got ", position);
  return std::max(1.0, log_n_scale(position + 1, train_length));
}

}  // namespace probspace::rope
