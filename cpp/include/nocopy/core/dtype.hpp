// Element types: the fixed set nocopy understands, with their DLPack codes and NumPy names.
//
// A DType is a closed enum so that copy kernels can switch over every type; conversions from
// names, NumPy typestrs, buffer-protocol formats and DLPack type descriptors all live here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace nocopy {

/// The element types a view can hold.
enum class DType : uint8_t {
  Bool,
  Int8,
  Int16,
  Int32,
  Int64,
  UInt8,
  UInt16,
  UInt32,
  UInt64,
  Float16,
  BFloat16,
  Float32,
  Float64,
  Complex64,
  Complex128,
};

/// Number of DType values (for tables and exhaustive tests).
inline constexpr int kDTypeCount = 15;

/// DLPack type code (DLDataTypeCode) of each kind of element.
enum class DLCode : uint8_t { Int = 0, UInt = 1, Float = 2, Bfloat = 4, Complex = 5, Bool = 6 };

/// Size of one element in bytes.
size_t itemsize(DType t);

/// NumPy's name of the type ("uint8", "float32", "bfloat16", ...).
std::string_view dtype_name(DType t);

/// NumPy array-interface typestr, little-endian ("<f4", "|u1", "|b1"); bfloat16 is "<V2".
std::string_view dtype_typestr(DType t);

/// Python buffer-protocol (struct module) format, or "" when none exists (bfloat16).
std::string_view dtype_buffer_format(DType t);

/// DLPack (code, bits) of the type; lanes are always 1.
DLCode dtype_dl_code(DType t);

/// Parses a NumPy-style name or typestr ("float32", "f4", "<f4", "uint8", "bool", "?").
/// Throws std::invalid_argument naming the text when it is not a supported type.
DType dtype_from_name(std::string_view name);

/// Maps a DLPack (code, bits, lanes) triple to a DType, or nullopt when unsupported.
std::optional<DType> dtype_from_dlpack(uint8_t code, uint8_t bits, uint16_t lanes);

/// Maps a buffer-protocol format string and item size to a DType, or nullopt when unsupported
/// (non-native byte order, structs, pointers).
std::optional<DType> dtype_from_buffer_format(std::string_view format, size_t item_size);

/// True for the two complex types.
bool is_complex(DType t);

/// True for float16, bfloat16, float32, float64.
bool is_floating(DType t);

}  // namespace nocopy
