// Liveness of a shared array's owner: its flock, and its pid and start time (see shm_liveness.hpp).
#include "storage/shm_liveness.hpp"

#include <signal.h>
#include <sys/file.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <thread>

#include "nocopy/core/errors.hpp"

namespace nocopy {

void hold_owner_lock(int fd, const std::string& name) {
  while (::flock(fd, LOCK_SH) != 0) {
    if (errno != EINTR) throw FileError(errno, name, "cannot lock shared array");
  }
}

bool try_exclusive_lock(int fd) {
  // A refusal means an owner holds its shared lock, or another process's `shm list` / `gc` is
  // probing this segment at the same moment (it holds the exclusive lock for microseconds):
  // retry with a short backoff (about 30 ms in all) so that a probe is not taken for an owner.
  constexpr int kRetries = 6;
  for (int attempt = 0;;) {
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) return true;
    if (errno == EINTR) continue;
    if (errno != EWOULDBLOCK || attempt == kRetries) return false;  // other errors: assume held
    std::this_thread::sleep_for(std::chrono::microseconds(500) * (1 << attempt));
    ++attempt;
  }
}

uint64_t process_start_time(int64_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!f || !std::getline(f, line)) return 0;
  size_t close = line.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(line.substr(close + 1));
  std::string field;
  for (int i = 3; i <= 22; ++i) {
    if (!(rest >> field)) return 0;
  }
  try {
    return std::stoull(field);
  } catch (...) {
    return 0;
  }
}

bool process_alive(int64_t pid, uint64_t start) {
  if (pid <= 0 || pid > INT32_MAX) return false;
  if (kill(static_cast<pid_t>(pid), 0) != 0 && errno != EPERM) return false;
  if (start == 0) return true;
  const uint64_t actual = process_start_time(pid);
  return actual == 0 || actual == start;
}

}  // namespace nocopy
