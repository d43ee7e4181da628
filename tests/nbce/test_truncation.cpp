// Truncation (spec nbce.md §3, §5, §13.6–8): top-p against a brute-force sort, its properties, top-k
// ties, and partial entropies.
#include "nbce_testing.hpp"

#include <probspace/core/stable.hpp>

#include <algorithm>
#include <numeric>

namespace probspace::nbce::testing {
namespace {

using probspace::testing::Scalars;
template <class T> class Truncate : public ::testing::Test {};
TYPED_TEST_SUITE(Truncate, Scalars);

/// Brute force of §3: sort by probability descending (ties by index), keep rank r iff the mass
/// before it is < top_p. Returns the kept flags and the smallest |A_r − top_p| (the decision margin).
template <class T> std::pair<std::vector<bool>, double> brute_top_p(const VectorX<T>& z, double top_p) {
  const VectorX<double> p = probspace::log_softmax(VectorX<double>(z.template cast<double>())).array().exp();
  std::vector<Index> order(std::size_t(z.size()));
  std::iota(order.begin(), order.end(), Index(0));
  std::stable_sort(order.begin(), order.end(), [&](Index a, Index b) { return z[a] > z[b]; });
  std::vector<bool> kept(order.size(), false);
  double before = 0, margin = 1;
  for (Index t : order) {
    if (!(z[t] > -std::numeric_limits<T>::infinity())) break;
    margin = std::min(margin, std::abs(before - top_p));
    if (before < top_p) kept[std::size_t(t)] = true;
    before += p[t];
  }
  return {kept, margin};
}

/// Random logits: continuous, from a few discrete levels (many ties), or with −inf entries.
template <class T> VectorX<T> random_logits(std::mt19937_64& rng, Index n, int flavour) {
  VectorX<T> z = probspace::testing::normal_vector<T>(rng, n, 2.0);
  std::uniform_int_distribution<int> level(0, 4);
  std::bernoulli_distribution mask(0.2);
  for (Index i = 0; i < n; ++i) {
    if (flavour == 1) z[i] = T(level(rng));
    if (flavour == 2 && i > 0 && mask(rng)) z[i] = -std::numeric_limits<T>::infinity();
  }
  return z;
}

TYPED_TEST(Truncate, TopPMatchesBruteForceWithTiesAndMaskedEntries) {
  using T = TypeParam;
  std::mt19937_64 rng(7);
  const double min_margin = std::is_same_v<T, float> ? 1e-4 : 1e-9;
  int checked = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    const Index n = std::uniform_int_distribution<Index>(1, 40)(rng);
    const double top_p = std::uniform_real_distribution<double>(0.05, 1.0)(rng);
    const VectorX<T> z = random_logits<T>(rng, n, trial % 3);
    const auto [kept, margin] = brute_top_p(z, top_p);
    if (margin < min_margin) continue;  // §3: a decision at the boundary may flip in rounding
    ++checked;
    const Nucleus<T> nu = nucleus(z, Truncation::TopP(top_p));
    Index size = 0;
    for (Index t = 0; t < n; ++t) {
      ASSERT_EQ(nu.contains(z[t], t), kept[std::size_t(t)]) << "trial " << trial << " token " << t;
      size += kept[std::size_t(t)];
    }
    EXPECT_EQ(nu.size, size);
  }
  EXPECT_GT(checked, 2500);
}

TYPED_TEST(Truncate, TopPOnALargeVocabularyUsesTheSelectionPath) {
  using T = TypeParam;
  std::mt19937_64 rng(11);
  int checked = 0;
  for (double top_p : {0.5, 0.9, 0.95, 0.999}) {
    for (double scale : {0.5, 3.0}) {
      const VectorX<T> z = probspace::testing::normal_vector<T>(rng, 50000, scale);
      const auto [kept, margin] = brute_top_p(z, top_p);
      if (margin < 1e-6) continue;
      ++checked;
      const Nucleus<T> nu = nucleus(z, Truncation::TopP(top_p));
      Index mismatches = 0, size = 0;
      for (Index t = 0; t < z.size(); ++t) {
        mismatches += nu.contains(z[t], t) != kept[std::size_t(t)];
        size += kept[std::size_t(t)];
      }
      EXPECT_EQ(mismatches, 0) << "top_p " << top_p << " scale " << scale;
      EXPECT_EQ(nu.size, size);
      EXPECT_GT(size, 10) << "the test should exercise a nucleus of many tokens";
    }
  }
  EXPECT_GE(checked, 4);
}

TYPED_TEST(Truncate, TopPPropertiesMassMinimalityAndBitIdenticalValues) {
  using T = TypeParam;
  std::mt19937_64 rng(3);
  for (int trial = 0; trial < 500; ++trial) {
    const Index n = std::uniform_int_distribution<Index>(1, 300)(rng);
    const double top_p = std::uniform_real_distribution<double>(0.01, 1.0)(rng);
    const VectorX<T> l = probspace::log_softmax(random_logits<T>(rng, n, trial % 3));
    VectorX<T> cut = l;
    const Nucleus<T> nu = truncate(cut, Truncation::TopP(top_p));
    double mass = 0, smallest = 1;
    Index kept = 0;
    for (Index t = 0; t < n; ++t) {
      if (cut[t] == -std::numeric_limits<T>::infinity()) continue;
      ASSERT_EQ(cut[t], l[t]) << "kept values are not renormalised";
      mass += std::exp(double(l[t]));
      smallest = std::min(smallest, std::exp(double(l[t])));
      ++kept;
    }
    EXPECT_GE(kept, 1);
    EXPECT_EQ(kept, nu.size);
    const double eps = std::is_same_v<T, float> ? 1e-5 : 1e-12;
    if (kept < (l.array() > -std::numeric_limits<T>::infinity()).count()) {
      EXPECT_GE(mass, top_p - eps) << "kept mass reaches top_p";
      EXPECT_LT(mass - smallest, top_p + eps) << "dropping the last kept token leaves less than top_p";
    }
  }
}

TYPED_TEST(Truncate, TopKKeepsTiesAndClampsK) {
  using T = TypeParam;
  const VectorX<T> z = probspace::testing::vec<T>({1, 3, 2, 3, 2, -std::numeric_limits<double>::infinity(), 0});
  const auto kept = [&](const Nucleus<T>& nu) {
    std::vector<bool> k;
    for (Index t = 0; t < z.size(); ++t) k.push_back(nu.contains(z[t], t));
    return k;
  };
  EXPECT_EQ(kept(nucleus(z, Truncation::TopK(1))), (std::vector<bool>{0, 1, 0, 1, 0, 0, 0}));
  EXPECT_EQ(kept(nucleus(z, Truncation::TopK(3))), (std::vector<bool>{0, 1, 1, 1, 1, 0, 0}));
  EXPECT_EQ(nucleus(z, Truncation::TopK(3)).size, 4);
  EXPECT_EQ(kept(nucleus(z, Truncation::TopK(100))), (std::vector<bool>{1, 1, 1, 1, 1, 0, 1}));
  EXPECT_EQ(kept(nucleus(z, Truncation::None())), (std::vector<bool>{1, 1, 1, 1, 1, 0, 1}));
  // Against a sort on random rows with ties.
  std::mt19937_64 rng(5);
  for (int trial = 0; trial < 300; ++trial) {
    const VectorX<T> r = random_logits<T>(rng, 1 + trial % 50, trial % 3);
    const Index k = 1 + trial % 7;
    std::vector<T> sorted(r.data(), r.data() + r.size());
    std::sort(sorted.begin(), sorted.end(), std::greater<T>());
    const T kth = sorted[std::size_t(std::min<Index>(k, r.size()) - 1)];
    const Nucleus<T> nu = nucleus(r, Truncation::TopK(k));
    for (Index t = 0; t < r.size(); ++t)
      EXPECT_EQ(nu.contains(r[t], t), r[t] >= kth && r[t] > -std::numeric_limits<T>::infinity());
  }
}

TYPED_TEST(Truncate, PartialEntropyIsFiniteWithMaskedEntriesAndMatchesTheNucleusSum) {
  using T = TypeParam;
  std::mt19937_64 rng(9);
  for (int trial = 0; trial < 200; ++trial) {
    const VectorX<T> l = probspace::log_softmax(random_logits<T>(rng, 2 + trial % 100, trial % 3));
    // Rows sum to one in probability before truncation (§13.6).
    const double eps = std::is_same_v<T, float> ? 1e-5 : 1e-12;
    EXPECT_NEAR(l.template cast<double>().array().exp().sum(), 1.0, eps);
    VectorX<T> cut = l;
    const Nucleus<T> nu = truncate(cut, Truncation::TopP(0.8));
    double direct = 0;
    for (Index t = 0; t < l.size(); ++t)
      if (nu.contains(l[t], t)) direct -= std::exp(double(l[t])) * double(l[t]);
    const double h = partial_entropy(cut);
    EXPECT_TRUE(std::isfinite(h));
    EXPECT_NEAR(h, direct, 1e-12);
    // Without truncation it is the Shannon entropy.
    EXPECT_NEAR(partial_entropy(l), double(probspace::entropy_of_logits(l)), eps);
  }
  // clip(l, −100, 0): a kept entry below −100 contributes e^l·100, not e^l·(−l).
  const VectorX<double> deep = dvec({0.0, -150.0, -std::numeric_limits<double>::infinity()});
  EXPECT_EQ(partial_entropy(deep), -std::exp(-150.0) * -100.0);
}

}  // namespace
}  // namespace probspace::nbce::testing
