// RoPE frequencies and scaling families (spec §1, §7).
#include <probspace/core/error.hpp>
#include <probspace/rope/frequencies.hpp>

#include <algorithm>
#include <cmath>
#include <numbers>

namespace probspace::rope {

namespace {

using probspace::detail::require;

void check_dim(Index dim, std::string_view fn, Index minimum = 2) {
  require(dim >= minimum && dim % 2 == 0, fn, "dim", "must be even and >= ", minimum, ", got ", dim);
}
void check_base(double base, std::string_view fn) {
  require(std::isfinite(base) && base > 1, fn, "base", "must be finite and > 1, got ", base);
}
void check_factor(double factor, std::string_view fn) {
  require(std::isfinite(factor) && factor >= 1, fn, "factor", "must be finite and >= 1, got ", factor);
}
void check_length(Index length, std::string_view fn, std::string_view arg) {
  require(length >= 1, fn, arg, "must be >= 1, got ", length);
}

/// θ_i·g(i) for every pair, after the shared checks.
template <class Scale>
Frequencies scaled(Index dim, double base, double factor, std::string_view fn, Scale&& g, double attention_factor = 1) {
  check_dim(dim, fn);
  check_base(base, fn);
  check_factor(factor, fn);
  Eigen::VectorXd inv_freq = default_inv_freq(dim, base);
  for (Index i = 0; i < inv_freq.size(); ++i) inv_freq[i] *= g(i);
  return {std::move(inv_freq), attention_factor};
}

}  // namespace

Index rotary_dim(Index head_dim, double partial_rotary_factor) {
  require(head_dim >= 2 && head_dim % 2 == 0, "rotary_dim", "head_dim", "must be even and >= 2, got ", head_dim);
  require(std::isfinite(partial_rotary_factor) && partial_rotary_factor > 0 && partial_rotary_factor <= 1,
          "rotary_dim", "partial_rotary_factor", "must be in (0, 1], got ", partial_rotary_factor);
  const auto dim = static_cast<Index>(static_cast<double>(head_dim) * partial_rotary_factor) / 2 * 2;
  require(dim >= 2, "rotary_dim", "partial_rotary_factor", "leaves fewer than 2 rotary channels of ", head_dim);
  return dim;
}

Eigen::VectorXd default_inv_freq(Index dim, double base) {
  check_dim(dim, "default_inv_freq");
  check_base(base, "default_inv_freq");
  Eigen::VectorXd inv_freq(dim / 2);
  for (Index i = 0; i < dim / 2; ++i)
    inv_freq[i] = std::pow(base, -2.0 * static_cast<double>(i) / static_cast<double>(dim));  // §1
  return inv_freq;
}

Frequencies default_frequencies(Index dim, double base) {
  return scaled(dim, base, 1.0, "default_frequencies", [](Index) { return 1.0; });
}

Frequencies linear_frequencies(Index dim, double base, double factor) {
  return scaled(dim, base, factor, "linear_frequencies", [factor](Index) { return 1.0 / factor; });
}

double ntk_aware_base(Index dim, double base, double factor) {
  check_dim(dim, "ntk_aware_base", 4);
  check_base(base, "ntk_aware_base");
  check_factor(factor, "ntk_aware_base");
  const double d = static_cast<double>(dim);
  return base * std::pow(factor, d / (d - 2));  // §7 NTK-aware
}

Frequencies ntk_aware_frequencies(Index dim, double base, double factor) {
  return {default_inv_freq(dim, ntk_aware_base(dim, base, factor)), 1.0};
}

Frequencies ntk_old_frequencies(Index dim, double base, double factor) {
  const double d = static_cast<double>(dim);
  return scaled(dim, base, factor, "ntk_old_frequencies",
                [=](Index i) { return std::pow(factor, -2.0 * static_cast<double>(i) / d); });
}

Frequencies ntk_fixed_frequencies(Index dim, double base, double factor) {
  const double d = static_cast<double>(dim);
  return scaled(dim, base, factor, "ntk_fixed_frequencies",
                [=](Index i) { return std::pow(factor, -2.0 * static_cast<double>(i + 1) / d); });
}

double ntk_mixed_a(Index dim, double factor, double b) {
  check_dim(dim, "ntk_mixed_a");
  check_factor(factor, "ntk_mixed_a");
  require(std::isfinite(b) && b >= 0, "ntk_mixed_a", "b", "must be finite and >= 0, got ", b);
  return std::log(factor) / std::pow(static_cast<double>(dim / 2), b);
}

Frequencies ntk_mixed_frequencies(Index dim, double base, double factor, double b) {
  check_base(base, "ntk_mixed_frequencies");
  const double a = ntk_mixed_a(dim, factor, b);
  return scaled(dim, base, factor, "ntk_mixed_frequencies",
                [=](Index i) { return std::exp(-a * std::pow(static_cast<double>(i + 1), b)); });
}

double dynamic_ntk_base(Index dim, double base, double factor, Index seq_len, Index max_position) {
  constexpr std::string_view fn = "dynamic_ntk_base";
  check_dim(dim, fn, 4);
  check_base(base, fn);
  check_factor(factor, fn);
  check_length(seq_len, fn, "seq_len");
  check_length(max_position, fn, "max_position");
  const double length = static_cast<double>(std::max(seq_len, max_position));
  const double d = static_cast<double>(dim);
  return base * std::pow(factor * length / static_cast<double>(max_position) - (factor - 1), d / (d - 2));
}

Frequencies dynamic_ntk_frequencies(Index dim, double base, double factor, Index seq_len, Index max_position) {
  return {default_inv_freq(dim, dynamic_ntk_base(dim, base, factor, seq_len, max_position)), 1.0};
}

double yarn_correction_dim(Index dim, double base, Index original_max_position, double num_rotations) {
  constexpr std::string_view fn = "yarn_correction_dim";
  check_dim(dim, fn);
  check_base(base, fn);
  check_length(original_max_position, fn, "original_max_position");
  require(std::isfinite(num_rotations) && num_rotations > 0, fn, "num_rotations", "must be finite and > 0, got ",
          num_rotations);
  return static_cast<double>(dim) *
         std::log(static_cast<double>(original_max_position) / (num_rotations * 2 * std::numbers::pi)) /
         (2 * std::log(base));
}

CorrectionRange yarn_correction_range(Index dim, double base, Index original_max_position, double beta_fast,
                                      double beta_slow, bool truncate) {
  require(std::isfinite(beta_fast) && std::isfinite(beta_slow) && beta_fast > beta_slow && beta_slow > 0,
          "yarn_correction_range", "beta_fast", "must be finite and > beta_slow > 0, got ", beta_fast, " and ",
          beta_slow);
  double low = yarn_correction_dim(dim, base, original_max_position, beta_fast);
  double high = yarn_correction_dim(dim, base, original_max_position, beta_slow);
  if (truncate) low = std::floor(low), high = std::ceil(high);
  const double top = static_cast<double>(dim - 1);
  return {std::clamp(low, 0.0, top), std::clamp(high, 0.0, top)};
}

double yarn_get_mscale(double factor, double mscale) {
  require(std::isfinite(factor) && factor > 0, "yarn_get_mscale", "factor", "must be finite and > 0, got ", factor);
  require(std::isfinite(mscale), "yarn_get_mscale", "mscale", "must be finite, got ", mscale);
  return factor <= 1 ? 1.0 : 0.1 * mscale * std::log(factor) + 1;
}

Frequencies yarn_frequencies(Index dim, double base, double factor, Index original_max_position,
                             const YarnOptions& options) {
  constexpr std::string_view fn = "yarn_frequencies";
  check_factor(factor, fn);
  const auto [low, high] =
      yarn_correction_range(dim, base, original_max_position, options.beta_fast, options.beta_slow, options.truncate);
  const double span = high == low ? 0.001 : high - low;
  double attention_factor = yarn_get_mscale(factor);
  if (options.mscale && options.mscale_all_dim)
    attention_factor = yarn_get_mscale(factor, *options.mscale) / yarn_get_mscale(factor, *options.mscale_all_dim);
  if (options.attention_factor) {
    require(std::isfinite(*options.attention_factor) && *options.attention_factor > 0, fn, "attention_factor",
            "must be finite and > 0, got ", *options.attention_factor);
    attention_factor = *options.attention_factor;
  }
  return scaled(
      dim, base, factor, fn,
      [=](Index i) {
        const double ramp = std::clamp((static_cast<double>(i) - low) / span, 0.0, 1.0);
        const double extrapolation = 1 - ramp;  // e_i
        return extrapolation + (1 - extrapolation) / factor;
      },
      attention_factor);
}

Frequencies llama3_frequencies(Index dim, double base, double factor, Index original_max_position,
                               double low_freq_factor, double high_freq_factor) {
  constexpr std::string_view fn = "llama3_frequencies";
  check_length(original_max_position, fn, "original_max_position");
  require(std::isfinite(low_freq_factor) && low_freq_factor > 0, fn, "low_freq_factor",
          "must be finite and > 0, got ", low_freq_factor);
  require(std::isfinite(high_freq_factor) && high_freq_factor > low_freq_factor, fn, "high_freq_factor",
          "must be finite and > low_freq_factor, got ", high_freq_factor);
  const double l_orig = static_cast<double>(original_max_position);
  const double low_wl = l_orig / low_freq_factor, high_wl = l_orig / high_freq_factor;
  const Eigen::VectorXd theta = default_inv_freq(dim, base);
  return scaled(dim, base, factor, fn, [&](Index i) {
    const double wl = 2 * std::numbers::pi / theta[i];
    if (wl < high_wl) return 1.0;
    if (wl > low_wl) return 1.0 / factor;
    const double sigma = (l_orig / wl - low_freq_factor) / (high_freq_factor - low_freq_factor);
    return (1 - sigma) / factor + sigma;
  });
}

Frequencies longrope_frequencies(Index dim, double base, double factor, Index original_max_position,
                                 const Eigen::VectorXd& short_factor, const Eigen::VectorXd& long_factor,
                                 Index seq_len, std::optional<double> attention_factor) {
  constexpr std::string_view fn = "longrope_frequencies";
  check_dim(dim, fn);
  check_length(original_max_position, fn, "original_max_position");
  check_length(seq_len, fn, "seq_len");
  for (const auto& [v, name] : {std::pair{&short_factor, "short_factor"}, std::pair{&long_factor, "long_factor"}}) {
    require(v->size() == dim / 2, fn, name, "has ", v->size(), " entries, expected dim/2 = ", dim / 2);
    require(v->allFinite() && (v->array() > 0).all(), fn, name, "must hold finite values > 0");
  }
  const Eigen::VectorXd& ext = seq_len > original_max_position ? long_factor : short_factor;
  double af = factor <= 1 ? 1.0 : std::sqrt(1 + std::log(factor) / std::log(static_cast<double>(original_max_position)));
  if (attention_factor) {
    require(std::isfinite(*attention_factor) && *attention_factor > 0, fn, "attention_factor",
            "must be finite and > 0, got ", *attention_factor);
    af = *attention_factor;
  }
  return scaled(dim, base, factor, fn, [&](Index i) { return 1.0 / ext[i]; }, af);
}

std::string_view to_string(RopeType type) {
  switch (type) {
    case RopeType::Default: return "default";
    case RopeType::Linear: return "linear";
    case RopeType::NtkAware: return "ntk";
    case RopeType::NtkOld: return "ntk-old";
    case RopeType::NtkFixed: return "ntk-fixed";
    case RopeType::NtkMixed: return "ntk-mixed";
    case RopeType::Dynamic: return "dynamic";
    case RopeType::Yarn: return "yarn";
    case RopeType::Llama3: return "llama3";
    case RopeType::LongRope: return "longrope";
  }
  return "unknown";
}

Frequencies frequencies(const RopeConfig& c, Index seq_len) {
  const Index dim = rotary_dim(c.head_dim, c.partial_rotary_factor);
  switch (c.type) {
    case RopeType::Default: return default_frequencies(dim, c.base);
    case RopeType::Linear: return linear_frequencies(dim, c.base, c.factor);
    case RopeType::NtkAware: return ntk_aware_frequencies(dim, c.base, c.factor);
    case RopeType::NtkOld: return ntk_old_frequencies(dim, c.base, c.factor);
    case RopeType::NtkFixed: return ntk_fixed_frequencies(dim, c.base, c.factor);
    case RopeType::NtkMixed: return ntk_mixed_frequencies(dim, c.base, c.factor, c.mixed_b);
    case RopeType::Dynamic:
      return dynamic_ntk_frequencies(dim, c.base, c.factor, std::max<Index>(seq_len, 1), c.original_max_position);
    case RopeType::Yarn: return yarn_frequencies(dim, c.base, c.factor, c.original_max_position, c.yarn);
    case RopeType::Llama3:
      return llama3_frequencies(dim, c.base, c.factor, c.original_max_position, c.low_freq_factor, c.high_freq_factor);
    case RopeType::LongRope: {
      check_length(c.original_max_position, "frequencies", "original_max_position");
      const double factor = c.factor > 1 || c.max_position == 0
                                ? c.factor
                                : static_cast<double>(c.max_position) / static_cast<double>(c.original_max_position);
      return longrope_frequencies(dim, c.base, factor, c.original_max_position, c.short_factor, c.long_factor,
                                  std::max<Index>(seq_len, 1), c.longrope_attention_factor);
    }
  }
  probspace::detail::throw_invalid("frequencies", "type", "is not a RopeType: ", static_cast<int>(c.type));
}

DynamicFrequencies::DynamicFrequencies(RopeConfig config)
    : config_(std::move(config)),
      original_(frequencies(config_, config_.original_max_position)),
      current_(original_),
      cached_max_(config_.original_max_position) {
  require(config_.original_max_position >= 1, "DynamicFrequencies", "original_max_position", "must be >= 1, got ",
          config_.original_max_position);
}

const Frequencies& DynamicFrequencies::update(Index max_position_id) {
  require(max_position_id >= 0, "DynamicFrequencies::update", "max_position_id", "must be >= 0, got ",
          max_position_id);
  const Index seq_len = max_position_id + 1;
  const Index l_orig = config_.original_max_position;
  if (config_.type == RopeType::LongRope) {  // switch long/short at L_orig
    current_ = seq_len > l_orig ? frequencies(config_, seq_len) : original_;
    return current_;
  }
  if (config_.type != RopeType::Dynamic) return current_;
  if (seq_len > cached_max_) {  // growth
    current_ = frequencies(config_, seq_len);
    cached_max_ = seq_len;
  }
  if (seq_len < l_orig && cached_max_ > l_orig) {  // reset
    current_ = original_;
    cached_max_ = l_orig;
  }
  return current_;
}

}  // namespace probspace::rope
