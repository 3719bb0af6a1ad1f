// Whether a shared array's creator still runs, robustly across PID namespaces.
//
// The creator (or the process that adopted the array) holds a shared flock on the segment's
// descriptor for as long as its mapping lives. The kernel drops the lock on any death (exit,
// SIGTERM, os._exit, kill -9), and the lock lives on the file itself, so it is seen from every
// PID namespace that shares /dev/shm. A checker takes the exclusive lock without waiting: if it
// gets it, no owner holds the segment. The pid and start time in the header remain as a second,
// conservative witness (segments written by other tools that do not lock).
#pragma once

#include <cstdint>
#include <string>

namespace nocopy {

/// Takes the owner's shared lock on a segment descriptor (held until the descriptor's last copy
/// closes); FileError naming the segment on failure.
void hold_owner_lock(int fd, const std::string& name);

/// Tries to take the exclusive lock without waiting: true when taken (no owner holds the
/// segment; the lock is held until `fd` closes), false when an owner holds it.
bool try_exclusive_lock(int fd);

/// True when process `pid` runs and (when `start` is not 0) started at `start` clock ticks.
bool process_alive(int64_t pid, uint64_t start);

/// Start time of process `pid` in clock ticks after boot (field 22 of /proc/<pid>/stat), 0 if
/// unknown.
uint64_t process_start_time(int64_t pid);

}  // namespace nocopy
