// SampleSource: the one interface every source a producer reads implements: how many samples
// it holds and which memory it reads. Each kind of data refines it with what its producer needs
// (ImageSource: image sizes and the fused window pass; SequenceSource: windows of rows); a new
// kind of data (video, audio) is a new refinement, its storage read through storage/read_at.hpp.
#pragma once

#include <cstdint>
#include <vector>

#include "nocopy/core/view.hpp"

namespace nocopy {

/// A source of samples for a producer.
class SampleSource {
 public:
  virtual ~SampleSource() = default;
  /// Samples it holds (images, sequences, ...).
  virtual int64_t size() const = 0;
  /// The memory it reads: batch buffers must never overlap it.
  virtual std::vector<ByteRange> extents() const = 0;
};

}  // namespace nocopy
