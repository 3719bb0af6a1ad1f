// Whether nocopy may copy array data on the calling thread: the state behind Python's
// `with nc.no_copy():` and C++'s NoCopyScope.
//
// The state is per thread (a thread-local depth): a scope on one thread never affects another,
// and asyncio tasks that share a thread share it. Every explicit copy of the core (copy_new, so
// View copies, ascontiguous and DLPack export with copy=true) checks it before it allocates.
#pragma once

#include <string_view>

namespace nocopy {

/// Enters one level of "copies forbidden" on the calling thread (levels nest).
void forbid_copies() noexcept;

/// Leaves one level entered by forbid_copies(); does nothing at depth 0.
void allow_copies() noexcept;

/// True while the calling thread is inside at least one forbid_copies().
bool copies_forbidden() noexcept;

/// Throws CopyForbiddenError saying that `what` would copy, when copies are forbidden here.
void refuse_copy_if_forbidden(std::string_view what);

/// RAII form of forbid_copies() / allow_copies() for C++ callers.
class NoCopyScope {
 public:
  /// Forbids copies on this thread until destruction.
  NoCopyScope() noexcept { forbid_copies(); }
  /// Lifts this scope's level.
  ~NoCopyScope() { allow_copies(); }
  NoCopyScope(const NoCopyScope&) = delete;
  NoCopyScope& operator=(const NoCopyScope&) = delete;
};

}  // namespace nocopy
