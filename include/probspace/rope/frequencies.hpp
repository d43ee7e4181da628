#pragma once
// RoPE pair frequencies and the context-scaling families (spec §1, §7). Every family returns
// inv_freq (θ'_i for the rotary_dim/2 rotated pairs) and attention_factor; frequencies are always
// double (angles are reduced in double, spec header), whatever the scalar type of the data.
#include <probspace/core/types.hpp>

#include <optional>
#include <string_view>

namespace probspace::rope {

/// A family's output: rotary_dim/2 pair frequencies and the multiplier of both cos and sin, hence of
/// both q and k: logits scale by attention_factor² (spec §7).
struct Frequencies {
  Eigen::VectorXd inv_freq;
  double attention_factor = 1;
};

/// Channels that rotate: head_dim · partial_rotary_factor, truncated to an even count ≥ 2 (spec §1).
Index rotary_dim(Index head_dim, double partial_rotary_factor = 1.0);

/// θ_i = base^(−2i/dim), i = 0..dim/2−1 (spec §1). dim even ≥ 2, base > 1.
Eigen::VectorXd default_inv_freq(Index dim, double base = 10000);

/// default: θ_i, attention_factor 1.
Frequencies default_frequencies(Index dim, double base = 10000);
/// linear (PI): θ_i / s.
Frequencies linear_frequencies(Index dim, double base, double factor);
/// NTK-aware base′ = base·s^{dim/(dim−2)}: the lowest frequency becomes exactly θ/s. dim ≥ 4.
double ntk_aware_base(Index dim, double base, double factor);
Frequencies ntk_aware_frequencies(Index dim, double base, double factor);
/// NTK-RoPE-old: θ_i·s^{−2i/dim} (base′ = base·s).
Frequencies ntk_old_frequencies(Index dim, double base, double factor);
/// NTK-RoPE-fixed: θ_i·s^{−2(i+1)/dim}.
Frequencies ntk_fixed_frequencies(Index dim, double base, double factor);
/// NTK-RoPE-mixed exponent scale a = ln s/(dim/2)^b.
double ntk_mixed_a(Index dim, double factor, double b);
/// NTK-RoPE-mixed: θ_i·exp(−a(i+1)^b), b ≥ 0 (b = 1 → fixed, b = 0 → PI).
Frequencies ntk_mixed_frequencies(Index dim, double base, double factor, double b);
/// Dynamic NTK base′ = base·(s·L/L_max − (s − 1))^{dim/(dim−2)}, L = max(seq_len, L_max).
double dynamic_ntk_base(Index dim, double base, double factor, Index seq_len, Index max_position);
Frequencies dynamic_ntk_frequencies(Index dim, double base, double factor, Index seq_len, Index max_position);

/// YaRN options (spec §7, "YaRN"); mscale and mscale_all_dim are used only when both are given, and an
/// explicit attention_factor overrides both.
struct YarnOptions {
  double beta_fast = 32;
  double beta_slow = 1;
  bool truncate = true;
  std::optional<double> mscale;
  std::optional<double> mscale_all_dim;
  std::optional<double> attention_factor;
};
/// corr_dim(N) = dim·ln(L_orig/(2πN)) / (2 ln base): the pair whose wavelength fits N times into L_orig.
double yarn_correction_dim(Index dim, double base, Index original_max_position, double num_rotations);
/// [low, high] = [floor corr_dim(beta_fast), ceil corr_dim(beta_slow)] (no rounding when truncate is
/// false), clamped to [0, dim − 1].
struct CorrectionRange {
  double low;
  double high;
};
CorrectionRange yarn_correction_range(Index dim, double base, Index original_max_position, double beta_fast = 32,
                                      double beta_slow = 1, bool truncate = true);
/// get_mscale(s, m) = 0.1·m·ln s + 1, and 1 for s ≤ 1.
double yarn_get_mscale(double factor, double mscale = 1);
/// inv_freq[i] = θ_i·e_i + (θ_i/s)(1 − e_i), e_i = 1 − ramp(i).
Frequencies yarn_frequencies(Index dim, double base, double factor, Index original_max_position,
                             const YarnOptions& options = {});

/// llama3 bands: wavelength < L_orig/high_freq_factor unchanged, > L_orig/low_freq_factor divided by s,
/// smoothed in between (boundaries inclusive in the middle band).
Frequencies llama3_frequencies(Index dim, double base, double factor, Index original_max_position,
                               double low_freq_factor = 1, double high_freq_factor = 4);

/// LongRoPE: θ_i / ext_i, ext = long_factor if seq_len > L_orig else short_factor (dim/2 entries each,
/// > 0); attention_factor sqrt(1 + ln s/ln L_orig) for s > 1 (else 1) unless given explicitly.
Frequencies longrope_frequencies(Index dim, double base, double factor, Index original_max_position,
                                 const Eigen::VectorXd& short_factor, const Eigen::VectorXd& long_factor,
                                 Index seq_len, std::optional<double> attention_factor = std::nullopt);

/// Hugging Face `rope_type` names (NTK-old/fixed/mixed are the kexue.fm variants, spec §7).
enum class RopeType { Default, Linear, NtkAware, NtkOld, NtkFixed, NtkMixed, Dynamic, Yarn, Llama3, LongRope };
std::string_view to_string(RopeType type);

/// One model's RoPE configuration (the fields a family does not use are ignored).
struct RopeConfig {
  RopeType type = RopeType::Default;
  Index head_dim = 128;
  double partial_rotary_factor = 1;
  double base = 10000;
  double factor = 1;                  ///< s
  Index original_max_position = 0;    ///< L_orig (dynamic: L_max); longrope default s = max_position/L_orig
  Index max_position = 0;             ///< longrope only
  double mixed_b = 0.625;             ///< NTK-mixed exponent b
  YarnOptions yarn = {};
  double low_freq_factor = 1;         ///< llama3
  double high_freq_factor = 4;        ///< llama3
  Eigen::VectorXd short_factor, long_factor;  ///< longrope
  std::optional<double> longrope_attention_factor;
};

/// The family of `config.type` at sequence length seq_len (used by Dynamic and LongRope), over
/// dim = rotary_dim(head_dim, partial_rotary_factor).
Frequencies frequencies(const RopeConfig& config, Index seq_len = 0);

/// The dynamic update rule (spec §7): seq_len = max position + 1; growth past the cached maximum
/// recomputes the frequencies; a length below L_orig after growth resets to the original ones.
/// Keys rotated under an earlier base are inconsistent with a new one; re-rotate raw keys.
class DynamicFrequencies {
public:
  explicit DynamicFrequencies(RopeConfig config);
  /// Applies the rule for a batch whose largest position is max_position_id; returns the frequencies to use.
  const Frequencies& update(Index max_position_id);
  const Frequencies& current() const { return current_; }
  Index cached_max_length() const { return cached_max_; }

private:
  RopeConfig config_;
  Frequencies original_, current_;
  Index cached_max_;
};

}  // namespace probspace::rope
