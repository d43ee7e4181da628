#pragma once
// Error types and argument checks used at every public boundary (DESIGN.md, "Bad input").
#include <cmath>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace probspace {

/// Thrown when an argument is out of its domain; the message names the argument and its value.
class InvalidArgument : public std::invalid_argument {
public:
  using std::invalid_argument::invalid_argument;
};

/// Thrown when a CUDA call fails; the message carries the CUDA error string.
class DeviceError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

namespace detail {

template <class... Parts>
[[noreturn]] void throw_invalid(std::string_view function, std::string_view argument,
                                const Parts&... parts) {
  std::ostringstream os;
  os.precision(17);
  os << function << ": argument '" << argument << "' ";
  (os << ... << parts);
  throw InvalidArgument(os.str());
}

/// Requires `condition`; otherwise throws InvalidArgument naming `argument`.
template <class... Parts>
void require(bool condition, std::string_view function, std::string_view argument,
             const Parts&... parts) {
  if (!condition) throw_invalid(function, argument, parts...);
}

/// Requires a finite scalar strictly inside (lo, +inf) — radii, temperatures, α − 1.
template <class T>
void require_positive(T value, std::string_view function, std::string_view argument) {
  require(std::isfinite(value) && value > T(0), function, argument,
          "must be finite and > 0, got ", value);
}

}  // namespace detail
}  // namespace probspace
