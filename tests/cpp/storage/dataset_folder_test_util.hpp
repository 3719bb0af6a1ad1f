// Helpers of the tests that write dataset folders (ImageSet, VideoSet): a temporary folder
// removed with its contents, and the writers of a text file and an int64 .npy file.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "nocopy/core/dtype.hpp"
#include "nocopy/core/view.hpp"
#include "nocopy/storage/npy_file.hpp"

namespace dataset_folder_test {

/// A temporary folder, removed with everything in it when the test ends.
struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& name)
      : path(std::filesystem::temp_directory_path() /
             ("nocopy-" + name + "-" + std::to_string(getpid()))) {
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  /// The path of `name` inside the folder.
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

/// Writes `text` to `path` (replacing it).
inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

/// Writes an int64 .npy file of `shape` holding `values`.
inline void write_int64(const std::string& path, const std::vector<int64_t>& shape,
                        const std::vector<int64_t>& values) {
  nocopy::View v = nocopy::create_npy(path, shape, nocopy::DType::Int64);
  std::memcpy(v.data(), values.data(), values.size() * sizeof(int64_t));
}

}  // namespace dataset_folder_test
