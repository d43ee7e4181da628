#pragma once
// Reading and writing NumPy .npy files (format versions 1–3, little-endian, C order), for logits dumped
// from an LLM: float32, float64, and bfloat16 stored as uint16 ('<u2'). Malformed, truncated or
// unsupported files throw InvalidArgument naming the file.
#include <probspace/core/types.hpp>

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

namespace probspace::io {

enum class DType { Float32, Float64, BFloat16, Int64 };

/// Bytes per element of a dtype.
std::size_t element_size(DType dtype);

struct NpyHeader {
  DType dtype = DType::Float32;
  std::vector<Index> shape;
  std::size_t data_offset = 0;  ///< bytes before the first element

  Index elements() const;
};

/// Parses a .npy header from the first bytes of a file (`source` names it in errors). Checks the
/// magic, version, dict keys, dtype, C order and shape; the caller checks the data length.
NpyHeader parse_npy_header(const std::string& bytes, const std::string& source);

/// A .npy file opened for reading in slices, converted to T (bfloat16 widened exactly).
class NpyReader {
public:
  explicit NpyReader(const std::string& path);
  const NpyHeader& header() const { return header_; }
  /// Reads `count` elements starting at element `first` into out.
  template <Real T> void read(Index first, Index count, T* out);

private:
  std::string path_;
  std::ifstream in_;
  NpyHeader header_;
  std::vector<char> buffer_;
};

/// A .npy file written in slices: the header (shape known up front), then exactly elements() values.
class NpyWriter {
public:
  NpyWriter(const std::string& path, DType dtype, std::vector<Index> shape);
  template <class T> void write(const T* data, Index count);  ///< T must match the dtype
  /// Throws unless exactly the declared number of elements was written.
  void close();

private:
  std::string path_;
  std::ofstream out_;
  NpyHeader header_;
  Index written_ = 0;
};

/// bfloat16 bits → float (the upper half of a float32).
float bfloat16_to_float(std::uint16_t bits);

}  // namespace probspace::io
