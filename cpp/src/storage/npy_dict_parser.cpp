// The .npy header dict parser (see npy_dict_parser.hpp).
#include "storage/npy_dict_parser.hpp"

#include <stdexcept>

#include "nocopy/core/view.hpp"
#include "nocopy/storage/npy_header.hpp"

namespace nocopy {
namespace {

constexpr size_t kMaxStringLiteral = 64;

// Recursive-descent parser for the one dict literal NumPy writes:
//   {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
class DictParser {
 public:
  explicit DictParser(std::string_view text) : s_(text) {}

  NpyDict parse() {
    NpyDict h;
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
        if (have_descr) fail_npy_header("duplicate key 'descr'");
        have_descr = true;
        if (at('[')) fail_npy_header("structured dtypes (descr is a list) are not supported");
        h.dtype = dtype_from_npy_descr(parse_string("the value of 'descr'"));
      } else if (key == "fortran_order") {
        if (have_order) fail_npy_header("duplicate key 'fortran_order'");
        have_order = true;
        h.fortran_order = parse_bool();
      } else if (key == "shape") {
        if (have_shape) fail_npy_header("duplicate key 'shape'");
        have_shape = true;
        h.shape = parse_tuple();
      } else {
        fail_npy_header("unexpected key '" + key +
                        "' (allowed: 'descr', 'fortran_order', 'shape')");
      }
      skip_ws();
      if (at(',')) {
        ++i_;
        skip_ws();
      } else if (!at('}')) {
        fail_npy_header("expected ',' or '}' at offset " + std::to_string(i_));
      }
    }
    ++i_;  // '}'
    skip_ws();
    if (i_ != s_.size())
      fail_npy_header("unexpected text after the dict at offset " + std::to_string(i_));
    if (!have_descr) fail_npy_header("missing key 'descr'");
    if (!have_order) fail_npy_header("missing key 'fortran_order'");
    if (!have_shape) fail_npy_header("missing key 'shape'");
    return h;
  }

 private:
  bool at(char c) const { return i_ < s_.size() && s_[i_] == c; }
  void skip_ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t')) ++i_;
  }
  void expect(char c, const std::string& what) {
    if (!at(c)) fail_npy_header("expected " + what + " at offset " + std::to_string(i_));
    ++i_;
  }

  std::string parse_string(const std::string& what) {
    if (!at('\'') && !at('"')) fail_npy_header("expected a quoted string for " + what);
    const char quote = s_[i_++];
    const size_t start = i_;
    while (i_ < s_.size() && s_[i_] != quote) {
      if (s_[i_] == '\\') fail_npy_header("escape sequences are not allowed in " + what);
      if (i_ - start >= kMaxStringLiteral) fail_npy_header(what + " is longer than 64 characters");
      ++i_;
    }
    if (i_ >= s_.size()) fail_npy_header("unterminated string for " + what);
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
    fail_npy_header("'fortran_order' must be True or False");
  }

  int64_t parse_int() {
    const size_t start = i_;
    int64_t value = 0;
    while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') {
      if (__builtin_mul_overflow(value, 10, &value) ||
          __builtin_add_overflow(value, s_[i_] - '0', &value)) {
        fail_npy_header("shape entry starting at offset " + std::to_string(start) +
                        " exceeds int64");
      }
      ++i_;
    }
    if (i_ == start) {
      if (at('-')) fail_npy_header("shape has a negative dimension");
      fail_npy_header("expected a non-negative integer in 'shape' at offset " + std::to_string(i_));
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
        fail_npy_header("shape has more than " + std::to_string(kMaxDims) + " dimensions");
      }
      shape.push_back(parse_int());
      skip_ws();
      trailing_comma = false;
      if (at(',')) {
        ++i_;
        trailing_comma = true;
        skip_ws();
      } else if (!at(')')) {
        fail_npy_header("expected ',' or ')' in 'shape' at offset " + std::to_string(i_));
      }
    }
    ++i_;
    if (shape.size() == 1 && !trailing_comma)
      fail_npy_header("'shape' (n) is not a tuple; write (n,)");
    return shape;
  }

  std::string_view s_;
  size_t i_ = 0;
};

}  // namespace

void fail_npy_header(const std::string& msg) {
  throw std::invalid_argument("invalid .npy header: " + msg);
}

NpyDict parse_npy_dict(std::string_view text) {
  return DictParser(text).parse();
}

}  // namespace nocopy
