// Allocator: where nocopy gets the memory it owns (heap copies, loader batch buffers), like
// Arrow's MemoryPool. Every block is 64-byte aligned and counted (bytes in use, peak, blocks).
//
// The default allocator takes aligned heap memory. A user allocator (pinned host memory, a
// framework's caching allocator) derives from Allocator and implements do_allocate and
// do_deallocate; the counting is done once, here, for every implementation. Owners hold an
// AllocatorPtr, so an allocator lives until the last block it gave out is released.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "nocopy/core/device.hpp"

namespace nocopy {

/// Alignment of every allocation nocopy makes (TensorFlow shares only 64-byte aligned memory).
inline constexpr size_t kAlignment = 64;

/// A source of 64-byte aligned memory blocks that counts what it hands out (thread-safe).
class Allocator {
 public:
  virtual ~Allocator() = default;
  Allocator() = default;
  Allocator(const Allocator&) = delete;
  Allocator& operator=(const Allocator&) = delete;

  /// A block of at least `bytes` bytes (never null, even for 0), aligned to kAlignment.
  /// Throws std::bad_alloc when the memory cannot be had.
  void* allocate(size_t bytes);
  /// Gives back a block from allocate(bytes) of this allocator, with the same `bytes`.
  void deallocate(void* block, size_t bytes) noexcept;

  /// Bytes in blocks handed out and not yet given back.
  int64_t bytes_in_use() const noexcept { return in_use_.load(std::memory_order_relaxed); }
  /// The largest bytes_in_use() seen so far.
  int64_t peak_bytes() const noexcept { return peak_.load(std::memory_order_relaxed); }
  /// Blocks handed out and not yet given back.
  int64_t blocks_in_use() const noexcept { return blocks_.load(std::memory_order_relaxed); }
  /// Short name for messages and repr ("heap", "pinned", ...).
  virtual std::string_view name() const = 0;
  /// Where the blocks live: host memory (the default), pinned host memory (kDeviceCudaHost), or
  /// a device's memory for a stage that runs there.
  virtual Device device() const { return {}; }

 protected:
  /// Implementations: `bytes` (> 0, a multiple of kAlignment) aligned to kAlignment, or throw
  /// std::bad_alloc.
  virtual void* do_allocate(size_t bytes) = 0;
  /// Implementations: release a block do_allocate(bytes) returned.
  virtual void do_deallocate(void* block, size_t bytes) noexcept = 0;

 private:
  std::atomic<int64_t> in_use_{0};
  std::atomic<int64_t> peak_{0};
  std::atomic<int64_t> blocks_{0};
};

/// Shared handle to an allocator, held by every owner of a block it gave out.
using AllocatorPtr = std::shared_ptr<Allocator>;

/// The process-wide default: aligned heap memory (std::aligned_alloc).
const AllocatorPtr& default_allocator();

}  // namespace nocopy
