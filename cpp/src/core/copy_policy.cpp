// The per-thread "copies forbidden" depth and its check.
#include "nocopy/core/copy_policy.hpp"

#include <string>

#include "nocopy/core/errors.hpp"

namespace nocopy {
namespace {

thread_local int t_forbid_depth = 0;

}  // namespace

void forbid_copies() noexcept {
  ++t_forbid_depth;
}

void allow_copies() noexcept {
  if (t_forbid_depth > 0) --t_forbid_depth;
}

bool copies_forbidden() noexcept {
  return t_forbid_depth > 0;
}

void refuse_copy_if_forbidden(std::string_view what) {
  if (t_forbid_depth > 0) {
    throw CopyForbiddenError(std::string(what) +
                             " would copy array data inside nc.no_copy() (a no-copy scope on this "
                             "thread); leave the block, or use a zero-copy path (nc.view, "
                             "slicing, to_* without copy=True)");
  }
}

}  // namespace nocopy
