// Tables mapping DType to sizes, names and foreign type descriptors, and the dtype visitor's
// error for a dtype a kernel does not support.
#include "nocopy/core/dtype.hpp"

#include <array>
#include <stdexcept>
#include <string>

#include "nocopy/core/dtype_visit.hpp"

namespace nocopy {
namespace {

struct DTypeInfo {
  std::string_view name;
  std::string_view typestr;
  std::string_view format;  // struct-module format, native order
  DLCode code;
  uint8_t bytes;
};

constexpr std::array<DTypeInfo, kDTypeCount> kInfo = {{
    {"bool", "|b1", "?", DLCode::Bool, 1},
    {"int8", "|i1", "b", DLCode::Int, 1},
    {"int16", "<i2", "h", DLCode::Int, 2},
    {"int32", "<i4", "i", DLCode::Int, 4},
    {"int64", "<i8", "q", DLCode::Int, 8},
    {"uint8", "|u1", "B", DLCode::UInt, 1},
    {"uint16", "<u2", "H", DLCode::UInt, 2},
    {"uint32", "<u4", "I", DLCode::UInt, 4},
    {"uint64", "<u8", "Q", DLCode::UInt, 8},
    {"float16", "<f2", "e", DLCode::Float, 2},
    {"bfloat16", "<V2", "", DLCode::Bfloat, 2},
    {"float32", "<f4", "f", DLCode::Float, 4},
    {"float64", "<f8", "d", DLCode::Float, 8},
    {"complex64", "<c8", "Zf", DLCode::Complex, 8},
    {"complex128", "<c16", "Zd", DLCode::Complex, 16},
}};

const DTypeInfo& info(DType t) {
  return kInfo.at(static_cast<size_t>(t));
}

// Aliases NumPy accepts besides the canonical names and typestrs.
struct Alias {
  std::string_view text;
  DType type;
};
constexpr std::array<Alias, 25> kAliases = {{
    {"?", DType::Bool},        {"b1", DType::Bool},        {"i1", DType::Int8},
    {"i2", DType::Int16},      {"i4", DType::Int32},       {"i8", DType::Int64},
    {"u1", DType::UInt8},      {"u2", DType::UInt16},      {"u4", DType::UInt32},
    {"u8", DType::UInt64},     {"f2", DType::Float16},     {"f4", DType::Float32},
    {"f8", DType::Float64},    {"c8", DType::Complex64},   {"c16", DType::Complex128},
    {"half", DType::Float16},  {"single", DType::Float32}, {"double", DType::Float64},
    {"float", DType::Float64}, {"int", DType::Int64},      {"complex", DType::Complex128},
    {"byte", DType::Int8},     {"ubyte", DType::UInt8},    {"short", DType::Int16},
    {"ushort", DType::UInt16},
}};

}  // namespace

size_t itemsize(DType t) {
  return info(t).bytes;
}
std::string_view dtype_name(DType t) {
  return info(t).name;
}
std::string_view dtype_typestr(DType t) {
  return info(t).typestr;
}
std::string_view dtype_buffer_format(DType t) {
  return info(t).format;
}
DLCode dtype_dl_code(DType t) {
  return info(t).code;
}

void throw_unsupported_dtype(DType t, std::string_view what, std::span<const DType> supported) {
  const auto code = static_cast<size_t>(t);
  std::string msg(what);
  msg += code < kInfo.size() ? ": dtype " + std::string(kInfo[code].name)
                             : ": dtype code " + std::to_string(code);
  msg += " is not supported (supported:";
  for (size_t i = 0; i < supported.size(); ++i) {
    msg += i == 0 ? " " : ", ";
    msg += dtype_name(supported[i]);
  }
  throw std::invalid_argument(msg + ")");
}

bool is_complex(DType t) {
  return t == DType::Complex64 || t == DType::Complex128;
}
bool is_floating(DType t) {
  return t == DType::Float16 || t == DType::BFloat16 || t == DType::Float32 || t == DType::Float64;
}

DType dtype_from_name(std::string_view name) {
  std::string_view text = name;
  // Byte-order prefixes: native/little/not-applicable are fine; big-endian is not supported.
  if (!text.empty() && (text[0] == '<' || text[0] == '=' || text[0] == '|')) text.remove_prefix(1);
  for (size_t i = 0; i < kInfo.size(); ++i) {
    if (text == kInfo[i].name || name == kInfo[i].typestr) return static_cast<DType>(i);
  }
  for (const Alias& a : kAliases) {
    if (text == a.text) return a.type;
  }
  throw std::invalid_argument(
      "unsupported dtype '" + std::string(name) +
      "' (nocopy supports bool, int8..int64, uint8..uint64, float16, "
      "bfloat16, float32, float64, complex64, complex128, native byte order)");
}

std::optional<DType> dtype_from_dlpack(uint8_t code, uint8_t bits, uint16_t lanes) {
  if (lanes != 1) return std::nullopt;
  for (size_t i = 0; i < kInfo.size(); ++i) {
    if (static_cast<uint8_t>(kInfo[i].code) == code && kInfo[i].bytes * 8 == bits) {
      return static_cast<DType>(i);
    }
  }
  return std::nullopt;
}

std::optional<DType> dtype_from_buffer_format(std::string_view format, size_t item_size) {
  std::string_view f = format;
  if (!f.empty() && (f[0] == '@' || f[0] == '=' || f[0] == '<')) f.remove_prefix(1);
  if (f.empty() || f.size() > 2) return std::nullopt;
  char kind = f[0];
  bool complex = false;
  if (kind == 'Z') {
    if (f.size() != 2) return std::nullopt;
    complex = true;
    kind = f[1];
  } else if (f.size() != 1) {
    return std::nullopt;
  }
  if (complex) {
    if (kind == 'f' && item_size == 8) return DType::Complex64;
    if (kind == 'd' && item_size == 16) return DType::Complex128;
    return std::nullopt;
  }
  // The integer letters have platform sizes; the item size decides.
  constexpr std::string_view kSigned = "bhilqn";
  constexpr std::string_view kUnsigned = "BHILQN";
  auto by_size = [&](bool is_signed) -> std::optional<DType> {
    switch (item_size) {
      case 1:
        return is_signed ? DType::Int8 : DType::UInt8;
      case 2:
        return is_signed ? DType::Int16 : DType::UInt16;
      case 4:
        return is_signed ? DType::Int32 : DType::UInt32;
      case 8:
        return is_signed ? DType::Int64 : DType::UInt64;
      default:
        return std::nullopt;
    }
  };
  if (kind == 'c' && item_size == 1) return DType::UInt8;  // char buffers, e.g. bytes
  if (kSigned.find(kind) != std::string_view::npos) return by_size(true);
  if (kUnsigned.find(kind) != std::string_view::npos) return by_size(false);
  if (kind == '?' && item_size == 1) return DType::Bool;
  if (kind == 'e' && item_size == 2) return DType::Float16;
  if (kind == 'f' && item_size == 4) return DType::Float32;
  if (kind == 'd' && item_size == 8) return DType::Float64;
  return std::nullopt;
}

}  // namespace nocopy
