#pragma once
// The CUDA backend's entry points, in plain types (no Eigen, which stays out of .cu files).
// Implemented in src/inference/cuda/*.cu when CUDA is compiled in, else by cuda_stub.cpp, whose
// functions report that the backend is missing. Failures throw probspace::DeviceError.
#include <cstddef>
#include <cstdint>

namespace probspace::inference::cuda_backend {

bool available();
void* create_stream();
void destroy_stream(void* stream) noexcept;
void synchronize(void* stream);
void* allocate(std::size_t bytes);
void release(void* pointer) noexcept;
void copy_to_device(void* device, const void* host, std::size_t bytes);
void copy_to_host(void* host, const void* device, std::size_t bytes);
/// Device-to-device copy queued on `stream`.
void copy_on_device(void* stream, void* to, const void* from, std::size_t bytes);
/// A context's error report (check.cuh: ReportState), the `report` argument of the kernels below,
/// through which they return the first bad row or token.
void* create_report();
void destroy_report(void* report) noexcept;
/// Deferred: kernel calls return without waiting; synchronize_report() waits and returns the first
/// index reported since the last one (or −1).
void defer_report(void* report, bool deferred);
std::ptrdiff_t synchronize_report(void* report, void* stream);
/// CUDA events on a stream, for timing queued work.
void* create_event();
void destroy_event(void* event) noexcept;
void record_event(void* event, void* stream);
/// Waits for `stop`; milliseconds between the two events.
double elapsed_ms(void* start, void* stop);

enum class InputType { Float32, BFloat16 };

/// Row-wise softmax (log = false) or log_softmax of [rows, cols] logits into float32; returns the
/// first row holding NaN or +inf or only −inf, or −1 (the call waits for the stream to read that).
std::ptrdiff_t softmax_rows(void* stream, void* report, InputType type, const void* z, std::ptrdiff_t rows,
                            std::ptrdiff_t cols, std::ptrdiff_t z_stride, float* out, std::ptrdiff_t out_stride, bool log);

/// α-entmax rows (α = 2: sparsemax; α = 1.5 exact; other α Newton in a bracket; α − 1 ≤ the
/// softmax cutoff: softmax) of [rows, cols] logits into float32, general α to |Σp − 1| ≤ tolerance;
/// returns the first bad row or −1.
std::ptrdiff_t entmax_rows(void* stream, void* report, InputType type, const void* z, std::ptrdiff_t rows, std::ptrdiff_t cols,
                           std::ptrdiff_t z_stride, float* p, std::ptrdiff_t p_stride, float alpha, double tolerance);

/// Which backward pass rows_backward runs (see inference/rows.hpp); y is the forward output.
enum class Backward { Softmax, LogSoftmax, Entmax };
/// dz from (y, g) row-wise; returns the first row whose y is not a valid forward output (NaN, or
/// p < 0, or log_p > 0) or whose g is not finite, or −1.
std::ptrdiff_t rows_backward(void* stream, void* report, Backward kind, float alpha, const float* y, std::ptrdiff_t y_stride,
                             const float* g, std::ptrdiff_t g_stride, float* dz, std::ptrdiff_t dz_stride,
                             std::ptrdiff_t rows, std::ptrdiff_t cols);

/// The batched NBCE step's parameters (nbce::Options in plain types).
struct NbceParams {
  enum Truncation { None, TopP, TopK } truncation = None;
  double top_p = 1;
  std::int64_t top_k = 0;
  enum Pooling { MinEntropy, Average, SoftEntropy, Max } pooling = MinEntropy;
  double beta = 0, eta = 0, soft_temperature = 1, finite_threshold = -100;
  bool select_row0 = false;
};
/// The largest vocabulary of the CUDA NBCE step (its fixed-point histogram sums stay in 32 bits).
inline constexpr std::ptrdiff_t kNbceMaxVocab = std::ptrdiff_t(1) << 20;
/// Device scratch for batched NBCE steps of fixed shape (previous selections included).
void* nbce_create(std::ptrdiff_t batch, std::ptrdiff_t rows_per_sequence, std::ptrdiff_t vocab);
void nbce_destroy(void* workspace) noexcept;
/// Forgets the previous selections.
void nbce_reset(void* workspace, void* stream);
/// One step over logits [batch·rows_per_sequence, vocab] (float32 or bfloat16); returns the first
/// row holding NaN or +inf or only −inf, or −1.
std::ptrdiff_t nbce_step(void* stream, void* report, void* workspace, const NbceParams& params, InputType type,
                         const void* logits, std::ptrdiff_t logits_stride, float* log_probs,
                         std::ptrdiff_t log_probs_stride, std::int32_t* selected, float* entropies);

/// RoPE in place on [tokens, heads·head_dim] (float32 or bfloat16) from float32 cos/sin tables
/// [length, rotary_dim/2] (row stride table_stride); returns the first token whose position is
/// outside [0, length), or −1.
std::ptrdiff_t rope_apply(void* stream, void* report, InputType type, void* x, std::ptrdiff_t tokens,
                          std::ptrdiff_t x_stride, int heads, int head_dim, int rotary_dim,
                          const std::int32_t* positions, const float* cos, const float* sin,
                          std::ptrdiff_t table_stride, std::ptrdiff_t length, bool interleaved);

/// The fused attention kernels' geometry (attention.cu; docs/attention.md, "CUDA"). head_dim 64 or 128;
/// the value dim equals head_dim; channels ≥ rotary_dim pass through unrotated.
struct AttentionShape {
  int q_heads = 1, kv_heads = 1, head_dim = 0, rotary_dim = 0;
  bool interleaved = false;  ///< rope::Layout::Interleaved (pair (2i, 2i+1)), else Half (i, i + rotary_dim/2)
  bool two_pass = false;     ///< ReRoPE / Leaky: pass 2 where i − j ≥ window (spec rope.md §6.2)
  std::int64_t window = 0;
};

/// Causal prefill (spec §6.2): q [L, q_heads·d], k, v [L, kv_heads·d], out [L, q_heads·d] of `type`,
/// device memory, any row strides. Host tables (as the CPU path builds them, in double): inv_freq
/// [rotary_dim/2]; positions [3·L] = p1(ℓ), p2q(ℓ), p2k(ℓ) (the pass-2 thirds read for two-pass
/// schemes only); q_factor [L] (logit scale · log-n†, folded into q before rotation). Returns the
/// first non-finite input as tensor·L + row (tensor 0 = q, 1 = k, 2 = v), or −1.
std::ptrdiff_t attention_prefill(void* stream, void* report, InputType type, const AttentionShape& shape,
                                 std::ptrdiff_t length, const void* q, std::ptrdiff_t q_stride, const void* k,
                                 std::ptrdiff_t k_stride, const void* v, std::ptrdiff_t v_stride, void* out,
                                 std::ptrdiff_t out_stride, const double* inv_freq, const double* positions,
                                 const double* q_factor);

/// Decode cache append (spec §6.3(b)): raw keys and values [n, kv_heads·d] of `type` (any row
/// strides) into the cache rows k1, k2 (two-pass schemes), v — dense, row stride kv_heads·d, same
/// type: k1 row r ← R_{positions[r]} keys[r], k2 row r ← R_{positions[n + r]} keys[r], v row r ←
/// values[r]. positions (host) [2n]. Returns the first non-finite input as tensor·n + row (0 = keys,
/// 1 = values), or −1.
std::ptrdiff_t attention_append(void* stream, void* report, InputType type, const AttentionShape& shape, std::ptrdiff_t n,
                                const void* keys, std::ptrdiff_t keys_stride, const void* values,
                                std::ptrdiff_t values_stride, void* k1, void* k2, void* v, const double* inv_freq,
                                const double* positions);

/// Decode of one query [1, q_heads·d] (raw, `type`) at position i = size − 1 against the cache rows
/// k1, k2, v [size, kv_heads·d] (dense); out [1, q_heads·d]. Host: positions [2] = p1(i), p2q(i);
/// q_factor as in prefill. Returns 0 when the query is not finite, else −1.
std::ptrdiff_t attention_decode(void* stream, void* report, InputType type, const AttentionShape& shape, std::ptrdiff_t size,
                                const void* query, const void* k1, const void* k2, const void* v, void* out,
                                const double* inv_freq, const double* positions, double q_factor);

}  // namespace probspace::inference::cuda_backend
