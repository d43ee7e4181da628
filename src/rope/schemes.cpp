// Relative-position schemes (spec §5, §6).
#include <probspace/core/error.hpp>
#include <probspace/rope/schemes.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

namespace probspace::rope {

using probspace::detail::require;

std::string_view to_string(SchemeKind kind) {
  switch (kind) {
    case SchemeKind::Rope: return "RoPE";
    case SchemeKind::Linear: return "PI";
    case SchemeKind::ReRope: return "ReRoPE";
    case SchemeKind::Leaky: return "Leaky ReRoPE";
    case SchemeKind::InverseLeaky: return "inverse Leaky ReRoPE";
  }
  return "unknown";
}

PositionScheme PositionScheme::rope() { return {}; }

PositionScheme PositionScheme::linear(double k) {
  PositionScheme s{SchemeKind::Linear, 0, k};
  s.validate("PositionScheme::linear");
  return s;
}

PositionScheme PositionScheme::rerope(Index window) {
  PositionScheme s{SchemeKind::ReRope, window, 1};
  s.validate("PositionScheme::rerope");
  return s;
}

PositionScheme PositionScheme::leaky(Index window, double k) {
  PositionScheme s{SchemeKind::Leaky, window, k};
  s.validate("PositionScheme::leaky");
  return s;
}

PositionScheme PositionScheme::inverse_leaky(Index window, double k) {
  PositionScheme s{SchemeKind::InverseLeaky, window, k};
  s.validate("PositionScheme::inverse_leaky");
  return s;
}

void PositionScheme::validate(std::string_view fn) const {
  switch (kind) {
    case SchemeKind::Rope: return;
    case SchemeKind::Linear:
      require(std::isfinite(k) && k > 0, fn, "scheme.k", "must be finite and > 0, got ", k);
      return;
    case SchemeKind::ReRope:
    case SchemeKind::Leaky:
    case SchemeKind::InverseLeaky:
      require(window >= 1, fn, "scheme.window", "must be >= 1, got ", window);
      if (kind == SchemeKind::Leaky)
        require(std::isfinite(k) && k > 1, fn, "scheme.k", "must be finite and > 1 for Leaky ReRoPE, got ", k);
      if (kind == SchemeKind::InverseLeaky)
        require(std::isfinite(k) && k > 0 && k < 1, fn, "scheme.k",
                "must be in (0, 1) for inverse Leaky ReRoPE, got ", k);
      return;
  }
  probspace::detail::throw_invalid(fn, "scheme.kind", "is not a SchemeKind: ", static_cast<int>(kind));
}

std::string PositionScheme::name() const {
  std::ostringstream os;
  os << to_string(kind);
  if (kind == SchemeKind::Linear) os << " k=" << k;
  if (kind == SchemeKind::ReRope) os << " w=" << window;
  if (kind == SchemeKind::Leaky || kind == SchemeKind::InverseLeaky) os << " w=" << window << " k=" << k;
  return os.str();
}

double PositionScheme::relative_position(double r) const {
  validate("relative_position");
  require(std::isfinite(r) && r >= 0, "relative_position", "r", "must be finite and >= 0 (causal), got ", r);
  const double w = static_cast<double>(window);
  switch (kind) {
    case SchemeKind::Rope: return r;
    case SchemeKind::Linear: return r / k;
    case SchemeKind::ReRope: return std::min(r, w);
    case SchemeKind::Leaky:
    case SchemeKind::InverseLeaky: return r < w ? r : w + (r - w) / k;
  }
  return r;
}

double PositionScheme::max_position(Index length) const {
  require(length >= 1, "max_position", "length", "must be >= 1, got ", length);
  return relative_position(static_cast<double>(length - 1));
}

RowMatrixX<double> PositionScheme::relative_matrix(Index length) const {
  require(length >= 1, "relative_matrix", "length", "must be >= 1, got ", length);
  validate("relative_matrix");
  RowMatrixX<double> m = RowMatrixX<double>::Constant(length, length, std::numeric_limits<double>::quiet_NaN());
  for (Index i = 0; i < length; ++i)
    for (Index j = 0; j <= i; ++j) m(i, j) = relative_position(static_cast<double>(i - j));
  return m;
}

bool PositionScheme::two_pass() const {
  return kind == SchemeKind::ReRope || kind == SchemeKind::Leaky || kind == SchemeKind::InverseLeaky;
}

double PositionScheme::pass1_position(Index i) const {
  const double p = static_cast<double>(i);
  return kind == SchemeKind::Linear ? p / k : p;
}

double PositionScheme::pass2_query_position(Index i) const {
  // name() only on failure: the CUDA prefill asks for 2·L positions per call
  if (!two_pass()) probspace::detail::throw_invalid("pass2_query_position", "scheme", "has no second pass: ", name());
  const double w = static_cast<double>(window);
  return kind == SchemeKind::ReRope ? w : (static_cast<double>(i) - w) / k + w;
}

double PositionScheme::pass2_key_position(Index j) const {
  if (!two_pass()) probspace::detail::throw_invalid("pass2_key_position", "scheme", "has no second pass: ", name());
  return kind == SchemeKind::ReRope ? 0.0 : static_cast<double>(j) / k;
}

double PositionScheme::exponent(Index i, Index j) const {
  validate("exponent");
  require(j <= i, "exponent", "j", "must be <= i = ", i, " (causal), got ", j);
  const double delta = static_cast<double>(j - i), w = static_cast<double>(window);
  switch (kind) {
    case SchemeKind::Rope: return delta;
    case SchemeKind::Linear: return delta / k;
    case SchemeKind::ReRope: return std::max(delta, -w);
    case SchemeKind::Leaky: return std::max(delta, (delta + w) / k - w);
    case SchemeKind::InverseLeaky: return std::min(delta, (delta + w) / k - w);  // §6.1 pitfall
  }
  return delta;
}

Index PositionScheme::table_length(Index length) const {
  require(length >= 1, "table_length", "length", "must be >= 1, got ", length);
  validate("table_length");
  if (kind == SchemeKind::ReRope) return std::max(length, window + 1);
  if (kind == SchemeKind::Leaky)
    return length + static_cast<Index>(std::ceil(static_cast<double>(window) * (k - 1)));
  return length;
}

PositionScheme inverse_leaky_for_extension(Index train_length, double s) {
  require(train_length >= 4, "inverse_leaky_for_extension", "train_length", "must be >= 4, got ", train_length);
  require(std::isfinite(s) && s > 0.5, "inverse_leaky_for_extension", "s",
          "must be finite and > 1/2 (so that k = 1/(2s) < 1), got ", s);
  return PositionScheme::inverse_leaky(train_length / 4, 1 / (2 * s));
}

bool within_trained_range(const PositionScheme& scheme, Index length, Index train_length) {
  require(train_length >= 1, "within_trained_range", "train_length", "must be >= 1, got ", train_length);
  return scheme.max_position(length) <= static_cast<double>(train_length - 1);
}

}  // namespace probspace::rope
