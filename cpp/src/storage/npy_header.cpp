// .npy header parsing (the preamble: magic, version, length; the dict text goes to
// npy_dict_parser) and writing.
#include "nocopy/storage/npy_header.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>
#include <string>

#include "internal/checked_math.hpp"
#include "nocopy/core/view.hpp"
#include "storage/npy_dict_parser.hpp"

namespace nocopy {
namespace {

constexpr std::array<uint8_t, 6> kMagic = {0x93, 'N', 'U', 'M', 'P', 'Y'};
uint32_t read_le(const uint8_t* p, size_t n) {
  uint32_t v = 0;
  for (size_t k = 0; k < n; ++k) v |= static_cast<uint32_t>(p[k]) << (8 * k);
  return v;
}

}  // namespace

DType dtype_from_npy_descr(std::string_view descr) {
  const std::string quoted = "descr '" + std::string(descr) + "'";
  if (descr.empty()) fail_npy_header("empty descr");
  const char order = descr[0];
  if (order != '<' && order != '>' && order != '|' && order != '=') {
    fail_npy_header(quoted + " has no byte-order character ('<', '>', '|' or '=')");
  }
  const std::string_view code = descr.substr(1);
  struct Entry {
    std::string_view code;
    DType type;
  };
  static constexpr std::array<Entry, 14> kTable = {{
      {"b1", DType::Bool},
      {"i1", DType::Int8},
      {"u1", DType::UInt8},
      {"i2", DType::Int16},
      {"i4", DType::Int32},
      {"i8", DType::Int64},
      {"u2", DType::UInt16},
      {"u4", DType::UInt32},
      {"u8", DType::UInt64},
      {"f2", DType::Float16},
      {"f4", DType::Float32},
      {"f8", DType::Float64},
      {"c8", DType::Complex64},
      {"c16", DType::Complex128},
  }};
  for (const Entry& e : kTable) {
    if (code != e.code) continue;
    if (itemsize(e.type) > 1 && order == '>') {
      fail_npy_header(quoted +
                      " is big-endian, which nocopy does not map; convert it once with "
                      "np.save(path, a.astype(a.dtype.newbyteorder('<')))");
    }
    if (itemsize(e.type) > 1 && order == '|')
      fail_npy_header(quoted + ": '|' is only valid for 1-byte types");
    return e.type;
  }
  if (!code.empty() && code[0] == 'O')
    fail_npy_header(quoted +
                    " is an object dtype (pickled Python objects); "
                    "only plain numeric dtypes can be mapped");
  if (!code.empty() && code[0] == 'V')
    fail_npy_header(quoted + " is a raw void/structured dtype; not supported");
  fail_npy_header(quoted +
                  " is not a supported dtype (bool, int8..int64, uint8..uint64, float16, float32, "
                  "float64, complex64, complex128)");
}

std::string npy_descr(DType dtype) {
  if (dtype == DType::BFloat16) {
    throw std::invalid_argument("bfloat16 has no .npy descr that NumPy reads back as bfloat16");
  }
  return std::string(dtype_typestr(dtype));
}

uint64_t npy_header_bytes(std::span<const uint8_t> preamble) {
  if (preamble.size() < 12 || !std::equal(kMagic.begin(), kMagic.end(), preamble.begin())) return 0;
  const size_t len_bytes = preamble[6] == 1 ? 2 : 4;
  return 8 + len_bytes + read_le(preamble.data() + 8, len_bytes);
}

NpyHeader parse_npy_header(std::span<const uint8_t> prefix, uint64_t file_size) {
  if (prefix.size() > file_size) fail_npy_header("prefix is longer than the file");
  if (prefix.size() < 10) {
    fail_npy_header("file has " + std::to_string(file_size) +
                    " bytes; a .npy file has at least 10");
  }
  if (!std::equal(kMagic.begin(), kMagic.end(), prefix.begin())) {
    fail_npy_header("missing magic string \\x93NUMPY (not a .npy file)");
  }
  const int major = prefix[6], minor = prefix[7];
  if ((major != 1 && major != 2 && major != 3) || minor != 0) {
    fail_npy_header("unsupported format version " + std::to_string(major) + "." +
                    std::to_string(minor) + " (supported: 1.0, 2.0, 3.0)");
  }
  const size_t len_bytes = major == 1 ? 2 : 4;
  const size_t preamble = 8 + len_bytes;
  if (prefix.size() < preamble) fail_npy_header("file ends inside the header length field");
  const uint32_t header_len = read_le(prefix.data() + 8, len_bytes);
  if (header_len > kMaxNpyHeaderBytes) {
    fail_npy_header("header length " + std::to_string(header_len) + " exceeds the limit of " +
                    std::to_string(kMaxNpyHeaderBytes) + " bytes");
  }
  const uint64_t data_offset = preamble + header_len;
  if (data_offset > file_size) {
    fail_npy_header("header length " + std::to_string(header_len) + " runs past the end of the " +
                    std::to_string(file_size) + "-byte file");
  }
  if (prefix.size() < data_offset) fail_npy_header("prefix does not hold the whole header");
  std::string_view text(reinterpret_cast<const char*>(prefix.data() + preamble), header_len);
  if (text.empty() || text.back() != '\n') fail_npy_header("header does not end with a newline");
  text.remove_suffix(1);
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 && c != '\t')
      fail_npy_header("header has a control character (code " + std::to_string(u) + ")");
    if (u >= 0x80) fail_npy_header("header has a non-ASCII byte; only ASCII dtypes are supported");
  }
  NpyDict dict = parse_npy_dict(text);
  NpyHeader h;
  h.dtype = dict.dtype;
  h.fortran_order = dict.fortran_order;
  h.shape = std::move(dict.shape);
  h.version = major;
  h.data_offset = data_offset;
  int64_t count = 1;
  for (int64_t n : h.shape) count = checked_mul(count, n, ".npy shape size");
  const int64_t bytes =
      checked_mul(count, static_cast<int64_t>(itemsize(h.dtype)), ".npy data size");
  h.data_bytes = static_cast<uint64_t>(bytes);
  if (h.data_bytes > file_size - data_offset) {
    fail_npy_header("file is truncated: shape " + format_tuple(h.shape) + " of " +
                    std::string(dtype_name(h.dtype)) + " needs " + std::to_string(h.data_bytes) +
                    " data bytes after the " + std::to_string(data_offset) +
                    "-byte header, but the file has " + std::to_string(file_size) + " bytes");
  }
  return h;
}

std::string make_npy_header(DType dtype, std::span<const int64_t> shape, bool fortran_order) {
  if (static_cast<int64_t>(shape.size()) > kMaxDims) {
    throw std::invalid_argument("shape has " + std::to_string(shape.size()) +
                                " dimensions; the limit is " + std::to_string(kMaxDims));
  }
  std::string dict = "{'descr': '" + npy_descr(dtype) +
                     "', 'fortran_order': " + (fortran_order ? "True" : "False") + ", 'shape': (";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] < 0) {
      throw std::invalid_argument("negative dimension in shape " + format_tuple(shape));
    }
    if (i > 0) dict += ", ";
    dict += std::to_string(shape[i]);
  }
  if (shape.size() == 1) dict += ",";
  dict += "), }";
  // v1 when the padded text fits the 16-bit length, else v2; pad with spaces so that
  // preamble + text + '\n' is a multiple of 64.
  size_t preamble = 10;
  size_t total = (preamble + dict.size() + 1 + 63) / 64 * 64;
  int major = 1;
  if (total - preamble > 0xFFFF) {
    preamble = 12;
    total = (preamble + dict.size() + 1 + 63) / 64 * 64;
    major = 2;
  }
  const size_t header_len = total - preamble;
  std::string out(reinterpret_cast<const char*>(kMagic.data()), kMagic.size());
  out += static_cast<char>(major);
  out += '\0';
  for (size_t k = 0; k < preamble - 8; ++k)
    out += static_cast<char>((header_len >> (8 * k)) & 0xFF);
  out += dict;
  out.append(total - out.size() - 1, ' ');
  out += '\n';
  return out;
}

}  // namespace nocopy
