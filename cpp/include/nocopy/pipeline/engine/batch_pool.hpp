// BatchPool: recycled 64-byte aligned batch buffers (from an Allocator, the heap by default) that
// return to the pool only when every view and export of them has been released.
//
// The loader writes each batch into a buffer from the pool and hands out views whose owner is
// the buffer. A batch the user keeps holds its buffer, so the loader can never overwrite it; when
// the last view, tensor or capsule goes away the buffer's destructor gives the memory back to
// the pool (or frees it when the pool is gone or already keeps enough spares). In a forked
// child, releases never touch the pool: a parent thread may have held its mutex at the fork.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "nocopy/core/allocator.hpp"
#include "nocopy/core/owner.hpp"

namespace nocopy {

class BatchPool;

/// Owner of one pooled batch buffer; its destructor returns the memory to the pool.
class BatchBuffer final : public Owner {
 public:
  ~BatchBuffer() override;
  BatchBuffer(const BatchBuffer&) = delete;
  BatchBuffer& operator=(const BatchBuffer&) = delete;

  std::string_view kind() const override { return "loader batch"; }
  /// Start of the buffer, 64-byte aligned.
  void* data() const { return data_; }
  /// Size in bytes (the pool's buffer size).
  size_t size() const { return size_; }

 private:
  friend class BatchPool;
  BatchBuffer(void* data, size_t size, std::weak_ptr<BatchPool> pool, AllocatorPtr allocator)
      : data_(data), size_(size), pool_(std::move(pool)), allocator_(std::move(allocator)) {}
  void* data_;
  size_t size_;
  std::weak_ptr<BatchPool> pool_;
  AllocatorPtr allocator_;  // frees the memory when the pool is already gone
};

/// Checks a block the allocator just gave (its start and size); throws to refuse it.
using BlockCheck = std::function<void(const void* block, size_t bytes)>;

/// A thread-safe free list of equally sized aligned buffers.
class BatchPool : public std::enable_shared_from_this<BatchPool> {
 public:
  /// A pool of `buffer_bytes` buffers from `allocator` that keeps at most `max_spare` free ones
  /// for reuse. `check`, when given, sees every new block before it is used: a block it refuses
  /// (by throwing) goes back to the allocator and acquire() throws its exception.
  static std::shared_ptr<BatchPool> create(size_t buffer_bytes, size_t max_spare,
                                           AllocatorPtr allocator = default_allocator(),
                                           BlockCheck check = nullptr);
  ~BatchPool();
  BatchPool(const BatchPool&) = delete;
  BatchPool& operator=(const BatchPool&) = delete;

  /// A buffer for one batch: a spare one when available, else a new allocation
  /// (std::bad_alloc when that fails). Contents are unspecified.
  std::shared_ptr<BatchBuffer> acquire();

  /// Size of every buffer, in bytes.
  size_t buffer_bytes() const { return buffer_bytes_; }
  /// The allocator the buffers come from.
  const AllocatorPtr& allocator() const { return allocator_; }
  /// Where the buffers live (the allocator's device: host memory, pinned host memory, ...).
  Device device() const { return allocator_->device(); }
  /// Blocks obtained from the allocator since the pool was created.
  size_t total_allocations() const;
  /// Buffers currently allocated by this pool (in use or spare).
  size_t allocated() const;
  /// Spare buffers waiting for reuse.
  size_t spare() const;

 private:
  friend class BatchBuffer;
  BatchPool(size_t buffer_bytes, size_t max_spare, AllocatorPtr allocator, BlockCheck check);
  /// Takes back a buffer's memory (from any thread); frees it when enough spares are kept.
  void give_back(void* data);

  size_t buffer_bytes_;
  size_t max_spare_;
  AllocatorPtr allocator_;
  BlockCheck check_;
  mutable std::mutex mutex_;
  std::vector<void*> spare_;
  size_t allocated_ = 0;
  size_t total_allocations_ = 0;
  int creator_pid_;  // a forked child's releases bypass the pool (its mutex may be held)
};

}  // namespace nocopy
