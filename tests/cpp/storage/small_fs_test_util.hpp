// Helper of the storage tests that need a full file system: a forked child in its own mount
// namespace mounts a small tmpfs (invisible to every other process, gone when the child exits)
// and runs the test body there, so a SIGBUS shows as a failed child, not a dead test binary.
#pragma once

#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

namespace small_fs_test {

/// Exit status of a child that could not make its namespace or mount (not root, no
/// CAP_SYS_ADMIN, a container that forbids it): the test is skipped.
constexpr int kCannotMount = 77;

/// What happened to the child: `skipped` when it could not mount, else `status` is the body's
/// return value (0 for success) or a description of the signal that killed it.
struct ChildResult {
  bool skipped = false;
  bool ok = false;
  std::string status;
};

/// Runs `body` (returning 0 on success, another small number naming the failed check) in a
/// forked child where `dir` is a fresh tmpfs of `size` ("1m") in a private mount namespace;
/// `dir` must exist. Exceptions in `body` are failures (status 99).
template <class F>
ChildResult on_small_tmpfs(const std::string& dir, const std::string& size, F body) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (::unshare(CLONE_NEWNS) != 0 ||
        ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        ::mount("tmpfs", dir.c_str(), "tmpfs", 0, ("size=" + size).c_str()) != 0) {
      ::_exit(kCannotMount);
    }
    int rc = 99;
    try {
      rc = body();
    } catch (...) {
      rc = 99;
    }
    ::_exit(rc);
  }
  ChildResult r;
  int status = 0;
  if (pid < 0 || ::waitpid(pid, &status, 0) != pid) {
    r.status = "fork or waitpid failed";
    return r;
  }
  if (WIFEXITED(status)) {
    r.skipped = WEXITSTATUS(status) == kCannotMount;
    r.ok = WEXITSTATUS(status) == 0;
    r.status = "exit " + std::to_string(WEXITSTATUS(status));
  } else if (WIFSIGNALED(status)) {
    r.status = "killed by signal " + std::to_string(WTERMSIG(status));
  }
  return r;
}

}  // namespace small_fs_test
