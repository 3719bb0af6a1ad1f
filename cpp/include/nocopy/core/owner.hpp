// Owners: the objects that keep a block of memory alive for as long as any view uses it.
//
// Every view holds a shared_ptr<const Owner>; the memory is released (freed, unmapped, handed
// back to a pool, or returned to a Python object or a DLPack producer) when the last view,
// capsule or framework tensor that refers to it goes away.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string_view>

#include "nocopy/core/allocator.hpp"

namespace nocopy {

/// Keeps memory alive; subclasses release it in their destructor.
class Owner {
 public:
  virtual ~Owner();
  /// Short description of what holds the memory ("heap", "python", "dlpack", "shm", "mmap").
  virtual std::string_view kind() const = 0;
};

/// Shared handle to an owner, held by every view of its memory.
using OwnerPtr = std::shared_ptr<const Owner>;

/// A 64-byte aligned block owned by nocopy, from an Allocator (the heap by default).
class AlignedBuffer final : public Owner {
 public:
  /// Allocates `bytes` from `allocator` (a block is reserved even for 0, so the pointer is never
  /// null). Throws std::bad_alloc when the allocation fails.
  static std::shared_ptr<AlignedBuffer> allocate(size_t bytes,
                                                 AllocatorPtr allocator = default_allocator());
  ~AlignedBuffer() override;
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;

  std::string_view kind() const override { return "heap"; }
  /// Start of the allocation, 64-byte aligned.
  void* data() const { return data_; }
  /// Usable size in bytes as requested.
  size_t size() const { return size_; }
  /// The allocator the block came from (and goes back to).
  const AllocatorPtr& allocator() const { return allocator_; }

 private:
  AlignedBuffer(void* data, size_t size, AllocatorPtr allocator)
      : data_(data), size_(size), allocator_(std::move(allocator)) {}
  void* data_;
  size_t size_;
  AllocatorPtr allocator_;
};

/// Runs a callback when the last view goes away (for memory whose release is a function call,
/// e.g. a DLPack deleter or a pool return).
class CallbackOwner final : public Owner {
 public:
  /// `release` is called exactly once, from the destructor; `kind` must be a string literal.
  template <class F>
  CallbackOwner(std::string_view kind, F&& release)
      : kind_(kind), release_(std::forward<F>(release)) {}
  ~CallbackOwner() override;
  std::string_view kind() const override { return kind_; }

 private:
  std::string_view kind_;
  std::function<void()> release_;
};

}  // namespace nocopy
