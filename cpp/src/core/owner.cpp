// Owner base class and the heap and callback owners.
#include "nocopy/core/owner.hpp"

#include <cstdlib>
#include <new>

namespace nocopy {

Owner::~Owner() = default;

std::shared_ptr<AlignedBuffer> AlignedBuffer::allocate(size_t bytes) {
  size_t rounded = bytes == 0 ? kAlignment : (bytes + kAlignment - 1) / kAlignment * kAlignment;
  if (rounded < bytes) throw std::bad_alloc();
  void* p = std::aligned_alloc(kAlignment, rounded);
  if (p == nullptr) throw std::bad_alloc();
  return std::shared_ptr<AlignedBuffer>(new AlignedBuffer(p, bytes));
}

AlignedBuffer::~AlignedBuffer() {
  std::free(data_);
}

CallbackOwner::~CallbackOwner() {
  if (release_) release_();
}

}  // namespace nocopy
