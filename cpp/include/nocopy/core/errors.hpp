// Exception types of the nocopy core beyond the standard ones.
//
// The core reports bad input with standard exceptions (std::invalid_argument -> ValueError,
// std::out_of_range -> IndexError, std::overflow_error -> OverflowError, std::domain_error ->
// TypeError); the bindings translate them in one place. These types cover the rest.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace nocopy {

/// Memory cannot be shared as asked (negative strides to a DLPack consumer, a read-only view to
/// a consumer that would write, a non-CPU buffer read from the host). Python: BufferError.
class BufferError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The caller used an operation a view cannot perform (e.g. advanced indexing). Python: TypeError.
class TypeError : public std::domain_error {
 public:
  using std::domain_error::domain_error;
};

/// Preparing a batch failed for one sample (a bad image, a failed decode, a worker error).
/// Python: nocopy.LoaderError, a RuntimeError with .sample, .batch and .epoch.
class LoaderError : public std::runtime_error {
 public:
  /// `sample` is the dataset index, `batch` the batch position in its epoch, `epoch` the epoch.
  LoaderError(const std::string& what, int64_t sample, int64_t batch, int64_t epoch)
      : std::runtime_error(what), sample_(sample), batch_(batch), epoch_(epoch) {}
  /// Dataset index of the sample that failed.
  int64_t sample() const noexcept { return sample_; }
  /// Position of the batch within its epoch.
  int64_t batch() const noexcept { return batch_; }
  /// Epoch of the batch.
  int64_t epoch() const noexcept { return epoch_; }

 private:
  int64_t sample_;
  int64_t batch_;
  int64_t epoch_;
};

}  // namespace nocopy
