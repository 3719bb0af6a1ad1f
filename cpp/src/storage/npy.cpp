// .npy header parsing and writing, and .npy files opened or created as memory-mapped views.
#include "nocopy/storage/npy.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

#include "internal/checked_math.hpp"

namespace nocopy {
namespace {

constexpr std::array<uint8_t, 6> kMagic = {0x93, 'N', 'U', 'M', 'P', 'Y'};
constexpr size_t kMaxStringLiteral = 64;

[[noreturn]] void fail(const std::string& msg) {
  throw std::invalid_argument("invalid .npy header: " + msg);
}

// Recursive-descent parser for the one dict literal NumPy writes:
//   {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
class DictParser {
 public:
  explicit DictParser(std::string_view text) : s_(text) {}

  NpyHeader parse() {
    NpyHeader h;
    bool have_descr = false, have_order = false, have_shape = false;
    skip_ws();
    expect('{', "the header to start with '{'");
    skip_ws();
    while (!at('}')) {
      std::string key = parse_string("a key");
      skip_ws();
      expect(':', "':' after key '" + key + "'");
      skip_ws();
      if (key == "descr") {
        if (have_descr) fail("duplicate key 'descr'");
        have_descr = true;
        if (at('[')) fail("structured dtypes (descr is a list) are not supported");
        h.dtype = dtype_from_npy_descr(parse_string("the value of 'descr'"));
      } else if (key == "fortran_order") {
        if (have_order) fail("duplicate key 'fortran_order'");
        have_order = true;
        h.fortran_order = parse_bool();
      } else if (key == "shape") {
        if (have_shape) fail("duplicate key 'shape'");
        have_shape = true;
        h.shape = parse_tuple();
      } else {
        fail("unexpected key '" + key + "' (allowed: 'descr', 'fortran_order', 'shape')");
      }
      skip_ws();
      if (at(',')) {
        ++i_;
        skip_ws();
      } else if (!at('}')) {
        fail("expected ',' or '}' at offset " + std::to_string(i_));
      }
    }
    ++i_;  // '}'
    skip_ws();
    if (i_ != s_.size()) fail("unexpected text after the dict at offset " + std::to_string(i_));
    if (!have_descr) fail("missing key 'descr'");
    if (!have_order) fail("missing key 'fortran_order'");
    if (!have_shape) fail("missing key 'shape'");
    return h;
  }

 private:
  bool at(char c) const { return i_ < s_.size() && s_[i_] == c; }
  void skip_ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t')) ++i_;
  }
  void expect(char c, const std::string& what) {
    if (!at(c)) fail("expected " + what + " at offset " + std::to_string(i_));
    ++i_;
  }

  std::string parse_string(const std::string& what) {
    if (!at('\'') && !at('"')) fail("expected a quoted string for " + what);
    const char quote = s_[i_++];
    const size_t start = i_;
    while (i_ < s_.size() && s_[i_] != quote) {
      if (s_[i_] == '\\') fail("escape sequences are not allowed in " + what);
      if (i_ - start >= kMaxStringLiteral) fail(what + " is longer than 64 characters");
      ++i_;
    }
    if (i_ >= s_.size()) fail("unterminated string for " + what);
    std::string out(s_.substr(start, i_ - start));
    ++i_;
    return out;
  }

  bool parse_bool() {
    if (s_.substr(i_, 4) == "True") {
      i_ += 4;
      return true;
    }
    if (s_.substr(i_, 5) == "False") {
      i_ += 5;
      return false;
    }
    fail("'fortran_order' must be True or False");
  }

  int64_t parse_int() {
    const size_t start = i_;
    int64_t value = 0;
    while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') {
      if (__builtin_mul_overflow(value, 10, &value) ||
          __builtin_add_overflow(value, s_[i_] - '0', &value)) {
        fail("shape entry starting at offset " + std::to_string(start) + " exceeds int64");
      }
      ++i_;
    }
    if (i_ == start) {
      if (at('-')) fail("shape has a negative dimension");
      fail("expected a non-negative integer in 'shape' at offset " + std::to_string(i_));
    }
    if (at('L')) ++i_;  // Python 2 long suffix, as written by old NumPy
    return value;
  }

  std::vector<int64_t> parse_tuple() {
    std::vector<int64_t> shape;
    expect('(', "'(' to start the 'shape' tuple");
    skip_ws();
    bool trailing_comma = false;
    while (!at(')')) {
      if (static_cast<int64_t>(shape.size()) >= kMaxDims) {
        fail("shape has more than " + std::to_string(kMaxDims) + " dimensions");
      }
      shape.push_back(parse_int());
      skip_ws();
      trailing_comma = false;
      if (at(',')) {
        ++i_;
        trailing_comma = true;
        skip_ws();
      } else if (!at(')')) {
        fail("expected ',' or ')' in 'shape' at offset " + std::to_string(i_));
      }
    }
    ++i_;
    if (shape.size() == 1 && !trailing_comma) fail("'shape' (n) is not a tuple; write (n,)");
    return shape;
  }

  std::string_view s_;
  size_t i_ = 0;
};

uint32_t read_le(const uint8_t* p, size_t n) {
  uint32_t v = 0;
  for (size_t k = 0; k < n; ++k) v |= static_cast<uint32_t>(p[k]) << (8 * k);
  return v;
}

std::string errno_text() {
  return std::string(std::strerror(errno));
}

// Reads exactly n bytes at offset, or fewer only at end of file.
size_t pread_full(int fd, uint8_t* buf, size_t n, off_t offset, const std::string& path) {
  size_t done = 0;
  while (done < n) {
    ssize_t r = ::pread(fd, buf + done, n - done, offset + static_cast<off_t>(done));
    if (r < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error("cannot read '" + path + "': " + errno_text());
    }
    if (r == 0) break;
    done += static_cast<size_t>(r);
  }
  return done;
}

}  // namespace

DType dtype_from_npy_descr(std::string_view descr) {
  const std::string quoted = "descr '" + std::string(descr) + "'";
  if (descr.empty()) fail("empty descr");
  const char order = descr[0];
  if (order != '<' && order != '>' && order != '|' && order != '=') {
    fail(quoted + " has no byte-order character ('<', '>', '|' or '=')");
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
      fail(quoted +
           " is big-endian, which nocopy does not map; convert it once with "
           "np.save(path, a.astype(a.dtype.newbyteorder('<')))");
    }
    if (itemsize(e.type) > 1 && order == '|') fail(quoted + ": '|' is only valid for 1-byte types");
    return e.type;
  }
  if (!code.empty() && code[0] == 'O')
    fail(quoted +
         " is an object dtype (pickled Python objects); "
         "only plain numeric dtypes can be mapped");
  if (!code.empty() && code[0] == 'V')
    fail(quoted + " is a raw void/structured dtype; not supported");
  fail(quoted +
       " is not a supported dtype (bool, int8..int64, uint8..uint64, float16, float32, "
       "float64, complex64, complex128)");
}

std::string npy_descr(DType dtype) {
  if (dtype == DType::BFloat16) {
    throw std::invalid_argument("bfloat16 has no .npy descr that NumPy reads back as bfloat16");
  }
  return std::string(dtype_typestr(dtype));
}

NpyHeader parse_npy_header(std::span<const uint8_t> prefix, uint64_t file_size) {
  if (prefix.size() > file_size) fail("prefix is longer than the file");
  if (prefix.size() < 10) {
    fail("file has " + std::to_string(file_size) + " bytes; a .npy file has at least 10");
  }
  if (!std::equal(kMagic.begin(), kMagic.end(), prefix.begin())) {
    fail("missing magic string \\x93NUMPY (not a .npy file)");
  }
  const int major = prefix[6], minor = prefix[7];
  if ((major != 1 && major != 2 && major != 3) || minor != 0) {
    fail("unsupported format version " + std::to_string(major) + "." + std::to_string(minor) +
         " (supported: 1.0, 2.0, 3.0)");
  }
  const size_t len_bytes = major == 1 ? 2 : 4;
  const size_t preamble = 8 + len_bytes;
  if (prefix.size() < preamble) fail("file ends inside the header length field");
  const uint32_t header_len = read_le(prefix.data() + 8, len_bytes);
  if (header_len > kMaxNpyHeaderBytes) {
    fail("header length " + std::to_string(header_len) + " exceeds the limit of " +
         std::to_string(kMaxNpyHeaderBytes) + " bytes");
  }
  const uint64_t data_offset = preamble + header_len;
  if (data_offset > file_size) {
    fail("header length " + std::to_string(header_len) + " runs past the end of the " +
         std::to_string(file_size) + "-byte file");
  }
  if (prefix.size() < data_offset) fail("prefix does not hold the whole header");
  std::string_view text(reinterpret_cast<const char*>(prefix.data() + preamble), header_len);
  if (text.empty() || text.back() != '\n') fail("header does not end with a newline");
  text.remove_suffix(1);
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 && c != '\t')
      fail("header has a control character (code " + std::to_string(u) + ")");
    if (u >= 0x80) fail("header has a non-ASCII byte; only ASCII dtypes are supported");
  }
  NpyHeader h = DictParser(text).parse();
  h.version = major;
  h.data_offset = data_offset;
  int64_t count = 1;
  for (int64_t n : h.shape) count = checked_mul(count, n, ".npy shape size");
  const int64_t bytes =
      checked_mul(count, static_cast<int64_t>(itemsize(h.dtype)), ".npy data size");
  h.data_bytes = static_cast<uint64_t>(bytes);
  if (h.data_bytes > file_size - data_offset) {
    fail("file is truncated: shape " + format_tuple(h.shape) + " of " +
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

View open_npy(const std::string& path, MapMode mode) {
  int fd = ::open(path.c_str(), (mode == MapMode::ReadWrite ? O_RDWR : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("cannot open '" + path + "': " + errno_text());
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (fstat(fd, &st) != 0) throw std::runtime_error("cannot stat '" + path + "': " + errno_text());
  if (!S_ISREG(st.st_mode)) throw std::invalid_argument("'" + path + "' is not a regular file");
  const auto file_size = static_cast<uint64_t>(st.st_size);
  // Read the preamble, then exactly the header it announces (bounded by the parser's limit).
  std::vector<uint8_t> prefix(static_cast<size_t>(std::min<uint64_t>(file_size, 4096)));
  prefix.resize(pread_full(fd, prefix.data(), prefix.size(), 0, path));
  if (prefix.size() >= 12 && std::equal(kMagic.begin(), kMagic.end(), prefix.begin())) {
    const size_t len_bytes = prefix[6] == 1 ? 2 : 4;
    const uint64_t need = 8 + len_bytes + read_le(prefix.data() + 8, len_bytes);
    if (need > prefix.size() && need <= file_size && need <= kMaxNpyHeaderBytes + 12) {
      prefix.resize(static_cast<size_t>(need));
      prefix.resize(pread_full(fd, prefix.data(), prefix.size(), 0, path));
    }
  }
  NpyHeader h;
  try {
    h = parse_npy_header(prefix, file_size);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument("'" + path + "': " + e.what());
  }
  auto mapping = MappedFile::map_fd(fd, static_cast<size_t>(file_size), mode, path);
  std::vector<int64_t> strides = contiguous_strides(h.shape, h.fortran_order);
  return View(mapping->data() + h.data_offset, h.dtype, h.shape, std::move(strides), mapping,
              mode == MapMode::ReadOnly);
}

View create_npy(const std::string& path, std::span<const int64_t> shape, DType dtype) {
  const std::string header = make_npy_header(dtype, shape);
  int64_t bytes = static_cast<int64_t>(itemsize(dtype));
  for (int64_t n : shape) bytes = checked_mul(bytes, n, ".npy data size");
  const int64_t total = checked_add(static_cast<int64_t>(header.size()), bytes, ".npy file size");
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot create '" + path + "': " + errno_text());
  try {
    size_t done = 0;
    while (done < header.size()) {
      ssize_t w = ::write(fd, header.data() + done, header.size() - done);
      if (w < 0) {
        if (errno == EINTR) continue;
        throw std::runtime_error("cannot write the header of '" + path + "': " + errno_text());
      }
      done += static_cast<size_t>(w);
    }
    if (::ftruncate(fd, static_cast<off_t>(total)) != 0) {
      throw std::runtime_error("cannot size '" + path + "' to " + std::to_string(total) +
                               " bytes: " + errno_text());
    }
    auto mapping = MappedFile::map_fd(fd, static_cast<size_t>(total), MapMode::ReadWrite, path);
    ::close(fd);
    fd = -1;
    std::vector<int64_t> shp(shape.begin(), shape.end());
    return View::c_contiguous(mapping->data() + header.size(), dtype, std::move(shp), mapping);
  } catch (...) {
    if (fd >= 0) ::close(fd);
    ::unlink(path.c_str());
    throw;
  }
}

}  // namespace nocopy
