// .npy format: "\x93NUMPY", major, minor, header length (u16 for v1, u32 for v2/3), then a Python
// dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (a, b), } padded with spaces and '\n'.
#include <probspace/core/error.hpp>
#include <probspace/io/npy.hpp>

#include <bit>
#include <cstdint>
#include <cstring>
#include <limits>
#include <sstream>

namespace probspace::io {
namespace {

using probspace::detail::require;

static_assert(std::endian::native == std::endian::little, ".npy I/O assumes a little-endian host");
constexpr std::string_view kMagic = "\x93NUMPY";

std::string_view dtype_descr(DType d) {
  switch (d) {
  case DType::Float32: return "<f4";
  case DType::Float64: return "<f8";
  case DType::BFloat16: return "<u2";
  case DType::Int64: return "<i8";
  }
  return "";
}

/// The value text after 'key': in the header dict, or throws.
std::string_view dict_value(std::string_view dict, std::string_view key, const std::string& source) {
  std::string quoted(1, '\'');  // built by appends: GCC 12 -Wrestrict misfires on "'" + s + "'"
  quoted.append(key).push_back('\'');
  const auto at = dict.find(quoted);
  require(at != std::string_view::npos, "read_npy", source, "has no '", key, "' in its header");
  auto rest = dict.substr(at + quoted.size());
  const auto colon = rest.find_first_not_of(" ");
  require(colon != std::string_view::npos && rest[colon] == ':', "read_npy", source, "has a malformed header near '",
          key, "'");
  rest = rest.substr(colon + 1);
  return rest.substr(std::min(rest.find_first_not_of(" "), rest.size()));
}

std::vector<Index> parse_shape(std::string_view v, const std::string& source) {
  require(!v.empty() && v[0] == '(', "read_npy", source, "has a malformed 'shape'");
  const auto close = v.find(')');
  require(close != std::string_view::npos, "read_npy", source, "has an unterminated 'shape'");
  std::vector<Index> shape;
  std::string_view body = v.substr(1, close - 1);
  while (true) {
    const auto start = body.find_first_not_of(" ,");
    if (start == std::string_view::npos) break;
    body = body.substr(start);
    Index dim = 0;
    std::size_t i = 0;
    for (; i < body.size() && body[i] >= '0' && body[i] <= '9'; ++i) {
      require(dim <= (std::numeric_limits<Index>::max() - 9) / 10, "read_npy", source, "has a dimension that overflows");
      dim = dim * 10 + (body[i] - '0');
    }
    require(i > 0, "read_npy", source, "has a non-integer dimension in 'shape'");
    shape.push_back(dim);
    body = body.substr(i);
  }
  return shape;
}

/// Element i of a little-endian buffer of U (the host is little-endian, as .npy '<' requires).
template <class U> U load(const char* bytes, Index i) {
  U v;
  std::memcpy(&v, bytes + std::size_t(i) * sizeof(U), sizeof(U));
  return v;
}

}  // namespace

std::size_t element_size(DType dtype) {
  switch (dtype) {
  case DType::Float32: return 4;
  case DType::Float64: return 8;
  case DType::BFloat16: return 2;
  case DType::Int64: return 8;
  }
  return 0;
}

Index NpyHeader::elements() const {
  Index n = 1;
  for (Index d : shape) n *= d;
  return n;
}

float bfloat16_to_float(std::uint16_t bits) { return std::bit_cast<float>(std::uint32_t(bits) << 16); }

NpyHeader parse_npy_header(const std::string& bytes, const std::string& source) {
  require(bytes.size() >= 10 && bytes.compare(0, kMagic.size(), kMagic) == 0, "read_npy", source,
          "is not a .npy file (bad magic)");
  const auto major = std::uint8_t(bytes[6]);
  require(major >= 1 && major <= 3, "read_npy", source, "has unsupported .npy version ", int(major));
  const auto byte = [&](std::size_t i) { return std::size_t(std::uint8_t(bytes[i])); };
  std::size_t header_len, prefix;
  if (major == 1) {
    header_len = byte(8) | byte(9) << 8;
    prefix = 10;
  } else {
    require(bytes.size() >= 12, "read_npy", source, "is truncated inside its header");
    header_len = byte(8) | byte(9) << 8 | byte(10) << 16 | byte(11) << 24;
    prefix = 12;
  }
  require(bytes.size() >= prefix + header_len, "read_npy", source, "is truncated inside its header (",
          bytes.size(), " bytes, header needs ", prefix + header_len, ")");
  const std::string_view dict(bytes.data() + prefix, header_len);
  require(dict.find('{') != std::string_view::npos && dict.find('}') != std::string_view::npos, "read_npy", source,
          "has a header that is not a dict");

  NpyHeader h;
  h.data_offset = prefix + header_len;
  const auto descr = dict_value(dict, "descr", source);
  const auto d = descr.substr(0, std::min<std::size_t>(descr.size(), 5));
  if (d == "'<f4'") h.dtype = DType::Float32;
  else if (d == "'<f8'") h.dtype = DType::Float64;
  else if (d == "'<u2'") h.dtype = DType::BFloat16;
  else if (d == "'<i8'") h.dtype = DType::Int64;
  else probspace::detail::throw_invalid("read_npy", source, "has unsupported dtype ", descr.substr(0, descr.find(',')),
                                        " (supported: '<f4', '<f8', '<u2' as bfloat16, '<i8')");
  const auto order = dict_value(dict, "fortran_order", source);
  require(order.starts_with("False"), "read_npy", source, "must be in C order (fortran_order False)");
  h.shape = parse_shape(dict_value(dict, "shape", source), source);
  // The product must fit: dimensions up to 2^40 elements are more than any logits dump.
  double total = 1;
  for (Index dim : h.shape) total *= double(dim);
  require(total <= double(Index(1) << 40), "read_npy", source, "declares ", total, " elements, too many");
  return h;
}

NpyReader::NpyReader(const std::string& path) : path_(path), in_(path, std::ios::binary) {
  require(in_.good(), "read_npy", path, "cannot be opened");
  std::string head(4096, '\0');
  in_.read(head.data(), std::streamsize(head.size()));
  head.resize(std::size_t(in_.gcount()));
  if (head.size() >= 12 && std::uint8_t(head[6]) >= 2) {  // a v2/v3 header may be longer than 4 KiB
    const std::size_t len = std::size_t(std::uint8_t(head[8])) | std::size_t(std::uint8_t(head[9])) << 8 |
                            std::size_t(std::uint8_t(head[10])) << 16;
    if (12 + len > head.size() && len < (std::size_t(1) << 24)) {
      in_.clear();
      in_.seekg(0);
      head.assign(12 + len, '\0');
      in_.read(head.data(), std::streamsize(head.size()));
      head.resize(std::size_t(in_.gcount()));
    }
  }
  header_ = parse_npy_header(head, path);
  in_.clear();
  in_.seekg(0, std::ios::end);
  const auto size = std::size_t(in_.tellg());
  const std::size_t need = header_.data_offset + std::size_t(header_.elements()) * element_size(header_.dtype);
  require(size >= need, "read_npy", path, "is truncated: ", size, " bytes, its header needs ", need);
}

template <Real T> void NpyReader::read(Index first, Index count, T* out) {
  require(first >= 0 && count >= 0 && first + count <= header_.elements(), "NpyReader::read", "count",
          "reads past the end of ", path_);
  const std::size_t es = element_size(header_.dtype);
  buffer_.resize(std::size_t(count) * es);
  in_.seekg(std::streamoff(header_.data_offset + std::size_t(first) * es));
  in_.read(buffer_.data(), std::streamsize(buffer_.size()));
  require(in_.gcount() == std::streamsize(buffer_.size()), "read_npy", path_, "ended early while reading");
  const char* b = buffer_.data();
  for (Index i = 0; i < count; ++i) {
    switch (header_.dtype) {
    case DType::Float32: out[i] = T(load<float>(b, i)); break;
    case DType::Float64: out[i] = T(load<double>(b, i)); break;
    case DType::BFloat16: out[i] = T(bfloat16_to_float(load<std::uint16_t>(b, i))); break;
    case DType::Int64: out[i] = T(load<std::int64_t>(b, i)); break;
    }
  }
}

template void NpyReader::read<float>(Index, Index, float*);
template void NpyReader::read<double>(Index, Index, double*);

NpyWriter::NpyWriter(const std::string& path, DType dtype, std::vector<Index> shape)
    : path_(path), out_(path, std::ios::binary) {
  require(out_.good(), "write_npy", path, "cannot be opened for writing");
  header_.dtype = dtype;
  header_.shape = std::move(shape);
  std::ostringstream os;  // "(a,)" for one dimension, "(a, b)" for more
  os << "{'descr': '" << dtype_descr(dtype) << "', 'fortran_order': False, 'shape': (";
  for (std::size_t i = 0; i < header_.shape.size(); ++i)
    os << (i > 0 ? ", " : "") << header_.shape[i] << (header_.shape.size() == 1 ? "," : "");
  os << "), }";
  std::string dict = os.str();
  const std::size_t total = 10 + dict.size() + 1;
  dict.append((64 - total % 64) % 64, ' ');
  dict += '\n';
  const auto len = std::uint16_t(dict.size());
  out_.write(kMagic.data(), std::streamsize(kMagic.size()));
  const char version[2] = {1, 0};
  out_.write(version, 2);
  const char len_bytes[2] = {char(len & 0xff), char(len >> 8)};
  out_.write(len_bytes, 2);
  out_ << dict;
}

template <class T> void NpyWriter::write(const T* data, Index count) {
  require(sizeof(T) == element_size(header_.dtype), "NpyWriter::write", "data", "does not match the dtype of ",
          path_);
  out_.write(reinterpret_cast<const char*>(data), std::streamsize(std::size_t(count) * sizeof(T)));
  written_ += count;
}

void NpyWriter::close() {
  require(written_ == header_.elements(), "NpyWriter::close", path_, "received ", written_, " elements, expected ",
          header_.elements());
  out_.close();
  require(!out_.fail(), "write_npy", path_, "could not be written");
}

template void NpyWriter::write<float>(const float*, Index);
template void NpyWriter::write<double>(const double*, Index);
template void NpyWriter::write<std::int64_t>(const std::int64_t*, Index);

}  // namespace probspace::io
