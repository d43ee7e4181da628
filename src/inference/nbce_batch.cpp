// The batched NBCE step: checks here, then one nbce::Decoder<float> per sequence (CPU) or the CUDA
// backend's kernels over the whole batch.
#include "../core/parallel.hpp"
#include "cuda/backend.hpp"

#include <probspace/core/checks.hpp>
#include <probspace/inference/nbce_batch.hpp>

#include <type_traits>
#include <vector>

namespace probspace::inference {
namespace {

using probspace::detail::require;
constexpr std::string_view kFn = "NbceBatch";
constexpr std::string_view kStep = "NbceBatch::step";

cuda_backend::NbceParams cuda_params(const nbce::Options& o) {
  cuda_backend::NbceParams p;
  switch (o.truncation.kind) {
  case nbce::Truncation::Kind::None: p.truncation = cuda_backend::NbceParams::None; break;
  case nbce::Truncation::Kind::TopP: p.truncation = cuda_backend::NbceParams::TopP; break;
  case nbce::Truncation::Kind::TopK: p.truncation = cuda_backend::NbceParams::TopK; break;
  }
  p.top_p = o.truncation.top_p;
  p.top_k = o.truncation.top_k;
  switch (o.pooling) {
  case nbce::Pooling::MinEntropy: p.pooling = cuda_backend::NbceParams::MinEntropy; break;
  case nbce::Pooling::Average: p.pooling = cuda_backend::NbceParams::Average; break;
  case nbce::Pooling::SoftEntropy: p.pooling = cuda_backend::NbceParams::SoftEntropy; break;
  case nbce::Pooling::Max:
  case nbce::Pooling::Custom: p.pooling = cuda_backend::NbceParams::Max; break;
  }
  p.beta = o.beta;
  p.eta = o.eta;
  p.soft_temperature = o.soft_temperature;
  p.finite_threshold = o.finite_threshold;
  p.select_row0 = o.select_row0;
  return p;
}

}  // namespace

struct NbceBatch::Backend {
  // CPU: one decoder per sequence, and a float32 copy of one sequence's rows for bfloat16 input.
  std::vector<nbce::Decoder<float>> decoders;
  RowMatrixX<float> widened;
  // CUDA: the backend's workspace.
  void* workspace = nullptr;
  ~Backend() {
    if (workspace) cuda_backend::nbce_destroy(workspace);
  }
};

NbceBatch::NbceBatch(Context& context, nbce::Options options, std::ptrdiff_t batch, std::ptrdiff_t rows_per_sequence,
                     std::ptrdiff_t vocab)
    : context_(context), options_(options), batch_(batch), rows_(rows_per_sequence), vocab_(vocab),
      backend_(std::make_unique<Backend>()) {
  require(batch >= 1, kFn, "batch", "must be >= 1, got ", batch);
  require(rows_per_sequence >= 2, kFn, "rows_per_sequence", "must be >= 2 (row 0 and a context), got ", rows_per_sequence);
  require(vocab >= 1, kFn, "vocab", "must be >= 1, got ", vocab);
  require(options.pooling != nbce::Pooling::Custom, kFn, "options.pooling", "Custom is not supported by the batched step");
  require(options.empty_support == nbce::EmptySupport::Report, kFn, "options.empty_support",
          "must be Report (an empty pooled support gives log-probs of -inf)");
  require(batch * rows_per_sequence <= std::ptrdiff_t(1) << 31 && vocab < std::ptrdiff_t(1) << 31, kFn, "vocab",
          "and the row count must fit in 32 bits");
  nbce::Decoder<float> prototype(options);  // validates the remaining options
  if (context.device() == Device::Cuda) {
    require(vocab <= cuda_backend::kNbceMaxVocab, kFn, "vocab", "must be <= ", cuda_backend::kNbceMaxVocab,
            " on CUDA, got ", vocab);
    backend_->workspace = cuda_backend::nbce_create(batch, rows_per_sequence, vocab);
  } else {
    backend_->decoders.assign(std::size_t(batch), prototype);
  }
}

NbceBatch::~NbceBatch() = default;

void NbceBatch::reset() {
  if (backend_->workspace) cuda_backend::nbce_reset(backend_->workspace, context_.stream());
  for (auto& d : backend_->decoders) d.reset();
}

template <class In>
void NbceBatch::step(RowsView<const In> logits, RowsView<float> log_probs, std::int32_t* selected, float* entropies) {
  const Memory memory = context_.device() == Device::Cuda ? Memory::Cuda : Memory::Host;
  require(logits.rows == batch_ * rows_ && logits.cols == vocab_ && logits.stride >= vocab_ && logits.data, kStep, "logits",
          "must be [", batch_ * rows_, ", ", vocab_, "] with stride >= cols, got [", logits.rows, ", ", logits.cols, "] stride ",
          logits.stride);
  require(log_probs.rows == batch_ && log_probs.cols == vocab_ && log_probs.stride >= vocab_ && log_probs.data, kStep,
          "log_probs", "must be [", batch_, ", ", vocab_, "] with stride >= cols, got [", log_probs.rows, ", ",
          log_probs.cols, "] stride ", log_probs.stride);
  require(selected != nullptr, kStep, "selected", "is null");
  require(entropies != nullptr, kStep, "entropies", "is null");
  require(logits.memory == memory, kStep, "logits", "must be in the context's memory");
  require(log_probs.memory == memory, kStep, "log_probs", "must be in the context's memory");

  if (context_.device() == Device::Cuda) {
    const auto type = std::is_same_v<In, float> ? cuda_backend::InputType::Float32 : cuda_backend::InputType::BFloat16;
    const std::ptrdiff_t bad =
        cuda_backend::nbce_step(context_.stream(), context_.report(), backend_->workspace, cuda_params(options_), type,
                                logits.data, logits.stride, log_probs.data, log_probs.stride, selected, entropies);
    require(bad < 0, kStep, kernels::row_name("logits", bad), "holds NaN or +inf, or only -inf");
    return;
  }
  for (std::ptrdiff_t b = 0; b < batch_; ++b) {
    const std::ptrdiff_t first = b * rows_;
    const float* data;
    std::ptrdiff_t stride;
    if constexpr (std::is_same_v<In, float>) {
      data = logits.data + first * logits.stride, stride = logits.stride;
    } else {
      backend_->widened.resize(rows_, vocab_);
      for (std::ptrdiff_t r = 0; r < rows_; ++r)
        for (std::ptrdiff_t t = 0; t < vocab_; ++t)
          backend_->widened(r, t) = to_float(logits.data[(first + r) * logits.stride + t]);
      data = backend_->widened.data(), stride = vocab_;
    }
    const Eigen::Map<const RowMatrixX<float>, 0, Eigen::OuterStride<>> rows(data, rows_, vocab_, Eigen::OuterStride<>(stride));
    const nbce::Step<float>* step = nullptr;
    try {  // the decoder checks every row; only on an error are the rows re-checked, to name the batch-wide row
      step = &backend_->decoders[std::size_t(b)].step(rows);
    } catch (const InvalidArgument&) {
      for (std::ptrdiff_t r = 0; r < rows_; ++r)
        probspace::detail::check_logits(rows.row(r).data(), vocab_, kStep, kernels::row_name("logits", first + r));
      throw;
    }
    Eigen::Map<VectorX<float>>(log_probs.data + b * log_probs.stride, vocab_) = step->log_probs;
    selected[b] = std::int32_t(step->selected);
    for (std::ptrdiff_t r = 0; r < rows_; ++r) entropies[first + r] = float(step->entropies[r]);
  }
}

template void NbceBatch::step<float>(RowsView<const float>, RowsView<float>, std::int32_t*, float*);
template void NbceBatch::step<bfloat16>(RowsView<const bfloat16>, RowsView<float>, std::int32_t*, float*);

}  // namespace probspace::inference
