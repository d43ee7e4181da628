#pragma once
// General smooth objectives on Δ through Ceres (DESIGN.md): a templated functor
// `template <class T> T operator()(const T* p) const` is differentiated by Ceres's autodiff; L-BFGS
// (ceres::GradientProblemSolver) minimises over the softmax parametrisation p = softmax(θ), whose
// chain rule is ∂F/∂θ = p ⊙ (g − p·g) (spec probability.md §5); the answer is polished by projected
// gradient (which reaches the boundary of Δ, where θ would have to go to −∞) and certified by the FW gap.
#include <probspace/core/error.hpp>
#include <probspace/solvers/objective.hpp>
#include <probspace/solvers/options.hpp>

#include <ceres/dynamic_autodiff_cost_function.h>

#include <functional>
#include <limits>
#include <memory>
#include <utility>

namespace probspace::solvers {

/// Derivatives per autodiff pass: a gradient costs ⌈n / kAutoDiffStride⌉ functor evaluations on Jets.
inline constexpr int kAutoDiffStride = 8;

/// A DifferentiableObjective on ℝⁿ from a templated functor, differentiated by Ceres's forward-mode
/// autodiff (ceres::DynamicAutoDiffCostFunction: the dimension is a run-time value).
template <class Functor> class AutoDiffObjective {
public:
  AutoDiffObjective(Functor functor, Index n)
      : functor_(std::make_unique<const Functor>(std::move(functor))), n_(n),
        cost_(std::make_unique<Cost>(new Residual{functor_.get()})) {
    probspace::detail::require(n > 0 && n <= std::numeric_limits<int>::max(), "AutoDiffObjective", "n",
                               "must be in [1, INT_MAX], got ", n);
    cost_->AddParameterBlock(static_cast<int>(n));
    cost_->SetNumResiduals(1);
  }

  Index size() const { return n_; }

  double value(const VectorX<double>& p) const {
    check_size(p);
    return (*functor_)(p.data());
  }

  double value_and_gradient(const VectorX<double>& p, VectorX<double>& g) const {
    check_size(p);
    g.resize(n_);
    const double* parameters[] = {p.data()};
    double* jacobians[] = {g.data()};
    double value = 0;
    if (!cost_->Evaluate(parameters, &value, jacobians)) g.setConstant(std::numeric_limits<double>::quiet_NaN());
    return value;
  }

private:
  struct Residual {
    const Functor* functor;
    template <class T> bool operator()(T const* const* parameters, T* residual) const {
      residual[0] = (*functor)(parameters[0]);
      return true;
    }
  };
  using Cost = ceres::DynamicAutoDiffCostFunction<Residual, kAutoDiffStride>;

  void check_size(const VectorX<double>& p) const {
    probspace::detail::require(p.size() == n_, "AutoDiffObjective", "p", "has size ", p.size(), ", expected ", n_);
  }

  std::unique_ptr<const Functor> functor_;  // on the heap: Residual points at it across moves
  Index n_;
  std::unique_ptr<Cost> cost_;
};

namespace detail {
using ValueAndGradient = std::function<double(const VectorX<double>&, VectorX<double>&)>;
Summary lbfgs_softmax(const ValueAndGradient& f, VectorX<double>& p, const Options& options);
}  // namespace detail

/// Minimises F over Δ from a strictly positive p ∈ Δ (overwritten with the answer). `objective` is a
/// DifferentiableObjective, or a functor `template <class T> T operator()(const T* p) const` of
/// dimension p.size() (differentiated by AutoDiffObjective). Stage 1: L-BFGS on θ (p = softmax(θ)),
/// at most Options::max_iterations iterations, stopping when the FW gap of softmax(θ) meets the
/// tolerance (every iteration is recorded with its FW gap; callbacks run on it). Stage 2, unless
/// stage 1 converged or was stopped: projected_gradient with backtracking from stage 1's best point,
/// at most max_iterations more. Iterations, history and restarts cover both stages; the message names
/// Ceres's termination. Options::step_rule must be Default.
template <class Objective>
Summary ceres_minimize(const Objective& objective, VectorX<double>& p, const Options& options = {}) {
  if constexpr (DifferentiableObjective<Objective>) {
    return detail::lbfgs_softmax(
        [&objective](const VectorX<double>& q, VectorX<double>& g) { return value_and_gradient(objective, q, g); }, p,
        options);
  } else {
    const AutoDiffObjective<Objective> autodiff(objective, p.size());
    return ceres_minimize(autodiff, p, options);
  }
}

}  // namespace probspace::solvers
