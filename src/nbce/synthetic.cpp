// The synthetic conditionally-independent model of spec nbce.md §11.
#include <probspace/core/error.hpp>
#include <probspace/nbce/synthetic.hpp>

#include <cmath>

namespace probspace::nbce {
namespace {

using probspace::detail::require;

void check_prior(const VectorX<double>& prior, std::string_view fn) {
  require(prior.size() >= 1, fn, "prior", "must not be empty");
  require(prior.allFinite() && (prior.array() > 0).all(), fn, "prior", "must be finite and > 0");
  require(std::abs(prior.sum() - 1.0) <= 1e-9, fn, "prior", "must sum to 1, sums to ", prior.sum());
}

void check_likelihoods(const RowMatrixX<double>& l, Index cols, std::string_view fn, std::string_view arg) {
  require(l.cols() == cols, fn, arg, "has ", l.cols(), " columns, expected ", cols);
  require(l.allFinite() && (l.array() > 0).all(), fn, arg, "must be finite and > 0");
}

/// log of (x normalised to sum 1).
VectorX<double> log_normalised(const VectorX<double>& x) { return (x / x.sum()).array().log(); }

VectorX<double> dirichlet_one(Index size, std::mt19937_64& g) {
  std::exponential_distribution<double> gamma1(1.0);  // Gamma(1, 1)
  VectorX<double> x(size);
  for (Index i = 0; i < size; ++i) x[i] = gamma1(g);
  return x / x.sum();
}

}  // namespace

RowMatrixX<double> context_rows(const VectorX<double>& prior, const RowMatrixX<double>& likelihoods) {
  check_prior(prior, "context_rows");
  check_likelihoods(likelihoods, prior.size(), "context_rows", "likelihoods");
  RowMatrixX<double> rows(likelihoods.rows() + 1, prior.size());
  rows.row(0) = prior.array().log().transpose();
  for (Index k = 0; k < likelihoods.rows(); ++k)
    rows.row(k + 1) = log_normalised(prior.cwiseProduct(likelihoods.row(k).transpose())).transpose();
  return rows;
}

VectorX<double> exact_posterior(const VectorX<double>& prior, const RowMatrixX<double>& likelihoods) {
  check_prior(prior, "exact_posterior");
  check_likelihoods(likelihoods, prior.size(), "exact_posterior", "likelihoods");
  // In log space: ∏ over many contexts may underflow.
  VectorX<double> log_post = prior.array().log().matrix() + likelihoods.array().log().colwise().sum().transpose().matrix();
  log_post.array() -= log_post.maxCoeff();
  const VectorX<double> post = log_post.array().exp();
  return post / post.sum();
}

CategoricalModel::CategoricalModel(VectorX<double> prior, RowMatrixX<double> likelihood)
    : prior_(std::move(prior)), likelihood_(std::move(likelihood)) {
  check_prior(prior_, "CategoricalModel");
  require(likelihood_.rows() == prior_.size(), "CategoricalModel", "likelihood", "has ", likelihood_.rows(),
          " rows, expected ", prior_.size());
  require(likelihood_.cols() >= 1, "CategoricalModel", "likelihood", "must have at least one symbol");
  require(likelihood_.allFinite() && (likelihood_.array() > 0).all(), "CategoricalModel", "likelihood",
          "must be finite and > 0");
  require(((likelihood_.rowwise().sum().array() - 1.0).abs() <= 1e-9).all(), "CategoricalModel", "likelihood",
          "rows must sum to 1");
}

CategoricalModel CategoricalModel::random(Index answers, Index symbols, std::uint64_t seed) {
  require(answers >= 1, "CategoricalModel::random", "answers", "must be >= 1, got ", answers);
  require(symbols >= 1, "CategoricalModel::random", "symbols", "must be >= 1, got ", symbols);
  std::mt19937_64 g(seed);
  VectorX<double> prior = dirichlet_one(answers, g);
  RowMatrixX<double> likelihood(answers, symbols);
  for (Index t = 0; t < answers; ++t) likelihood.row(t) = dirichlet_one(symbols, g).transpose();
  return {std::move(prior), std::move(likelihood)};
}

RowMatrixX<double> CategoricalModel::likelihoods(std::span<const Index> observations) const {
  RowMatrixX<double> l(Index(observations.size()), prior_.size());
  for (Index k = 0; k < l.rows(); ++k) {
    const Index s = observations[std::size_t(k)];
    require(s >= 0 && s < likelihood_.cols(), "CategoricalModel::likelihoods", "observations",
            "holds symbol ", s, " outside [0, ", likelihood_.cols(), ")");
    l.row(k) = likelihood_.col(s).transpose();
  }
  return l;
}

std::vector<Index> CategoricalModel::sample_observations(Index n, std::mt19937_64& generator) const {
  require(n >= 0, "CategoricalModel::sample_observations", "n", "must be >= 0, got ", n);
  const auto draw = [&](const auto& probabilities) {
    std::discrete_distribution<Index> d(probabilities.begin(), probabilities.end());
    return d(generator);
  };
  const Index answer = draw(prior_);
  const VectorX<double> row = likelihood_.row(answer).transpose();
  std::vector<Index> obs(static_cast<std::size_t>(n));
  for (auto& s : obs) s = draw(row);
  return obs;
}

SequenceModel::SequenceModel(Index vocab, Index length, VectorX<double> prior, RowMatrixX<double> likelihoods)
    : vocab_(vocab), length_(length), prior_(std::move(prior)), likelihoods_(std::move(likelihoods)) {
  require(vocab >= 1, "SequenceModel", "vocab", "must be >= 1, got ", vocab);
  require(length >= 1 && std::pow(double(vocab), double(length)) <= 1e7, "SequenceModel", "length",
          "must be >= 1 with vocab^length <= 1e7, got ", length);
  Index answers = 1;
  for (Index j = 0; j < length; ++j) answers *= vocab;
  require(prior_.size() == answers, "SequenceModel", "prior", "has size ", prior_.size(), ", expected vocab^length = ",
          answers);
  check_prior(prior_, "SequenceModel");
  check_likelihoods(likelihoods_, answers, "SequenceModel", "likelihoods");
}

RowMatrixX<double> SequenceModel::step_rows(std::span<const Index> prefix) const {
  const Index j = Index(prefix.size());
  require(j < length_, "SequenceModel::step_rows", "prefix", "has length ", j, ", expected < ", length_);
  Index base = 0;
  for (Index t : prefix) {
    require(t >= 0 && t < vocab_, "SequenceModel::step_rows", "prefix", "holds token ", t, " outside [0, ", vocab_, ")");
    base = base * vocab_ + t;
  }
  // The answers extending prefix·t form one contiguous block of V^{m−j−1} indices.
  Index block = 1;
  for (Index i = j + 1; i < length_; ++i) block *= vocab_;
  RowMatrixX<double> rows(likelihoods_.rows() + 1, vocab_);
  for (Index r = 0; r < rows.rows(); ++r) {
    VectorX<double> mass(vocab_);
    for (Index t = 0; t < vocab_; ++t) {
      const auto seg = prior_.segment((base * vocab_ + t) * block, block);
      mass[t] = r == 0 ? seg.sum() : seg.dot(likelihoods_.row(r - 1).segment((base * vocab_ + t) * block, block));
    }
    rows.row(r) = log_normalised(mass).transpose();
  }
  return rows;
}

VectorX<double> SequenceModel::exact_posterior() const { return nbce::exact_posterior(prior_, likelihoods_); }

VectorX<double> SequenceModel::nbce_posterior(const Options& options, Level level) const {
  const Index answers = prior_.size();
  VectorX<double> score = VectorX<double>::Zero(answers);  // Σ_j s_j (Sequence) or Σ_j log π_j (Token)
  Decoder<double> decoder(options);
  std::vector<Index> prefix;
  for (Index a = 0; a < answers; ++a) {
    // Decode answer a token by token; a fresh decoder state per prefix (no hysteresis across branches).
    Index rest = a, scale = answers;
    prefix.clear();
    for (Index j = 0; j < length_; ++j) {
      scale /= vocab_;
      const Index t = rest / scale;
      rest %= scale;
      decoder.reset();
      const auto& step = decoder.step(step_rows(prefix));
      score[a] += level == Level::Sequence ? step.scores[t] : step.log_probs[t];
      prefix.push_back(t);
    }
  }
  const double m = score.maxCoeff();
  require(std::isfinite(m), "SequenceModel::nbce_posterior", "options", "leave every answer with score -inf");
  VectorX<double> p = (score.array() - m).exp();
  return p / p.sum();
}

}  // namespace probspace::nbce
