// BatchPool and BatchBuffer: allocations recycled when their last user lets go.
#include "nocopy/pipeline/engine/batch_pool.hpp"

#include <unistd.h>

#include <utility>

namespace nocopy {

BatchBuffer::~BatchBuffer() {
  auto pool = pool_.lock();
  // In a forked child the pool's mutex may have been copied while a parent thread held it:
  // the child frees the memory itself and never touches the pool.
  if (pool && pool->creator_pid_ == static_cast<int>(getpid())) {
    pool->give_back(data_);
  } else {
    allocator_->deallocate(data_, size_);
  }
}

std::shared_ptr<BatchPool> BatchPool::create(size_t buffer_bytes, size_t max_spare,
                                             AllocatorPtr allocator, BlockCheck check) {
  return std::shared_ptr<BatchPool>(
      new BatchPool(buffer_bytes, max_spare, std::move(allocator), std::move(check)));
}

BatchPool::BatchPool(size_t buffer_bytes, size_t max_spare, AllocatorPtr allocator,
                     BlockCheck check)
    : buffer_bytes_(buffer_bytes),
      max_spare_(max_spare),
      allocator_(std::move(allocator)),
      check_(std::move(check)),
      creator_pid_(static_cast<int>(getpid())) {}

BatchPool::~BatchPool() {
  if (creator_pid_ != static_cast<int>(getpid())) return;  // a forked child: see ~BatchBuffer
  for (void* p : spare_) allocator_->deallocate(p, buffer_bytes_);
}

std::shared_ptr<BatchBuffer> BatchPool::acquire() {
  void* p = nullptr;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!spare_.empty()) {
      p = spare_.back();
      spare_.pop_back();
    }
  }
  if (p == nullptr) {
    p = allocator_->allocate(buffer_bytes_);
    if (check_) {
      try {
        check_(p, buffer_bytes_);
      } catch (...) {
        allocator_->deallocate(p, buffer_bytes_);
        throw;
      }
    }
    std::lock_guard<std::mutex> lock(mutex_);
    ++allocated_;
    ++total_allocations_;
  }
  BatchBuffer* raw = nullptr;
  try {
    raw = new BatchBuffer(p, buffer_bytes_, weak_from_this(), allocator_);
  } catch (...) {
    give_back(p);
    throw;
  }
  return std::shared_ptr<BatchBuffer>(raw);  // if this throws, it deletes raw: memory goes back
}

void BatchPool::give_back(void* data) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (spare_.size() < max_spare_) {
      spare_.push_back(data);
      return;
    }
    --allocated_;
  }
  allocator_->deallocate(data, buffer_bytes_);
}

size_t BatchPool::allocated() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return allocated_;
}

size_t BatchPool::total_allocations() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return total_allocations_;
}

size_t BatchPool::spare() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return spare_.size();
}

}  // namespace nocopy
