#pragma once
// The NBCE step (spec nbce.md §8) batched over sequences, on either backend (issue 7): logits
// [B·(n+1), V] (sequence b's rows b(n+1) … b(n+1)+n, row 0 of each the unconditional one), float32 or
// bfloat16, in; merged log-probabilities [B, V], the selected context per sequence and every row's
// partial entropy out. It computes what nbce::Decoder<float> computes for each sequence (the CPU
// backend runs one Decoder per sequence; the CUDA kernels make one DRAM pass over the logits, the
// top-p/top-k cut found by a mass histogram and a sort of the crossing bin only).
#include <probspace/inference/bfloat16.hpp>
#include <probspace/inference/context.hpp>
#include <probspace/nbce/decoder.hpp>

#include <cstdint>
#include <memory>

namespace probspace::inference {

class NbceBatch {
public:
  /// options as nbce::Decoder's, except Pooling::Custom and EmptySupport::Fallback (a sequence whose
  /// pooled support is empty gets log-probs of −inf, as EmptySupport::Report). batch ≥ 1,
  /// rows_per_sequence = n + 1 ≥ 2, vocab ≥ 1 are fixed for the object's life. The context must
  /// outlive the object.
  NbceBatch(Context& context, nbce::Options options, std::ptrdiff_t batch, std::ptrdiff_t rows_per_sequence,
            std::ptrdiff_t vocab);
  ~NbceBatch();
  NbceBatch(const NbceBatch&) = delete;
  NbceBatch& operator=(const NbceBatch&) = delete;

  /// One step for every sequence. logits [B·(n+1), V]; log_probs [B, V]; selected: B entries (k* of
  /// Pooling::MinEntropy, else −1); entropies: B·(n+1) entries. All in the context's memory.
  /// NaN, +inf or an all −inf row throws InvalidArgument naming 'logits[r]' (after the step on CUDA).
  template <class In>
  void step(RowsView<const In> logits, RowsView<float> log_probs, std::int32_t* selected, float* entropies);

  /// Forgets the previous selections (the η hysteresis of §6).
  void reset();

  const nbce::Options& options() const { return options_; }

private:
  struct Backend;
  Context& context_;
  nbce::Options options_;
  std::ptrdiff_t batch_, rows_, vocab_;
  std::unique_ptr<Backend> backend_;
};

}  // namespace probspace::inference
