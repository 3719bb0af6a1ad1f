// Allocator's counting, and the default aligned-heap allocator.
#include "nocopy/core/allocator.hpp"

#include <cstdlib>
#include <new>

namespace nocopy {
namespace {

// Bytes rounded up to whole alignment units (std::aligned_alloc requires it); 0 gives one unit,
// and a size too large to round gives 0.
size_t rounded_size(size_t bytes) noexcept {
  if (bytes == 0) return kAlignment;
  const size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
  return rounded < bytes ? 0 : rounded;
}

class HeapAllocator final : public Allocator {
 public:
  std::string_view name() const override { return "heap"; }

 protected:
  void* do_allocate(size_t bytes) override {
    void* p = std::aligned_alloc(kAlignment, bytes);
    if (p == nullptr) throw std::bad_alloc();
    return p;
  }
  void do_deallocate(void* block, size_t) noexcept override { std::free(block); }
};

}  // namespace

void* Allocator::allocate(size_t bytes) {
  const size_t rounded = rounded_size(bytes);
  if (rounded == 0) throw std::bad_alloc();
  void* p = do_allocate(rounded);
  if (p == nullptr) throw std::bad_alloc();
  const auto n = static_cast<int64_t>(rounded);
  const int64_t now = in_use_.fetch_add(n, std::memory_order_relaxed) + n;
  int64_t peak = peak_.load(std::memory_order_relaxed);
  while (now > peak && !peak_.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
  }
  blocks_.fetch_add(1, std::memory_order_relaxed);
  return p;
}

void Allocator::deallocate(void* block, size_t bytes) noexcept {
  if (block == nullptr) return;
  const size_t rounded = rounded_size(bytes);
  do_deallocate(block, rounded);
  in_use_.fetch_sub(static_cast<int64_t>(rounded), std::memory_order_relaxed);
  blocks_.fetch_sub(1, std::memory_order_relaxed);
}

const AllocatorPtr& default_allocator() {
  // Never destroyed: blocks may be released by static destructors or at interpreter exit.
  static const AllocatorPtr* heap = new AllocatorPtr(std::make_shared<HeapAllocator>());
  return *heap;
}

}  // namespace nocopy
