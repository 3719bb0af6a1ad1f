// Owner base class and the heap and callback owners.
#include "nocopy/core/owner.hpp"

#include <utility>

namespace nocopy {

Owner::~Owner() = default;

std::shared_ptr<AlignedBuffer> AlignedBuffer::allocate(size_t bytes, AllocatorPtr allocator) {
  void* p = allocator->allocate(bytes);
  AlignedBuffer* raw = nullptr;
  try {
    raw = new AlignedBuffer(p, bytes, allocator);
  } catch (...) {
    allocator->deallocate(p, bytes);
    throw;
  }
  return std::shared_ptr<AlignedBuffer>(raw);  // if this throws, it deletes raw: p goes back
}

AlignedBuffer::~AlignedBuffer() {
  allocator_->deallocate(data_, size_);
}

CallbackOwner::~CallbackOwner() {
  if (release_) release_();
}

}  // namespace nocopy
