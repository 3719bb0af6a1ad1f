// Helpers shared by the two ImageSet readers (raw pixels and JPEG bytes): reading an int64
// index array of an expected shape, and the errors that name the file. Private to storage.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "nocopy/core/view.hpp"

namespace nocopy::image_set_index {

/// Throws std::invalid_argument "<where>: <msg>" (where: the file or the sample).
[[noreturn]] void fail(const std::string& where, const std::string& msg);

/// The values of an int64 index array of shape `want`, copied out of `v`; std::invalid_argument
/// naming `where` for another dtype or shape.
std::vector<int64_t> index_values(const View& v, std::span<const int64_t> want,
                                  const std::string& where);

/// True when `path` names an existing file (of any type).
bool file_exists(const std::string& path);

}  // namespace nocopy::image_set_index
