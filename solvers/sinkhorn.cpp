// Sinkhorn, log domain and kernel scaling (spec probability.md §7.4; rollback: embedding.md §8.3).
//
// One sweep reads C once: row i gives E_ij = exp(f_i/ε + g_j/ε − C_ij/ε) (its sum is the row
// marginal r_i of the current iterate, hence the stopping test for free), f_i ← f_i + ε log(a_i/r_i),
// and E_ij·a_i/r_i — the new plan's row — is added to per-thread column sums c_j; then
// g_j ← g_j + ε log(b_j/c_j). The current potentials are the LSE shift; a row or column whose sum
// leaves [tiny, max] is redone with the max shift of the textbook LSE, so nothing underflows.
#include <probspace/core/checks.hpp>
#include <probspace/solvers/sinkhorn.hpp>

#include "fast_exp.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace probspace::solvers::detail {
namespace {

constexpr char kFn[] = "sinkhorn";
/// Threads only from 2¹⁹ entries (a sweep of ≥ ~0.2 ms): Sinkhorn enters a parallel region every
/// iteration, and below that the fork/join (and, on shared cores, spinning waits) cost more.
constexpr Index kParallelElements = Index(1) << 19;

/// Smallest trusted sum of positive terms: a term that underflowed weighs < m²·min_normal/tiny.
template <Real T> constexpr T tiny() { return std::is_same_v<T, double> ? T(1e-200) : T(1e-20); }
template <Real T> bool trusted(T s) { return s >= tiny<T>() && s <= std::numeric_limits<T>::max(); }

template <Real T> using Array = Eigen::Array<T, Eigen::Dynamic, 1>;
template <Real T> using Row = Eigen::Map<const Eigen::Array<T, 1, Eigen::Dynamic>>;

/// Per-thread scratch: one row buffer and one column accumulator each.
template <Real T> struct Workspace {
  RowMatrixX<T> buffer, columns;
  explicit Workspace(Index m) : buffer(omp_get_max_threads(), m), columns(omp_get_max_threads(), m) {}
};

/// Column sums Σ_i exp(fs_i − C_ij/ε) with the per-column max shift; returns their logs
/// (the fallback of the g-update, by column strips so that each thread owns its columns).
template <Real T> Array<T> column_lse(const ConstRowMatrixRef<T>& cost, const Array<T>& fs, T inv_eps) {
  const Index n = cost.rows(), m = cost.cols();
  Array<T> lse(m);
#pragma omp parallel if (n * m >= kParallelElements)
  {
    const Index threads = omp_get_num_threads(), t = omp_get_thread_num();
    const Index j0 = m * t / threads, len = m * (t + 1) / threads - j0;
    Array<T> max = Array<T>::Constant(len, -std::numeric_limits<T>::infinity()), sum = Array<T>::Zero(len);
    for (Index i = 0; i < n; ++i)
      max = max.max(fs[i] - Row<T>(cost.row(i).data() + j0, len).transpose() * inv_eps);
    for (Index i = 0; i < n; ++i)
      sum += (fs[i] - Row<T>(cost.row(i).data() + j0, len).transpose() * inv_eps - max).exp();
    lse.segment(j0, len) = max + sum.log();
  }
  return lse;
}

/// One log-domain sweep on scaled potentials fs = f/ε, gs = g/ε. Returns ‖r − a‖₁ of the iterate
/// it started from (columns exact after any previous sweep).
template <Real T>
double log_sweep(const ConstRowMatrixRef<T>& cost, const ConstVectorRef<T>& a, const Array<T>& log_a, const Array<T>& log_b, T inv_eps,
                 Array<T>& fs, Array<T>& gs, Workspace<T>& ws) {
  const Index n = cost.rows(), m = cost.cols();
  double error = 0;
  int threads_used = 1;
#pragma omp parallel if (n * m >= kParallelElements) reduction(+ : error)
  {
    const int t = omp_get_thread_num();
#pragma omp single
    threads_used = omp_get_num_threads();
    auto buffer = ws.buffer.row(t).array();
    auto columns = ws.columns.row(t).array();
    columns.setZero();
#pragma omp for schedule(static)
    for (Index i = 0; i < n; ++i) {
      const T* c = cost.row(i).data();
      const T* g = gs.data();
      T* e = buffer.data();
      T sum = 0, shift = -fs[i];
      const T fi = fs[i];
#pragma omp simd reduction(+ : sum)
      for (Index j = 0; j < m; ++j) {
        e[j] = fast_exp(g[j] - c[j] * inv_eps + fi);
        sum += e[j];
      }
      if (!trusted(sum)) {  // max-shifted LSE for this row
        const Row<T> row(c, m);
        buffer = gs.transpose() - row * inv_eps;
        shift = buffer.maxCoeff();
        sum = 0;
#pragma omp simd reduction(+ : sum)
        for (Index j = 0; j < m; ++j) {
          e[j] = fast_exp(e[j] - shift);
          sum += e[j];
        }
      }
      const T lse = shift + std::log(sum);  // LSE_j(gs_j − C_ij/ε)
      error += std::abs(std::exp(double(fs[i]) + double(lse)) - double(a[i]));
      fs[i] = log_a[i] - lse;
      columns += buffer * (a[i] / sum);  // row i of the plan after the f-update
    }
  }
  Array<T> col = ws.columns.topRows(threads_used).colwise().sum().transpose().array();
  bool all_trusted = true;
  for (Index j = 0; j < m; ++j) all_trusted &= trusted(col[j]);
  if (all_trusted) {
    gs += log_b - col.log();
  } else {
    gs = log_b - column_lse<T>(cost, fs, inv_eps);
  }
  return error;
}

/// One kernel-scaling sweep: u_i ← a_i/(Kv)_i with Kᵀu accumulated in the same pass, then
/// v ← b ⊘ Kᵀu. Returns false (iterate unusable) on a zero or non-finite scaling.
template <Real T>
bool scaling_sweep(const RowMatrixX<T>& kernel, const ConstVectorRef<T>& a, const ConstVectorRef<T>& b,
                   Array<T>& u, Array<T>& v, Workspace<T>& ws, double& error) {
  const Index n = kernel.rows(), m = kernel.cols();
  double err = 0;
  int bad = 0, threads_used = 1;
#pragma omp parallel if (n * m >= kParallelElements) reduction(+ : err) reduction(| : bad)
  {
    const int t = omp_get_thread_num();
#pragma omp single
    threads_used = omp_get_num_threads();
    auto columns = ws.columns.row(t);
    columns.setZero();
#pragma omp for schedule(static)
    for (Index i = 0; i < n; ++i) {
      const T kv = kernel.row(i).dot(v.matrix());
      err += std::abs(double(u[i]) * double(kv) - double(a[i]));
      u[i] = a[i] / kv;
      bad |= int(!(kv > 0) || !std::isfinite(u[i]));
      columns.noalias() += u[i] * kernel.row(i);
    }
  }
  const Array<T> col = ws.columns.topRows(threads_used).colwise().sum().transpose().array();
  v = b.array() / col;
  for (Index j = 0; j < m; ++j) bad |= int(!(col[j] > 0) || !std::isfinite(v[j]));
  error = err;
  return !bad;
}

/// The certificates of potentials (f, g), accumulated in double (spec §7.4): marginal error, ⟨P,C⟩,
/// the dual, and the primal of P rounded onto the marginals (Altschuler, Weed & Rigollet 2017,
/// Alg. 2: scale rows down to a, columns down to b, add the rank-one remainder e_r e_cᵀ/‖e_r‖₁) —
/// a feasible plan, so primal ≥ OT_ε ≥ dual.
struct Certificate {
  double marginal_error, transport_cost, dual, primal;
};

template <Real T>
Certificate certify(const ConstVectorRef<T>& a, const ConstVectorRef<T>& b, const ConstRowMatrixRef<T>& cost,
                    const Array<T>& f, const Array<T>& g, double eps) {
  const Index n = cost.rows(), m = cost.cols();
  const Eigen::ArrayXd fd = f.template cast<double>(), gd = g.template cast<double>();
  const auto plan_row = [&](Index i) {
    return ((fd[i] + gd.transpose() - cost.row(i).array().template cast<double>()) / eps).exp();
  };
  const bool parallel = n * m >= kParallelElements;
  // Pass 1: marginals, cost, mass.
  Eigen::ArrayXd rows(n);
  Eigen::ArrayXd cols = Eigen::ArrayXd::Zero(m);
  double transport = 0, mass = 0;
#pragma omp parallel if (parallel) reduction(+ : transport, mass)
  {
    Eigen::ArrayXd local = Eigen::ArrayXd::Zero(m);
#pragma omp for schedule(static)
    for (Index i = 0; i < n; ++i) {
      const Eigen::Array<double, 1, Eigen::Dynamic> p = plan_row(i);
      rows[i] = p.sum();
      mass += rows[i];
      transport += (p * cost.row(i).array().template cast<double>()).sum();
      local += p.transpose();
    }
#pragma omp critical(probspace_sinkhorn_certify)
    cols += local;
  }
  const Eigen::ArrayXd ad = a.template cast<double>().array(), bd = b.template cast<double>().array();
  const double error = (rows - ad).abs().sum() + (cols - bd).abs().sum();
  // Pass 2: column sums of diag(x)P, x = min(1, a/r).
  const Eigen::ArrayXd x = (rows > 0).select((ad / rows).min(1.0), 1.0);
  Eigen::ArrayXd cols_x = Eigen::ArrayXd::Zero(m);
#pragma omp parallel if (parallel)
  {
    Eigen::ArrayXd local = Eigen::ArrayXd::Zero(m);
#pragma omp for schedule(static)
    for (Index i = 0; i < n; ++i) local += x[i] * plan_row(i).transpose();
#pragma omp critical(probspace_sinkhorn_certify)
    cols_x += local;
  }
  const Eigen::ArrayXd y = (cols_x > 0).select((bd / cols_x).min(1.0), 1.0);
  const Eigen::ArrayXd e_col = (bd - y * cols_x).max(0.0);
  const double e_total = ad.sum() - (y * cols_x).sum();
  // Pass 3: the rounded plan's primal value.
  double primal = 0;
#pragma omp parallel for schedule(static) if (parallel) reduction(+ : primal)
  for (Index i = 0; i < n; ++i) {
    const Eigen::Array<double, 1, Eigen::Dynamic> p = x[i] * plan_row(i) * y.transpose();
    const double e_row = std::max(0.0, ad[i] - p.sum());
    const Eigen::Array<double, 1, Eigen::Dynamic> rounded =
        e_total > 0 ? Eigen::Array<double, 1, Eigen::Dynamic>(p + e_row * e_col.transpose() / e_total) : p;
    primal += (rounded * cost.row(i).array().template cast<double>()).sum() +
              eps * (rounded > 0).select(rounded * (rounded.log() - 1), 0.0).sum();
  }
  const double dual = (fd * ad).sum() + (gd * bd).sum() - eps * mass;
  return {error, transport, dual, primal};
}

template <Real T>
void check_inputs(const ConstVectorRef<T>& a, const ConstVectorRef<T>& b, const ConstRowMatrixRef<T>& cost, T epsilon,
                  const SinkhornOptions& options, const VectorX<T>* f0, const VectorX<T>* g0) {
  using probspace::detail::require;
  probspace::detail::check_distribution(a.data(), a.size(), kFn, "a");
  probspace::detail::check_distribution(b.data(), b.size(), kFn, "b");
  require((a.array() > 0).all(), kFn, "a", "must be > 0 everywhere (log a enters the potentials)");
  require((b.array() > 0).all(), kFn, "b", "must be > 0 everywhere (log b enters the potentials)");
  require(cost.rows() == a.size() && cost.cols() == b.size(), kFn, "cost", "has shape ", cost.rows(), "x",
          cost.cols(), ", expected ", a.size(), "x", b.size());
  require(cost.allFinite(), kFn, "cost", "must be finite (no NaN or inf)");
  probspace::detail::require_positive(epsilon, kFn, "epsilon");
  require(options.max_iterations >= 0, kFn, "options.max_iterations", "must be >= 0, got ", options.max_iterations);
  require(options.tolerance >= 0, kFn, "options.tolerance", "must be >= 0, got ", options.tolerance);
  require(options.step_rule == StepRule::Default, kFn, "options.step_rule", "must be Default (Sinkhorn has no step)");
  require(options.check_every >= 1, kFn, "options.check_every", "must be >= 1, got ", options.check_every);
  require(options.epsilon_start == 0 || (std::isfinite(options.epsilon_start) && options.epsilon_start > 0), kFn,
          "options.epsilon_start", "must be 0 (off) or finite and > 0, got ", options.epsilon_start);
  require(options.stage_tolerance >= 0, kFn, "options.stage_tolerance", "must be >= 0, got ", options.stage_tolerance);
  require(options.epsilon_factor > 0 && options.epsilon_factor < 1, kFn, "options.epsilon_factor",
          "must lie in (0, 1), got ", options.epsilon_factor);
  if (f0) {
    require(f0->size() == a.size() && f0->allFinite(), kFn, "f0", "must be finite with size ", a.size());
    require(g0->size() == b.size() && g0->allFinite(), kFn, "g0", "must be finite with size ", b.size());
  }
}

/// ε, then the annealing stages above it: ε_start, factor·ε_start, …, ε.
std::vector<double> epsilon_stages(double epsilon, double start, double factor) {
  std::vector<double> stages;
  for (double e = start; e > epsilon; e *= factor) stages.push_back(e);
  stages.push_back(epsilon);
  return stages;
}

}  // namespace

template <Real T>
SinkhornResult<T> sinkhorn(const ConstVectorRef<T>& a, const ConstVectorRef<T>& b, const ConstRowMatrixRef<T>& cost,
                           T epsilon, const SinkhornOptions& options, const VectorX<T>* f0, const VectorX<T>* g0) {
  check_inputs<T>(a, b, cost, epsilon, options, f0, g0);
  const Index n = a.size(), m = b.size();
  const Array<T> log_a = a.array().log(), log_b = b.array().log();
  Workspace<T> ws(m);
  // Authoritative potentials between stages; the sweeps work on scaled copies.
  Array<T> f = f0 ? Array<T>(*f0) : Array<T>::Zero(n), g = g0 ? Array<T>(*g0) : Array<T>::Zero(m);
  SinkhornResult<T> result;
  Summary& summary = result.summary;
  summary.termination = Termination::MaxIterations;
  SinkhornMethod method = options.method;
  const std::vector<double> stages = epsilon_stages(double(epsilon), options.epsilon_start, options.epsilon_factor);
  int iteration = 0;
  bool done = false;
  for (std::size_t s = 0; s < stages.size() && !done; ++s) {
    const bool final_stage = s + 1 == stages.size();
    const T eps = final_stage ? epsilon : T(stages[s]), inv_eps = T(1) / eps;
    Array<T> fs = f * inv_eps, gs = g * inv_eps;  // log domain: f/ε, g/ε; scaling: u = e^{f/ε}, v = e^{g/ε}
    RowMatrixX<T> kernel;
    if (method == SinkhornMethod::Scaling) {
      // std::exp, not Eigen's vectorised exp, which clamps at e^{-709} instead of underflowing to 0;
      // subnormals are flushed to 0 (they would slow every product by ~100x and carry no digits).
      kernel = (-cost * inv_eps).unaryExpr([](T x) {
        const T k = std::exp(x);
        return k < std::numeric_limits<T>::min() ? T(0) : k;
      });
      fs = fs.exp(), gs = gs.exp();
      if (!((fs > 0).all() && fs.allFinite() && (gs > 0).all() && gs.allFinite())) {
        summary.restarts.push_back({iteration, "e^{f/eps} or e^{g/eps} out of range; going on in the log domain", double(eps)});
        method = SinkhornMethod::Log;
        fs = f * inv_eps, gs = g * inv_eps;
      }
    }
    const auto potentials = [&](const Array<T>& x) -> Array<T> {
      return method == SinkhornMethod::Log ? Array<T>(x * eps) : Array<T>(x.log() * eps);
    };
    Array<T> fs_prev, gs_prev;
    while (!done) {
      if (iteration >= options.max_iterations) {
        done = true;
        break;
      }
      fs_prev = fs, gs_prev = gs;
      double error = 0;
      if (method == SinkhornMethod::Log) {
        error = log_sweep<T>(cost, a, log_a, log_b, inv_eps, fs, gs, ws);
      } else if (!scaling_sweep<T>(kernel, a, b, fs, gs, ws, error)) {
        // Spec embedding.md §8.3: roll back to the last good scalings, go on in the log domain.
        summary.restarts.push_back({iteration, "kernel scaling underflowed (zero or non-finite u, v); rolled back, "
                                               "going on in the log domain", double(eps)});
        method = SinkhornMethod::Log;
        fs = fs_prev.log(), gs = gs_prev.log();
        continue;
      }
      ++iteration;
      if (iteration % options.check_every != 0) continue;
      f = potentials(fs), g = potentials(gs);
      const double dual = (f.template cast<double>() * a.array().template cast<double>()).sum() +
                          (g.template cast<double>() * b.array().template cast<double>()).sum() -
                          double(eps) * double(b.sum());  // Σ P = Σ b after a g-update
      const IterationRecord record{iteration, dual, error, double(eps)};
      if (options.record_history) summary.history.push_back(record);
      bool stop = false;
      for (const auto& callback : options.callbacks) stop |= callback(record) == CallbackResult::Stop;
      if (stop) {
        summary.termination = Termination::UserStop;
        done = true;
      } else if (!final_stage) {
        if (error <= std::max(options.tolerance, options.stage_tolerance)) break;
      } else if (error <= options.tolerance) {
        // The sweep's error is that of the iterate it started from; confirm on the new one.
        if (certify<T>(a, b, cost, f, g, double(eps)).marginal_error <= options.tolerance) {
          summary.termination = Termination::Converged;
          done = true;
        }
      }
    }
    f = potentials(fs), g = potentials(gs);
  }
  const Certificate cert = certify<T>(a, b, cost, f, g, double(epsilon));
  summary.iterations = iteration;
  summary.objective = cert.primal;
  summary.kkt_residual = cert.marginal_error;
  summary.duality_gap = cert.primal - cert.dual;
  if (method != options.method) summary.message = "finished in the log domain";
  result.f = f.matrix(), result.g = g.matrix();
  result.epsilon = double(epsilon);
  result.transport_cost = cert.transport_cost;
  result.dual = cert.dual;
  result.primal = cert.primal;
  return result;
}

template <Real T>
RowMatrixX<T> transport_plan(const ConstRowMatrixRef<T>& cost, const ConstVectorRef<T>& f, const ConstVectorRef<T>& g,
                             T epsilon) {
  constexpr char fn[] = "transport_plan";
  probspace::detail::require(cost.allFinite(), fn, "cost", "must be finite (no NaN or inf)");
  probspace::detail::require(f.size() == cost.rows() && f.allFinite(), fn, "f", "must be finite with size ",
                             cost.rows());
  probspace::detail::require(g.size() == cost.cols() && g.allFinite(), fn, "g", "must be finite with size ",
                             cost.cols());
  probspace::detail::require_positive(epsilon, fn, "epsilon");
  RowMatrixX<T> plan(cost.rows(), cost.cols());
  for (Index i = 0; i < cost.rows(); ++i)
    plan.row(i) = ((f[i] + g.transpose().array() - cost.row(i).array()) / epsilon).exp();
  return plan;
}

#define PROBSPACE_INSTANTIATE(T)                                                                                    \
  template SinkhornResult<T> sinkhorn<T>(const ConstVectorRef<T>&, const ConstVectorRef<T>&,                       \
                                         const ConstRowMatrixRef<T>&, T, const SinkhornOptions&, const VectorX<T>*, \
                                         const VectorX<T>*);                                                       \
  template RowMatrixX<T> transport_plan<T>(const ConstRowMatrixRef<T>&, const ConstVectorRef<T>&,                  \
                                           const ConstVectorRef<T>&, T);
PROBSPACE_INSTANTIATE(float)
PROBSPACE_INSTANTIATE(double)
#undef PROBSPACE_INSTANTIATE

}  // namespace probspace::solvers::detail
