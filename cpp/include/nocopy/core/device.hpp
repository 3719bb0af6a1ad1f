// Device: where memory lives, as DLPack names it (a device type and an ordinal). Views, exports
// and allocators carry one: nocopy reads and writes host memory itself (plain or pinned), and
// hands other devices' memory through unchanged.
#pragma once

#include <cstdint>
#include <string>

namespace nocopy {

/// Where memory lives, as a DLPack (device_type, device_id) pair.
struct Device {
  /// DLPack device type; 1 is kDLCPU.
  int32_t type = 1;
  /// Device ordinal; 0 for the CPU.
  int32_t id = 0;

  /// True for host memory, the only kind nocopy reads or writes itself.
  bool is_cpu() const { return type == 1; }
  /// True for memory the host can read and write: plain or pinned (page-locked) host memory.
  bool is_host_accessible() const { return type == 1 || type == 3; }
  /// Human-readable name ("cpu", "cuda:0", "device 13:1").
  std::string str() const;
  friend bool operator==(const Device&, const Device&) = default;
};

/// DLPack device types nocopy names: kDLCPU, kDLCUDA, kDLCUDAHost (pinned host memory).
inline constexpr int32_t kDeviceCpu = 1, kDeviceCuda = 2, kDeviceCudaHost = 3;

}  // namespace nocopy
