// The NBCE step (spec nbce.md §8): rows analysed in parallel, then one pooling pass and one merge
// pass over the vocabulary, then log_softmax.
#include "../core/parallel.hpp"
#include "../core/softmax_kernels.hpp"
#include "row_analysis.hpp"

#include <probspace/core/checks.hpp>
#include <probspace/nbce/decoder.hpp>

#include <cmath>

namespace probspace::nbce {
namespace {

using probspace::detail::require;
constexpr std::string_view kStep = "Decoder::step";

void check_options(const Options& o, bool has_rule) {
  constexpr std::string_view fn = "Decoder";
  require(std::isfinite(o.beta) && o.beta >= -1, fn, "options.beta", "must be finite and >= -1, got ", o.beta);
  require(std::isfinite(o.eta) && o.eta >= 0, fn, "options.eta", "must be finite and >= 0, got ", o.eta);
  probspace::detail::require_positive(o.soft_temperature, fn, "options.soft_temperature");
  require(std::isfinite(o.finite_threshold), fn, "options.finite_threshold", "must be finite, got ",
          o.finite_threshold);
  kernels::check_truncation(o.truncation, fn, "options.truncation");
  require(o.pooling != Pooling::Custom || has_rule, fn, "rule", "must be given for Pooling::Custom");
}

template <Real T> constexpr T kNegInf = -std::numeric_limits<T>::infinity();

}  // namespace

template <Real T>
Decoder<T>::Decoder(Options options, PoolingRule<T> rule) : options_(options), rule_(std::move(rule)) {
  check_options(options_, bool(rule_));
}

template <Real T> void Decoder<T>::reset() {
  previous_.reset();
  rows_ = vocab_ = 0;
}

template <Real T> const Step<T>& Decoder<T>::step(const ConstRowMatrixRef<T>& logits) {
  const Index rows = logits.rows(), vocab = logits.cols();
  require(rows >= 2, kStep, "logits", "needs row 0 and at least one context row, got ", rows, " rows");
  require(vocab >= 1, kStep, "logits", "must have at least one column");
  if (rows_ == 0) {
    rows_ = rows;
    vocab_ = vocab;
    stats_.resize(std::size_t(rows));
    step_.scores.resize(vocab);
    step_.log_probs.resize(vocab);
    step_.entropies.resize(rows);
    step_.nucleus_sizes.resize(rows);
    const bool linear = options_.pooling != Pooling::Max && options_.pooling != Pooling::Custom;
    step_.weights.setZero(linear ? rows : 0);
    if (options_.pooling == Pooling::Custom) contexts_.resize(rows - 1, vocab);
  }
  require(rows == rows_ && vocab == vocab_, kStep, "logits", "has shape [", rows, ", ", vocab,
          "] but this decoder's steps have [", rows_, ", ", vocab_, "]; call reset() to change it");

  // §8 lines 2–4 per row: log-softmax, truncation, partial entropy.
  probspace::kernels::parallel_rows(rows, vocab, [&](Index r) {
    const T* z = logits.row(r).data();
    const T max_z = probspace::detail::check_logits(z, vocab, kStep, probspace::kernels::row_name("logits", r));
    const auto row = kernels::analyse_row(z, vocab, options_.truncation, max_z);
    stats_[std::size_t(r)] = {row.log_norm, row.nucleus};
    step_.entropies[r] = row.entropy;
    step_.nucleus_sizes[r] = row.nucleus.size;
  });

  // §6 and §2: which rows are pooled, with which weights.
  const Index first = options_.select_row0 ? 0 : 1;
  step_.selected = -1;
  switch (options_.pooling) {
  case Pooling::MinEntropy:
    step_.selected = select_min_entropy(step_.entropies, first, previous_, options_.eta);
    step_.weights.setZero();
    step_.weights[step_.selected] = 1;
    previous_ = step_.selected;
    break;
  case Pooling::Average:
    step_.weights.setConstant(1.0 / double(rows - 1));
    step_.weights[0] = 0;
    break;
  case Pooling::SoftEntropy:
    step_.weights.setZero();
    step_.weights.tail(rows - first) = entropy_weights(step_.entropies.tail(rows - first), options_.soft_temperature);
    break;
  case Pooling::Max:
  case Pooling::Custom: break;
  }

  step_.fallback_used = false;
  pool(logits, true);
  step_.empty_support = !(step_.scores.array() > kNegInf<T>).any();
  if (step_.empty_support && options_.empty_support == EmptySupport::Fallback) {
    pool(logits, false);
    truncate_pooled();
    step_.fallback_used = true;
  }

  // §4: merge with the truncated row 0, in place.
  const T beta = T(options_.beta), threshold = T(options_.finite_threshold);
  const T* z0 = logits.row(0).data();
  const T ln0 = T(stats_[0].log_norm);
  const Nucleus<T> nu0 = stats_[0].nucleus;
  T* s = step_.scores.data();
  for (Index t = 0; t < vocab; ++t)
    s[t] = merged_score(s[t], nu0.contains(z0[t], t) ? z0[t] - ln0 : kNegInf<T>, beta, threshold);

  if (step_.empty_support && !step_.fallback_used) {
    step_.log_probs.setConstant(kNegInf<T>);
  } else {
    probspace::kernels::log_softmax_row(s, vocab, step_.log_probs.data(), step_.scores.maxCoeff());
  }
  return step_;
}

/// Pooled row into step_.scores: the nucleus-restricted log-probs l_r = z_r − LSE(z_r) of the pooled
/// rows, combined per §2 (−inf arithmetic of §3: intersection for weighted sums, union for max).
template <Real T> void Decoder<T>::pool(const ConstRowMatrixRef<T>& logits, bool truncated) {
  const Index vocab = vocab_;
  T* s = step_.scores.data();
  const auto row = [&](Index r, auto&& body) {
    const T* z = logits.row(r).data();
    const T ln = T(stats_[std::size_t(r)].log_norm);
    const Nucleus<T> nu = truncated ? stats_[std::size_t(r)].nucleus : Nucleus<T>{};
    for (Index t = 0; t < vocab; ++t) body(t, nu.contains(z[t], t), z[t] - ln);
  };
  switch (options_.pooling) {
  case Pooling::Max:
    std::fill(s, s + vocab, kNegInf<T>);
    for (Index r = 1; r < rows_; ++r)
      row(r, [&](Index t, bool kept, T l) { s[t] = kept ? std::max(s[t], l) : s[t]; });
    return;
  case Pooling::Custom:
    for (Index r = 1; r < rows_; ++r)
      row(r, [&](Index t, bool kept, T l) { contexts_(r - 1, t) = kept ? l : kNegInf<T>; });
    rule_(contexts_, step_.entropies.tail(rows_ - 1), step_.scores);
    for (Index t = 0; t < vocab; ++t)
      require(!std::isnan(s[t]) && s[t] != -kNegInf<T>, kStep, "rule", "returned NaN or +inf at token ", t);
    return;
  case Pooling::MinEntropy:
  case Pooling::Average:
  case Pooling::SoftEntropy:
    std::fill(s, s + vocab, T(0));
    for (Index r = 0; r < rows_; ++r) {
      const T w = T(step_.weights[r]);
      if (w == T(0)) continue;  // an underflowed soft weight leaves the row out of the intersection
      row(r, [&](Index t, bool kept, T l) { s[t] = kept ? s[t] + w * l : kNegInf<T>; });
    }
    return;
  }
}

/// EmptySupport::Fallback, second half: truncate the pooled (untruncated) row as a row of logits.
template <Real T> void Decoder<T>::truncate_pooled() {
  VectorX<T>& s = step_.scores;
  const T max_s = probspace::detail::check_logits(s.data(), vocab_, kStep, "pooled row");
  const Nucleus<T> nu = kernels::analyse_row(s.data(), vocab_, options_.truncation, max_s).nucleus;
  for (Index t = 0; t < vocab_; ++t) s[t] = nu.contains(s[t], t) ? s[t] : kNegInf<T>;
}

template class Decoder<float>;
template class Decoder<double>;

}  // namespace probspace::nbce
