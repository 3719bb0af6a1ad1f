// PythonAllocator: the loaders' batch buffers from a Python callable fn(nbytes) (nc.Loader's and
// nc.SequenceLoader's allocator= and pin_memory=). No logic beyond calling Python, checking what
// it returned and keeping it alive.
//
// The batch pool calls allocate() from the consumer thread with the GIL released (next() ->
// fill_locked), so the call takes the GIL. Each block keeps the owner of the Python object it
// came from until the pool gives the block back. That may happen on any thread: a worker dropping
// a cancelled batch, the consumer inside next(), a framework freeing a tensor, after the loader is
// gone, in a forked child, or at interpreter shutdown. A worker may be joined by a thread that
// holds the GIL (a loader deleted from Python), so a release never waits for the GIL: a thread
// that holds it drops the owner at once; any other queues it on a lock-free list that is emptied
// under the GIL (by a pending call, and by the next allocation of any Python allocator). Once the
// interpreter is finalizing, queued owners are never released: those buffers leak at exit, as
// Python's own objects do; a forked child's releases leak too (its copy of the memory goes with
// it).
#include <Python.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <iterator>
#include <map>
#include <mutex>
#include <new>
#include <optional>
#include <sstream>
#include <string>

#include "bindings.hpp"
#include "nocopy/core/allocator.hpp"
#include "nocopy/core/errors.hpp"

namespace nocopy::bindings {
namespace {

/// An owner whose release needs the GIL, queued by a thread that does not hold it.
struct Deferred {
  OwnerPtr owner;
  Deferred* next = nullptr;
};

/// The queued owners (a lock-free stack: pushing never blocks, so it is safe in any thread).
std::atomic<Deferred*> g_deferred{nullptr};
/// Whether a pending call that empties g_deferred is already scheduled.
std::atomic<bool> g_drain_scheduled{false};

/// Releases every queued owner; the caller holds the GIL.
void drain_deferred() noexcept {
  Deferred* d = g_deferred.exchange(nullptr, std::memory_order_acquire);
  while (d != nullptr) {
    Deferred* next = d->next;
    delete d;  // the owner's release (a DECREF, a buffer release, a DLPack deleter) runs here
    d = next;
  }
}

/// The pending call scheduled by release_with_gil (runs on the main thread, with the GIL).
int drain_pending_call(void*) {
  g_drain_scheduled.store(false, std::memory_order_relaxed);
  drain_deferred();
  return 0;
}

/// Drops `owner` now when this thread holds the GIL, else queues it for a thread that does.
void release_with_gil(OwnerPtr owner) noexcept {
  if (!owner) return;
  const bool alive = interpreter_alive();
  if (alive && PyGILState_Check() == 1) {
    owner.reset();
    drain_deferred();
    return;
  }
  auto* node = new (std::nothrow) Deferred{std::move(owner), nullptr};
  if (node == nullptr) return;  // out of memory: `owner` is released here, taking the GIL
  node->next = g_deferred.load(std::memory_order_relaxed);
  while (!g_deferred.compare_exchange_weak(node->next, node, std::memory_order_release,
                                           std::memory_order_relaxed)) {
  }
  if (alive && !g_drain_scheduled.exchange(true, std::memory_order_relaxed)) {
    if (Py_AddPendingCall(&drain_pending_call, nullptr) != 0) {
      g_drain_scheduled.store(false, std::memory_order_relaxed);  // the next allocation drains
    }
  }
}

std::string hex_address(uintptr_t address) {
  std::ostringstream s;
  s << "0x" << std::hex << address;
  return s.str();
}

/// Batch buffers from fn(nbytes): any writable, contiguous, 64-byte aligned host buffer of at
/// least nbytes that nc.view accepts.
class PythonAllocator final : public Allocator {
 public:
  PythonAllocator(nb::handle fn, std::string label, Device device)
      : fn_(fn.ptr()), fn_owner_(python_owner(fn)), label_(std::move(label)), device_(device) {}
  ~PythonAllocator() override {
    for (auto& [address, block] : blocks_) release_with_gil(std::move(block.owner));
    release_with_gil(std::move(fn_owner_));
  }
  std::string_view name() const override { return label_; }
  Device device() const override { return device_; }

 protected:
  void* do_allocate(size_t bytes) override {
    if (!interpreter_alive()) throw std::runtime_error(label_ + ": the interpreter is exiting");
    nb::gil_scoped_acquire gil;  // declared first: released after every Python object below
    drain_deferred();
    nb::object result = nb::steal(PyObject_CallFunction(fn_, "n", static_cast<Py_ssize_t>(bytes)));
    if (!result.is_valid()) throw nb::python_error();  // fn's own exception, unchanged
    std::optional<View> view;
    try {
      view = view_from_object(result);
    } catch (const std::exception& e) {
      throw TypeError(label_ + " returned " + std::string(nb::repr(result).c_str()) +
                      ", which nc.view does not accept (" + e.what() +
                      "); it must return a writable buffer of at least " + std::to_string(bytes) +
                      " bytes");
    }
    const View& v = *view;
    const auto address = reinterpret_cast<uintptr_t>(v.data());
    const std::string what =
        label_ + " returned a buffer for " + std::to_string(bytes) + " bytes that ";
    if (!v.device().is_host_accessible()) {
      throw std::invalid_argument(what + "is on " + v.device().str() +
                                  "; batch buffers must be host memory");
    }
    if (v.readonly()) throw std::invalid_argument(what + "is read-only; it must be writable");
    if (!v.is_c_contiguous()) {
      throw std::invalid_argument(what + "is not contiguous (shape " + format_tuple(v.shape()) +
                                  "); it must be one contiguous block");
    }
    if (v.nbytes() < 0 || static_cast<uint64_t>(v.nbytes()) < bytes) {
      throw std::invalid_argument(what + "holds only " + std::to_string(v.nbytes()) +
                                  " bytes; it must hold at least " + std::to_string(bytes));
    }
    if (address % kAlignment != 0) {
      throw std::invalid_argument(what + "starts at " + hex_address(address) +
                                  ", which is not 64-byte aligned (address % 64 = " +
                                  std::to_string(address % kAlignment) + ")");
    }
    std::lock_guard<std::mutex> lock(mutex_);
    // Two live blocks sharing bytes would let one batch overwrite another.
    auto after = blocks_.lower_bound(address);
    const bool hits_next = after != blocks_.end() && after->first < address + bytes;
    const bool hits_prev = after != blocks_.begin() &&
                           std::prev(after)->first + std::prev(after)->second.bytes > address;
    if (hits_next || hits_prev) {
      const auto& other = hits_next ? *after : *std::prev(after);
      throw std::invalid_argument(
          what + "starts at " + hex_address(address) + " and overlaps the buffer of " +
          std::to_string(other.second.bytes) + " bytes at " + hex_address(other.first) +
          " that it returned earlier and that is still in use; each "
          "call must return new memory");
    }
    blocks_.emplace(address, Block{bytes, v.owner()});
    return v.data();
  }

  void do_deallocate(void* block, size_t) noexcept override {
    // A forked child leaves the block and its object alone: a parent thread may have held the
    // mutex at the fork, and the child's copy of the memory goes away with the child.
    if (static_cast<int>(getpid()) != creator_pid_) return;
    OwnerPtr owner;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = blocks_.find(reinterpret_cast<uintptr_t>(block));
      if (it == blocks_.end()) return;
      owner = std::move(it->second.owner);
      blocks_.erase(it);
    }
    release_with_gil(std::move(owner));
  }

 private:
  /// One block handed out: its size and the owner of the Python object it lies in.
  struct Block {
    size_t bytes;
    OwnerPtr owner;
  };
  PyObject* fn_;       // borrowed: fn_owner_ holds the reference
  OwnerPtr fn_owner_;  // released like the blocks, from whichever thread drops the allocator
  std::string label_;
  Device device_;  // host memory, or pinned host memory (pin_memory=True)
  int creator_pid_ = static_cast<int>(getpid());
  std::mutex mutex_;
  std::map<uintptr_t, Block> blocks_;  // by start address
};

}  // namespace

AllocatorPtr python_allocator(nb::handle fn) {
  if (fn.is_none()) return nullptr;
  if (PyCallable_Check(fn.ptr()) == 0) {
    throw TypeError("allocator must be a callable fn(nbytes) returning a buffer, got " +
                    std::string(nb::repr(fn).c_str()));
  }
  Device device;
  nb::object kind = nb::getattr(fn, "nocopy_device", nb::none());
  const char* text = PyUnicode_Check(kind.ptr()) ? PyUnicode_AsUTF8(kind.ptr()) : nullptr;
  if (text == nullptr) PyErr_Clear();
  if (text != nullptr && std::string_view(text) == "cuda_host") {
    device = Device{kDeviceCudaHost, 0};
  }
  return std::make_shared<PythonAllocator>(fn, "allocator " + std::string(nb::repr(fn).c_str()),
                                           device);
}

}  // namespace nocopy::bindings
