// Renames that never destroy what is at the destination: a move onto a name that must be free,
// and an atomic swap of two names. Writers that build a file or folder under a temporary name
// use them to put it into place (pack_images: a new ImageSet folder, an old one replaced).
#pragma once

#include <string>

namespace nocopy {

/// Moves `from` (a file or a directory) to `to` only if nothing is at `to`, atomically
/// (renameat2 RENAME_NOREPLACE): FileError(EEXIST) naming `to` when the name is taken, even by
/// an empty directory or a dangling symbolic link. Where the file system lacks the flag, a file
/// is linked (link fails on a taken name) and a directory renamed onto an empty directory this
/// call makes first (mkdir fails on a taken name). Other failures are FileError naming `from`.
void rename_no_replace(const std::string& from, const std::string& to);

/// Swaps the entries named `a` and `b` (files, directories or links, on one file system)
/// atomically (renameat2 RENAME_EXCHANGE): no moment exists where either name is missing.
/// FileError naming `b` on failure: ENOENT when either is missing, EINVAL (or ENOSYS) where
/// the file system or kernel cannot exchange.
void exchange_paths(const std::string& a, const std::string& b);

}  // namespace nocopy
