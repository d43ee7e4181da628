#pragma once
// Entropic optimal transport by Sinkhorn (spec probability.md §7.4): min_{P≥0, P1=a, Pᵀ1=b}
// ⟨P,C⟩ − εH(P), H(P) = −Σ P_ij(log P_ij − 1), in the log domain (potentials f, g) or by kernel
// scaling (u, v with K = e^{−C/ε}), with ε-scaling, warm starts and rollback (spec embedding.md §8.3).
#include <probspace/core/types.hpp>
#include <probspace/solvers/options.hpp>
#include <probspace/solvers/summary.hpp>

namespace probspace::solvers {

enum class SinkhornMethod {
  Log,      ///< f_i ← ε log a_i − ε LSE_j((g_j − C_ij)/ε), and likewise for g: never underflows
  Scaling,  ///< u ← a ⊘ Kv, v ← b ⊘ Kᵀu: faster; on underflow it rolls back and goes on in the log domain
};

/// Options::tolerance bounds the marginal error ‖P1 − a‖₁ + ‖Pᵀ1 − b‖₁ (default 1e-8: use ~1e-5 in
/// float); max_iterations counts Sinkhorn iterations over all ε stages; history has one record
/// per check (objective = the dual D(f, g), kkt_residual = the marginal error, step = ε). Step rule:
/// Default only (there is no step).
struct SinkhornOptions : Options {
  SinkhornMethod method = SinkhornMethod::Log;
  int check_every = 1;          ///< test the marginal error (a by-product of each sweep) every m iterations
  double epsilon_start = 0;     ///< ε-scaling: anneal from epsilon_start down to ε (0: off)
  double epsilon_factor = 0.5;  ///< ε_{k+1} = max(ε, factor·ε_k), factor in (0, 1)
  double stage_tolerance = 1e-4;  ///< a stage above ε ends at marginal error ≤ max(tolerance, this)
};

/// Potentials f = ε log u, g = ε log v (unique up to f + c, g − c) and the certificates.
template <Real T> struct SinkhornResult {
  VectorX<T> f, g;
  double epsilon = 0;
  double transport_cost = 0;  ///< ⟨P, C⟩ for P_ij = exp((f_i + g_j − C_ij)/ε)
  double dual = 0;            ///< D(f, g) = ⟨f,a⟩ + ⟨g,b⟩ − ε Σ_ij P_ij
  double primal = 0;          ///< ⟨P̃,C⟩ − εH(P̃) of P̃ = P rounded onto the marginals: an upper bound
  /// objective = primal, kkt_residual = marginal error of P, duality_gap = primal − dual ≥ 0.
  Summary summary;
};

namespace detail {
template <Real T>
SinkhornResult<T> sinkhorn(const ConstVectorRef<T>& a, const ConstVectorRef<T>& b, const ConstRowMatrixRef<T>& cost,
                           T epsilon, const SinkhornOptions& options, const VectorX<T>* f0, const VectorX<T>* g0);
template <Real T>
RowMatrixX<T> transport_plan(const ConstRowMatrixRef<T>& cost, const ConstVectorRef<T>& f, const ConstVectorRef<T>& g,
                             T epsilon);
}  // namespace detail

/// Solves entropic OT for marginals a (n), b (m), both > 0 and summing to 1, a finite cost C (n×m)
/// and ε > 0, from f = g = 0.
template <class DA, class DB, class DC>
SinkhornResult<scalar_of<DA>> sinkhorn(const Eigen::MatrixBase<DA>& a, const Eigen::MatrixBase<DB>& b,
                                       const Eigen::MatrixBase<DC>& cost, scalar_of<DA> epsilon,
                                       const SinkhornOptions& options = {}) {
  return detail::sinkhorn<scalar_of<DA>>(a, b, cost, epsilon, options, nullptr, nullptr);
}

/// Warm start from given potentials (e.g. the result for a nearby problem or a larger ε).
template <class DA, class DB, class DC>
SinkhornResult<scalar_of<DA>> sinkhorn(const Eigen::MatrixBase<DA>& a, const Eigen::MatrixBase<DB>& b,
                                       const Eigen::MatrixBase<DC>& cost, scalar_of<DA> epsilon,
                                       const VectorX<scalar_of<DA>>& f0, const VectorX<scalar_of<DA>>& g0,
                                       const SinkhornOptions& options = {}) {
  return detail::sinkhorn<scalar_of<DA>>(a, b, cost, epsilon, options, &f0, &g0);
}

/// P_ij = exp((f_i + g_j − C_ij)/ε), the plan of the potentials.
template <class DC, class DF, class DG>
RowMatrixX<scalar_of<DC>> transport_plan(const Eigen::MatrixBase<DC>& cost, const Eigen::MatrixBase<DF>& f,
                                         const Eigen::MatrixBase<DG>& g, scalar_of<DC> epsilon) {
  return detail::transport_plan<scalar_of<DC>>(cost, f, g, epsilon);
}

}  // namespace probspace::solvers
