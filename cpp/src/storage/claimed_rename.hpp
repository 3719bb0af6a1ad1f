// The move onto a free name for file systems without renameat2's RENAME_NOREPLACE (see
// nocopy/storage/atomic_rename.hpp), declared here so the tests can run it on any file system.
#pragma once

#include <string>

namespace nocopy {

/// Moves `from` to `to` after claiming the name with an operation that fails when it is taken:
/// link for a file (then the old name is unlinked), mkdir for a directory (then the directory
/// is renamed onto that empty one, which only this call made). FileError(EEXIST) naming `to`
/// when the name is taken; other failures FileError naming `from`.
void rename_claiming_the_name(const std::string& from, const std::string& to);

}  // namespace nocopy
