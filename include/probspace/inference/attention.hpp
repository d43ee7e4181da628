#pragma once
// Fused position-aware causal attention (issue 8): RoPE, PI, ReRoPE and Leaky ReRoPE, multi-head with
// grouped-query attention, flash style (query × key tiles, online softmax: no L×L matrix), prefill and
// decode. Exact realisation of the two-pass rule of spec rope.md §6.2 tile by tile, and of the dual
// cache of §6.3(b) for decode. float32 or bfloat16 storage, float32 accumulation; angles in double.
//
// Layouts (rows = tokens; token ℓ sits at position ℓ): q [L, q_heads·d], k [L, kv_heads·d],
// v [L, kv_heads·dv], out [L, q_heads·dv], head h in columns h·d..(h+1)·d−1; query head h reads
// kv head h / (q_heads/kv_heads). d = rope.head_size(); dv = v.cols/kv_heads.
//
// Scores: scale·a²·(f_i q_i)ᵀ R_{−P(i−j)} k_j, a = rope.attention_factor (it multiplies cos and sin of
// q and k, spec §7), f_i the log-n† factor (spec §8, applied before rotation), scale 0 → 1/√d.
// InverseLeaky is computed as its scheme states (the training-time forward, as rope::attention does);
// at inference the spec prescribes plain RoPE: pass PositionScheme::rope() for that.
// Inputs must be finite: NaN or ±inf in q, k or v throws InvalidArgument naming the row ("q[5]").
#include <probspace/core/types.hpp>
#include <probspace/inference/bfloat16.hpp>
#include <probspace/inference/context.hpp>
#include <probspace/rope/attention.hpp>
#include <probspace/rope/rotation.hpp>
#include <probspace/rope/schemes.hpp>

#include <cstddef>
#include <memory>
#include <string_view>
#include <vector>

namespace probspace::inference {

struct AttentionConfig {
  rope::PositionScheme scheme;
  rope::RotaryEmbedding rope;    ///< per head: d = rope.head_size() channels
  Index q_heads = 1, kv_heads = 1;  ///< q_heads a multiple of kv_heads (GQA; MQA: kv_heads = 1)
  Index log_n_train_length = 0;  ///< > 1: log-n† with this L_train; 0: off
  double scale = 0;              ///< logit scale; 0 means 1/√d

  /// Throws InvalidArgument naming `fn` and the field ('scheme.k', 'rope.inv_freq', 'config.q_heads', …).
  void validate(std::string_view fn) const;
  Index head_dim() const { return rope.head_size(); }
  /// Query heads per kv head.
  Index group_size() const { return q_heads / kv_heads; }
  /// The single-head reference specification (rope::attention) every head follows.
  rope::AttentionSpec head_spec() const;
};

/// Causal prefill: out = softmax(scores)·V per query head. Host memory on a CPU context, device
/// memory on a CUDA context (its CPU comparison, tests/cuda/test_attention_cuda.cpp, passes on the
/// H200). out may alias q (inputs are copied, rotated, before any output is written). CUDA (docs/attention.md, "CUDA"): head_dim 64 or 128 and dv = head_dim (else
/// InvalidArgument 'rope.head_dim' / 'v'); the rotated q and k, v and the softmax weights enter the
/// tensor-core products as bfloat16 (float32 accumulation), so results differ from the CPU by
/// bfloat16 rounding (relative ~2^-8); with Context::defer_errors a non-finite input is reported
/// by Context::synchronize() instead.
template <class T>
void attention_prefill(Context& context, RowsView<const T> q, RowsView<const T> k, RowsView<const T> v,
                       RowsView<T> out, const AttentionConfig& config);

/// Decode cache of spec §6.3(b): keys are rotated once, on append, to their pass-1 position
/// (R_{p1(j)} k_j) and, for two-pass schemes, to their pass-2 position (raw k_j for ReRoPE,
/// R_{j/k} k_j for Leaky); values are stored as given. Storage T (bfloat16 halves the bytes; the
/// rotated keys are then rounded to bfloat16 once). Key j sits at position j (append order).
/// A cache on Device::Cuda holds its rows in device memory: append and attend then take a CUDA
/// context and device views; head_dim 64 or 128 and value_dim = head_dim. Move-only.
template <class T> class AttentionCache {
public:
  /// value_dim = dv per kv head; capacity = tokens reserved up front (the cache grows past it);
  /// device is resolved as Context's (Auto: CUDA when available).
  AttentionCache(AttentionConfig config, Index value_dim, Index capacity = 0, Device device = Device::Cpu);

  /// Appends keys [n, kv_heads·d] (raw, pre-RoPE) and values [n, kv_heads·dv] at positions
  /// size()..size()+n−1, rotating each key into both caches (RoPE fused with the append). The
  /// context must be on the cache's device (else InvalidArgument 'context').
  void append(Context& context, RowsView<const T> keys, RowsView<const T> values);
  /// query [1, q_heads·d] (raw) at position size()−1 against every cached key; out [1, q_heads·dv].
  void attend(Context& context, RowsView<const T> query, RowsView<T> out) const;

  Index size() const { return size_; }
  Index value_dim() const { return value_dim_; }
  const AttentionConfig& config() const { return config_; }
  Device device() const { return device_; }
  /// Bytes held by the size() cached tokens (both key copies and the values).
  std::size_t bytes() const;

private:
  /// CUDA: at least `rows` rows allocated (doubling; the rows held are copied over).
  void reserve_device(Context& context, Index rows);

  AttentionConfig config_;
  Index value_dim_;
  Device device_;
  Index size_ = 0;
  /// CPU: [size, kv_heads·d] ×2 (keys2_ empty for one-pass schemes), [size, kv_heads·dv].
  std::vector<T> keys1_, keys2_, values_;
  /// CUDA: the same rows, dense, room for capacity_ rows (device_keys2_ null for one-pass schemes).
  std::unique_ptr<DeviceBuffer<T>> device_keys1_, device_keys2_, device_values_;
  Index capacity_ = 0;
};

}  // namespace probspace::inference
