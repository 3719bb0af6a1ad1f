// Exception types of the nocopy core beyond the standard ones.
//
// The core reports bad input with standard exceptions (std::invalid_argument -> ValueError,
// std::out_of_range -> IndexError, std::overflow_error -> OverflowError, std::system_error ->
// the OSError subclass its errno selects); the bindings translate them in one place
// (cpp/bindings/errors.cpp). These types cover the rest.
#pragma once

#include <cstdint>
#include <exception>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

namespace nocopy {

/// Memory cannot be shared as asked (negative strides to a DLPack consumer, a read-only view to
/// a consumer that would write, a non-CPU buffer read from the host). Python: BufferError.
class BufferError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A copy was asked for while copies are forbidden on this thread (see copy_policy.hpp).
/// Python: nocopy.CopyForbiddenError, a BufferError.
class CopyForbiddenError : public BufferError {
 public:
  using BufferError::BufferError;
};

/// The caller used an operation a view cannot perform (e.g. advanced indexing), or passed an
/// argument of the wrong type. Python: TypeError.
class TypeError : public std::domain_error {
 public:
  using std::domain_error::domain_error;
};

/// A file (or shared-memory segment) operation failed with an errno. Python: the OSError
/// subclass that errno selects (FileNotFoundError, PermissionError, IsADirectoryError, ...),
/// with .errno, .strerror and .filename set.
class FileError : public std::system_error {
 public:
  /// `action` says what failed ("cannot open .npy file"), `path` which file, `err` the errno.
  /// what() reads "<action> '<path>': <strerror>".
  FileError(int err, std::string path, std::string action)
      : std::system_error(err, std::generic_category(), action + " '" + path + "'"),
        path_(std::move(path)),
        action_(std::move(action)) {}
  /// The file (or segment name) the operation was about.
  const std::string& path() const noexcept { return path_; }
  /// What failed, without the path ("cannot open .npy file").
  const std::string& action() const noexcept { return action_; }

 private:
  std::string path_;
  std::string action_;
};

/// Preparing a batch failed for one sample (a bad image, a failed decode, a token that does not
/// fit). Python: nocopy.LoaderError, a RuntimeError with .sample, .batch and .epoch; when the
/// cause was a ValueError, OverflowError, IndexError, TypeError or BufferError it is an instance
/// of that type too (and its __cause__ is the original error).
class LoaderError : public std::runtime_error {
 public:
  /// `sample` is the sample (a dataset index, a sequence number), `batch` the batch position in
  /// its epoch, `epoch` the epoch; `cause` the exception the sample failed with, if any.
  LoaderError(const std::string& what, int64_t sample, int64_t batch, int64_t epoch,
              std::exception_ptr cause = nullptr)
      : std::runtime_error(what),
        sample_(sample),
        batch_(batch),
        epoch_(epoch),
        cause_(std::move(cause)) {}
  /// The sample that failed.
  int64_t sample() const noexcept { return sample_; }
  /// Position of the batch within its epoch.
  int64_t batch() const noexcept { return batch_; }
  /// Epoch of the batch.
  int64_t epoch() const noexcept { return epoch_; }
  /// The exception the sample failed with (null when there is none).
  const std::exception_ptr& cause() const noexcept { return cause_; }

 private:
  int64_t sample_;
  int64_t batch_;
  int64_t epoch_;
  std::exception_ptr cause_;
};

}  // namespace nocopy
