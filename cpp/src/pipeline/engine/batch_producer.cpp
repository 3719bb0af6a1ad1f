// SlotOutput sizes.
#include "nocopy/pipeline/engine/batch_producer.hpp"

namespace nocopy {

size_t SlotOutput::slot_bytes() const {
  size_t n = itemsize(dtype);
  for (int64_t d : shape) n *= static_cast<size_t>(d);
  return n;
}

}  // namespace nocopy
