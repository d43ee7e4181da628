#pragma once
// KKT certificate of a point p ∈ Δ_a for min F over Δ_a, given g = ∇F(p) (spec §2, §2.1).
#include <probspace/simplex/projection.hpp>

namespace probspace::simplex {

template <Real T> struct KktCertificate {
  T feasibility{};          ///< |Σp − a| + Σ max(0, −p_i)
  T fw_gap{};               ///< G = p·g − a·min g = max_{q∈Δ_a}(p − q)·g ≥ 0; convex F: F(p) − F* ≤ G
  T stationarity{};         ///< spread of g over the support: max_S g − min_S g (Form A: 0)
  T complementarity{};      ///< how far g off the support falls below the support: max(0, min_S g − min_{∉S} g)
  T max_complementarity{};  ///< max_i r_i, r_i = p_i (g_i − min g) ≥ 0, Σ r_i = G (locates violations)
  T natural_residual{};     ///< ‖p − Π_{Δ_a}(p − g)‖₂ (meaningful for non-convex F too)
  T lambda{};               ///< multiplier λ = −min g; μ = g − min g ≥ 0
  Index support_size{};     ///< |S|, S = {i : p_i > support_threshold}

  /// The default `kkt_residual` (spec §2.1): the Frank–Wolfe gap.
  T kkt_residual() const { return fw_gap; }
};

namespace detail {
template <Real T>
KktCertificate<T> kkt_certificate(const ConstVectorRef<T>& p, const ConstVectorRef<T>& g, T radius,
                                  T support_threshold);
}

/// Certificate of p for min_{p∈Δ_a} F(p) given g = ∇F(p); coordinates with p_i ≤ support_threshold
/// count as off the support. p must be finite (it need not be feasible: feasibility says how far).
template <class D1, class D2>
KktCertificate<scalar_of<D1>> kkt_certificate(const Eigen::MatrixBase<D1>& p, const Eigen::MatrixBase<D2>& g,
                                              scalar_of<D1> radius = 1, scalar_of<D1> support_threshold = 0) {
  return detail::kkt_certificate<scalar_of<D1>>(p, g, radius, support_threshold);
}

}  // namespace probspace::simplex
