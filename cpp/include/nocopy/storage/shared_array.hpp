// Shared arrays: N-d arrays in POSIX shared memory that any process can attach to by name.
//
// A segment starts with a self-describing header (shm_header.hpp) and holds the data from a
// 4096-byte aligned offset. One process owns the name: the creator, or the process the creator
// handed it to (hand_off() here, adopt() there). The owner holds a lock on the segment while its
// mapping lives, so `shm gc` can tell it runs (from any PID namespace), and unlinks the name when
// it closes its handle or its last view goes away, unless the array is persistent. Attachers
// never unlink. The mapping lives as long as any view of it, so close() never invalidates a view.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "nocopy/core/dtype.hpp"
#include "nocopy/core/view.hpp"
#include "nocopy/storage/mapped_file.hpp"
#include "nocopy/storage/shm_header.hpp"

namespace nocopy {

/// Directory where Linux keeps POSIX shared memory (used for listing and for error messages).
inline constexpr const char* kShmDir = "/dev/shm";

/// The mapping of a shared-array segment. In the owning process it holds the owner's lock and
/// unlinks the name in its destructor while owns_name() (not persistent, not handed off, not
/// already unlinked by close()).
class ShmMapping final : public MappedRegion {
 public:
  ~ShmMapping() override;
  std::string_view kind() const override { return "shm"; }
  /// Segment name without the leading '/'.
  const std::string& name() const { return source(); }
  /// True in the process (pid) that owns the segment (created or adopted it); false in forked
  /// children and attachers.
  bool is_creator() const;
  /// True while this process must remove the name: it owns it, the array is not persistent,
  /// and it was neither handed off nor unlinked yet.
  bool owns_name() const;
  /// True when this process owned the name and has removed it (close(), or its handle was
  /// dropped): a reference to it can no longer be attached anywhere.
  bool name_removed() const { return is_creator() && unlinked_; }
  /// The segment's parsed header.
  const ShmHeader& header() const { return header_; }
  /// Removes the name now if owns_name() (idempotent). Never removes another segment that
  /// took the name after this one was removed by someone else.
  void unlink_if_owner() const;
  /// Gives up the duty to unlink (another process adopts the array); the lock is kept while
  /// this mapping lives.
  void hand_off() const { handed_off_ = true; }
  /// Device and inode of the segment (fstat when it was mapped): how a reader that opens
  /// kShmDir/name() again checks that the name still refers to this segment.
  uint64_t device() const { return device_; }
  uint64_t inode() const { return inode_; }
  /// True while kShmDir/name() is this segment (same device and inode): a reference sent to
  /// another process by name attaches this array there, not a removed name or a newer segment
  /// that took it.
  bool name_refers_to_this() const;

 private:
  friend class SharedArray;
  ShmMapping(uint8_t* data, size_t size, MapMode mode, std::string name, ShmHeader header,
             pid_t owner_pid, int lock_fd, const struct stat& st)
      : MappedRegion(data, size, mode, std::move(name)),
        header_(std::move(header)),
        owner_pid_(owner_pid),
        lock_fd_(lock_fd),
        device_(static_cast<uint64_t>(st.st_dev)),
        inode_(static_cast<uint64_t>(st.st_ino)) {}
  ShmHeader header_;
  pid_t owner_pid_;  // the owner's pid when this mapping owns the name, else 0
  int lock_fd_;      // the owner's segment descriptor, holding the owner lock; -1 for attachers
  uint64_t device_, inode_;
  mutable std::atomic<bool> unlinked_{false};
  mutable std::atomic<bool> handed_off_{false};
};

/// Options for SharedArray::create.
struct ShmCreateOptions {
  /// Segment name (with or without a leading '/'); empty generates "nocopy-<pid>-<random>".
  std::string name;
  /// Permission bits of the segment (0600: only this user).
  mode_t mode = 0600;
  /// Keep the segment after the creator closes or exits (remove it with remove_segment).
  bool persist = false;
};

/// A handle on a shared-array segment: the creator's or an attacher's.
class SharedArray {
 public:
  /// Creates a new segment (O_EXCL: an existing name is an error), reserves its pages up front
  /// (a full /dev/shm is an error naming its free space and the size asked, never a SIGBUS
  /// later), writes the header and returns the handle. The data starts zeroed.
  static SharedArray create(std::span<const int64_t> shape, DType dtype,
                            const ShmCreateOptions& options = {});
  /// Attaches to an existing segment by name, validating its header against the segment size.
  /// O(1) in the array size. Read-only attachers get a read-only view. The open never blocks
  /// (a FIFO under the name is refused); a missing name is FileError(ENOENT).
  static SharedArray attach(const std::string& name, bool readonly = false);
  /// Attaches like attach() and takes over the duty to unlink the name, as its creator would:
  /// the receiving side of hand_off(). The adopting process holds the owner lock from now on.
  static SharedArray adopt(const std::string& name, bool readonly = false);

  SharedArray(SharedArray&&) noexcept = default;
  SharedArray& operator=(SharedArray&&) noexcept;
  SharedArray(const SharedArray&) = delete;
  SharedArray& operator=(const SharedArray&) = delete;
  /// Same as close().
  ~SharedArray();

  /// Segment name without the leading '/'.
  const std::string& name() const { return name_; }
  /// The whole array (std::invalid_argument after close()).
  const View& view() const;
  /// True when this handle created (or adopted) the segment.
  bool is_creator() const { return creator_; }
  /// Gives up this process's duty to unlink the name so that another process can adopt() it;
  /// the array stays usable here. std::invalid_argument unless this is the owner's open handle.
  void hand_off() const;
  /// True after close().
  bool closed() const { return mapping_ == nullptr; }
  /// The mapping (owner of every view of this array); null after close().
  const std::shared_ptr<const ShmMapping>& mapping() const { return mapping_; }
  /// Drops this handle. The creator unlinks the name (unless persistent); views already taken
  /// stay valid until they are released.
  void close();
  /// A view of this array's memory with the given geometry (element strides), e.g. rebuilt
  /// from a pickled reference. Every element it reaches must lie inside the data area
  /// (std::invalid_argument otherwise), so a hostile reference cannot reach outside it.
  View view_at(int64_t byte_offset, DType dtype, std::vector<int64_t> shape,
               std::vector<int64_t> strides, bool readonly) const;

 private:
  // attach() and adopt(): opens, validates and maps an existing segment.
  static SharedArray open_existing(const std::string& name, bool readonly, bool adopt);
  SharedArray(std::string name, std::shared_ptr<const ShmMapping> mapping, View view, bool creator)
      : name_(std::move(name)),
        mapping_(std::move(mapping)),
        view_(std::move(view)),
        creator_(creator) {}
  std::string name_;
  std::shared_ptr<const ShmMapping> mapping_;
  View view_;
  bool creator_ = false;
};

/// The shm mapping that holds a view's memory, or null when the view is not of a shared array.
const ShmMapping* shm_mapping_of(const View& view);

/// Byte offset of a shm view's first element from the start of its array's data.
int64_t shm_data_offset_of(const View& view);

/// Unlinks the name of every segment this process created that is still linked and not
/// persistent (for interpreter exit, when objects holding views may never be destroyed).
void unlink_created_segments();

/// Normalizes a user-given segment name ("/x" or "x" -> "x"); std::invalid_argument when empty,
/// longer than 250 characters or containing '/' or a NUL.
std::string normalize_shm_name(const std::string& name);

}  // namespace nocopy
