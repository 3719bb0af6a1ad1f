// Device names for messages.
#include "nocopy/core/device.hpp"

namespace nocopy {

std::string Device::str() const {
  switch (type) {
    case 1:
      return "cpu";
    case 2:
      return "cuda:" + std::to_string(id);
    case 3:
      return "cuda_host:" + std::to_string(id);
    case 10:
      return "rocm:" + std::to_string(id);
    default:
      return "device " + std::to_string(type) + ":" + std::to_string(id);
  }
}

}  // namespace nocopy
