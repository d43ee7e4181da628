// Every public rope entry point rejects bad input with InvalidArgument naming the argument.
#include "../support/testing.hpp"

#include <probspace/rope/attention.hpp>
#include <probspace/rope/decay.hpp>
#include <probspace/rope/layout.hpp>
#include <probspace/rope/log_n.hpp>

#include <limits>

namespace probspace::rope {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

TEST(RopeBadInput, Frequencies) {
  EXPECT_INVALID_ARGUMENT(default_inv_freq(7, 1e4), "dim");
  EXPECT_INVALID_ARGUMENT(default_inv_freq(0, 1e4), "dim");
  EXPECT_INVALID_ARGUMENT(default_inv_freq(8, 1.0), "base");
  EXPECT_INVALID_ARGUMENT(default_inv_freq(8, kNaN), "base");
  EXPECT_INVALID_ARGUMENT(rotary_dim(127), "head_dim");
  EXPECT_INVALID_ARGUMENT(rotary_dim(128, 0), "partial_rotary_factor");
  EXPECT_INVALID_ARGUMENT(rotary_dim(128, 1.5), "partial_rotary_factor");
  EXPECT_INVALID_ARGUMENT(rotary_dim(4, 0.3), "partial_rotary_factor");
  EXPECT_INVALID_ARGUMENT(linear_frequencies(8, 1e4, 0.5), "factor");
  EXPECT_INVALID_ARGUMENT(linear_frequencies(8, 1e4, kNaN), "factor");
  EXPECT_INVALID_ARGUMENT(ntk_aware_base(2, 1e4, 2), "dim");
  EXPECT_INVALID_ARGUMENT(ntk_aware_frequencies(8, 1e4, -2), "factor");
  EXPECT_INVALID_ARGUMENT(ntk_old_frequencies(9, 1e4, 2), "dim");
  EXPECT_INVALID_ARGUMENT(ntk_fixed_frequencies(8, 0.5, 2), "base");
  EXPECT_INVALID_ARGUMENT(ntk_mixed_frequencies(8, 1e4, 2, -0.5), "b");
  EXPECT_INVALID_ARGUMENT(ntk_mixed_a(8, 0.9, 0.5), "factor");
  EXPECT_INVALID_ARGUMENT(dynamic_ntk_base(8, 1e4, 2, 0, 4096), "seq_len");
  EXPECT_INVALID_ARGUMENT(dynamic_ntk_frequencies(8, 1e4, 2, 10, 0), "max_position");
  EXPECT_INVALID_ARGUMENT(yarn_correction_dim(8, 1e4, 0, 32), "original_max_position");
  EXPECT_INVALID_ARGUMENT(yarn_correction_dim(8, 1e4, 4096, 0), "num_rotations");
  EXPECT_INVALID_ARGUMENT(yarn_correction_range(8, 1e4, 4096, 1, 32), "beta_fast");
  EXPECT_INVALID_ARGUMENT(yarn_get_mscale(-1), "factor");
  EXPECT_INVALID_ARGUMENT(yarn_get_mscale(2, kNaN), "mscale");
  EXPECT_INVALID_ARGUMENT(yarn_frequencies(8, 1e4, 0.5, 4096), "factor");
  YarnOptions bad;
  bad.attention_factor = -1;
  EXPECT_INVALID_ARGUMENT(yarn_frequencies(8, 1e4, 2, 4096, bad), "attention_factor");
  EXPECT_INVALID_ARGUMENT(llama3_frequencies(8, 5e5, 8, 8192, 4, 1), "high_freq_factor");
  EXPECT_INVALID_ARGUMENT(llama3_frequencies(8, 5e5, 8, 8192, 0, 4), "low_freq_factor");
  EXPECT_INVALID_ARGUMENT(llama3_frequencies(8, 5e5, 8, 0), "original_max_position");
  const Eigen::VectorXd ones = Eigen::VectorXd::Ones(4);
  EXPECT_INVALID_ARGUMENT(longrope_frequencies(8, 1e4, 4, 4096, Eigen::VectorXd::Ones(3), ones, 10), "short_factor");
  EXPECT_INVALID_ARGUMENT(longrope_frequencies(8, 1e4, 4, 4096, ones, -ones, 10), "long_factor");
  EXPECT_INVALID_ARGUMENT(longrope_frequencies(8, 1e4, 4, 4096, ones, ones, 0), "seq_len");
  EXPECT_INVALID_ARGUMENT(longrope_frequencies(8, 1e4, 4, 4096, ones, ones, 10, 0.0), "attention_factor");
  RopeConfig c;
  c.type = RopeType::Yarn;
  EXPECT_INVALID_ARGUMENT(frequencies(c), "original_max_position");
  c.type = static_cast<RopeType>(99);
  EXPECT_INVALID_ARGUMENT(frequencies(c), "type");
  c.type = RopeType::Default;
  EXPECT_INVALID_ARGUMENT(DynamicFrequencies{c}, "original_max_position");
  c.original_max_position = 16;
  DynamicFrequencies dyn(c);
  EXPECT_INVALID_ARGUMENT(dyn.update(-1), "max_position_id");
}

TEST(RopeBadInput, RotationAndLayout) {
  const RotaryEmbedding rope(default_inv_freq(8, 1e4), Layout::Half);
  RowMatrixX<double> x = RowMatrixX<double>::Ones(3, 8);
  EXPECT_INVALID_ARGUMENT(rotate(x, Eigen::VectorXd::Zero(2), rope), "positions");
  EXPECT_INVALID_ARGUMENT(rotated(x, 1.0, rope), "x");
  EXPECT_INVALID_ARGUMENT(rotate(x, Eigen::Vector3d(0, kNaN, 1), rope), "positions");
  RowMatrixX<double> odd = RowMatrixX<double>::Ones(3, 12);
  EXPECT_INVALID_ARGUMENT(rotate(odd, Eigen::VectorXd::Zero(3), rope), "x");
  RotaryEmbedding bad = rope;
  bad.head_dim = 6;
  EXPECT_INVALID_ARGUMENT(rotate(x, Eigen::VectorXd::Zero(3), bad), "rope.head_dim");
  bad = rope;
  bad.head_dim = 9;
  EXPECT_INVALID_ARGUMENT(rotation_matrix(1, bad), "rope.head_dim");
  bad = rope;
  bad.inv_freq[1] = kNaN;
  EXPECT_INVALID_ARGUMENT(rotate(x, Eigen::VectorXd::Zero(3), bad), "rope.inv_freq");
  bad = rope;
  bad.inv_freq.resize(0);
  EXPECT_INVALID_ARGUMENT(cos_sin_table<float>(bad, 4), "rope.inv_freq");
  bad = rope;
  bad.attention_factor = 0;
  EXPECT_INVALID_ARGUMENT(rotate(x, Eigen::VectorXd::Zero(3), bad), "rope.attention_factor");
  EXPECT_INVALID_ARGUMENT(cos_sin_table<double>(rope, 0), "length");
  EXPECT_INVALID_ARGUMENT(cos_sin_table<double>(rope, 4, 0), "position_scale");
  const auto table = cos_sin_table<double>(rope, 4);
  EXPECT_INVALID_ARGUMENT(rotate(x, table, 2, rope), "first_row");  // rows 2..4 of a 4-row table
  EXPECT_INVALID_ARGUMENT(rotate(x, table, -1, rope), "first_row");
  const auto narrow = cos_sin_table<double>(RotaryEmbedding(default_inv_freq(4, 1e4), Layout::Half, 8), 4);
  EXPECT_INVALID_ARGUMENT(rotate(x, narrow, 0, rope), "table");
  EXPECT_INVALID_ARGUMENT(half_from_interleaved(7, 4), "head_dim");
  EXPECT_INVALID_ARGUMENT(half_from_interleaved(8, 10), "rotary_dim");
  EXPECT_INVALID_ARGUMENT(half_from_interleaved(8, 3), "rotary_dim");
  EXPECT_INVALID_ARGUMENT(convert_layout(odd, Layout::Half, Layout::Interleaved, 8, 8), "x");
}

TEST(RopeBadInput, Schemes) {
  EXPECT_INVALID_ARGUMENT(PositionScheme::rerope(0), "scheme.window");
  EXPECT_INVALID_ARGUMENT(PositionScheme::leaky(0, 2), "scheme.window");
  EXPECT_INVALID_ARGUMENT(PositionScheme::leaky(4, 1), "scheme.k");    // k = 1 is plain RoPE, not Leaky
  EXPECT_INVALID_ARGUMENT(PositionScheme::leaky(4, 0.5), "scheme.k");  // k < 1 is the inverse scheme
  EXPECT_INVALID_ARGUMENT(PositionScheme::leaky(4, kNaN), "scheme.k");
  EXPECT_INVALID_ARGUMENT(PositionScheme::inverse_leaky(4, 0), "scheme.k");
  EXPECT_INVALID_ARGUMENT(PositionScheme::inverse_leaky(4, -0.5), "scheme.k");
  EXPECT_INVALID_ARGUMENT(PositionScheme::inverse_leaky(4, 1), "scheme.k");
  EXPECT_INVALID_ARGUMENT(PositionScheme::linear(0), "scheme.k");
  EXPECT_INVALID_ARGUMENT(PositionScheme::linear(-2), "scheme.k");
  const PositionScheme hand_built{SchemeKind::Leaky, 4, 1.0};
  EXPECT_INVALID_ARGUMENT(hand_built.relative_matrix(4), "scheme.k");
  EXPECT_INVALID_ARGUMENT(hand_built.exponent(3, 1), "scheme.k");
  const PositionScheme bad_kind{static_cast<SchemeKind>(42), 4, 2.0};
  EXPECT_INVALID_ARGUMENT(bad_kind.validate("f"), "scheme.kind");
  const auto re = PositionScheme::rerope(4);
  EXPECT_INVALID_ARGUMENT(re.relative_position(-1), "r");
  EXPECT_INVALID_ARGUMENT(re.relative_position(kNaN), "r");
  EXPECT_INVALID_ARGUMENT(re.relative_matrix(0), "length");
  EXPECT_INVALID_ARGUMENT(re.max_position(0), "length");
  EXPECT_INVALID_ARGUMENT(re.exponent(2, 3), "j");
  EXPECT_INVALID_ARGUMENT(re.table_length(0), "length");
  EXPECT_INVALID_ARGUMENT(PositionScheme::rope().pass2_query_position(3), "scheme");
  EXPECT_INVALID_ARGUMENT(PositionScheme::linear(2).pass2_key_position(3), "scheme");
  EXPECT_INVALID_ARGUMENT(inverse_leaky_for_extension(2, 8), "train_length");
  EXPECT_INVALID_ARGUMENT(inverse_leaky_for_extension(512, 0.5), "s");
  EXPECT_INVALID_ARGUMENT(within_trained_range(re, 10, 0), "train_length");
}

TEST(RopeBadInput, DecayAndLogN) {
  const Eigen::VectorXd theta = default_inv_freq(8, 1e4);
  EXPECT_INVALID_ARGUMENT(decay_indicator(kNaN, theta), "delta");
  EXPECT_INVALID_ARGUMENT(decay_indicator(1, Eigen::VectorXd()), "inv_freq");
  const RotaryEmbedding rope(theta, Layout::Half);
  const Eigen::VectorXd q = Eigen::VectorXd::Ones(8);
  EXPECT_INVALID_ARGUMENT(abel_summation(Eigen::VectorXd::Ones(6), q, 1.0, rope), "q");
  EXPECT_INVALID_ARGUMENT(abel_summation(q, Eigen::VectorXd::Constant(8, kNaN), 1.0, rope), "k");
  EXPECT_INVALID_ARGUMENT(abel_summation(Eigen::VectorXd::Ones(10), Eigen::VectorXd::Ones(10), 1.0,
                                         RotaryEmbedding(theta, Layout::Half, 10)),
                          "rope.head_dim");
  EXPECT_INVALID_ARGUMENT(log_n_scale(0, 512), "n");
  EXPECT_INVALID_ARGUMENT(log_n_scale(10, 1), "train_length");
  EXPECT_INVALID_ARGUMENT(log_n_dagger(-1, 512), "position");
}

TEST(RopeBadInput, Attention) {
  const RotaryEmbedding rope(default_inv_freq(8, 1e4), Layout::Half);
  const AttentionSpec spec{PositionScheme::rerope(2), rope};
  const RowMatrixX<double> q = RowMatrixX<double>::Ones(4, 8), v = RowMatrixX<double>::Ones(4, 2);
  EXPECT_INVALID_ARGUMENT(attention_scores(q, RowMatrixX<double>::Ones(3, 8), spec, Realisation::Direct), "k");
  EXPECT_INVALID_ARGUMENT(attention_scores(RowMatrixX<double>::Ones(4, 6), q, spec, Realisation::Direct), "q");
  EXPECT_INVALID_ARGUMENT(attention_scores(RowMatrixX<double>::Ones(0, 8), RowMatrixX<double>::Ones(0, 8), spec,
                                           Realisation::TwoPass), "q");
  RowMatrixX<double> nan = q;
  nan(2, 3) = kNaN;
  EXPECT_INVALID_ARGUMENT(attention_scores(nan, q, spec, Realisation::TwoPass), "q");
  EXPECT_INVALID_ARGUMENT(attention(q, q, RowMatrixX<double>::Ones(3, 2), spec, Realisation::Direct), "v");
  EXPECT_INVALID_ARGUMENT(attention(q, q, nan, spec, Realisation::Direct), "v");
  AttentionSpec bad = spec;
  bad.scale = -1;
  EXPECT_INVALID_ARGUMENT(attention_scores(q, q, bad, Realisation::Direct), "spec.scale");
  bad = spec;
  bad.log_n_train_length = 1;
  EXPECT_INVALID_ARGUMENT(attention(q, q, v, bad, Realisation::Direct), "spec.log_n_train_length");
  bad = spec;
  bad.scheme.window = 0;
  EXPECT_INVALID_ARGUMENT(attention_scores(q, q, bad, Realisation::TwoPass), "scheme.window");
  EXPECT_INVALID_ARGUMENT(KVCache<double>(bad, CacheKind::RawKeys, 2), "scheme.window");
  EXPECT_INVALID_ARGUMENT(KVCache<double>(spec, CacheKind::RawKeys, 0), "value_dim");
  EXPECT_INVALID_ARGUMENT(KVCache<double>(spec, static_cast<CacheKind>(7), 2), "kind");
  KVCache<float> cache(spec, CacheKind::RotatedKeys, 2);
  const Eigen::VectorXf key = Eigen::VectorXf::Ones(8);
  EXPECT_INVALID_ARGUMENT(cache.scores(key), "cache");
  EXPECT_INVALID_ARGUMENT(cache.append(Eigen::VectorXf::Ones(7), Eigen::VectorXf::Ones(2)), "key");
  EXPECT_INVALID_ARGUMENT(cache.append(key, Eigen::VectorXf::Ones(3)), "value");
  EXPECT_INVALID_ARGUMENT(cache.append(key, Eigen::VectorXf::Constant(2, NAN)), "value");
  cache.append(key, Eigen::VectorXf::Ones(2));
  EXPECT_INVALID_ARGUMENT(cache.attend(Eigen::VectorXf::Ones(9)), "query");
}

}  // namespace
}  // namespace probspace::rope
