#pragma once
// log-n attention scaling (spec §8).
#include <probspace/core/types.hpp>

namespace probspace::rope {

/// log_m n = ln n / ln m: the train-time logit scale is log_n_scale(n, m)/√d, m = training length
/// (softmax((log_m n/√d)·QKᵀ)V). n ≥ 1, m ≥ 2.
double log_n_scale(Index n, Index train_length);

/// log-n† retro-fit: q at 0-based `position` is multiplied by max(1, ln n/ln L_train), n = position + 1,
/// before any rotation.
double log_n_dagger(Index position, Index train_length);

}  // namespace probspace::rope
