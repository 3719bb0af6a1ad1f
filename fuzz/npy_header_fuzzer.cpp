// libFuzzer target for the .npy header parser: any input must either parse or raise a standard
// exception, and whatever parses must survive a write -> parse round trip unchanged.
#include <cstdint>
#include <cstdlib>
#include <span>
#include <stdexcept>

#include "nocopy/storage/npy_header.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> bytes(data, size);
  nocopy::NpyHeader h;
  try {
    h = nocopy::parse_npy_header(bytes, size);
  } catch (const std::exception&) {
    return 0;  // rejected with an exception: fine
  }
  if (h.data_offset > size || h.data_bytes > size - h.data_offset) std::abort();
  // Re-encode what was parsed and parse it back (with room for the data it announces).
  std::string again = nocopy::make_npy_header(h.dtype, h.shape, h.fortran_order);
  std::span<const uint8_t> round(reinterpret_cast<const uint8_t*>(again.data()), again.size());
  nocopy::NpyHeader r = nocopy::parse_npy_header(round, again.size() + h.data_bytes);
  if (r.dtype != h.dtype || r.shape != h.shape || r.fortran_order != h.fortran_order ||
      r.data_bytes != h.data_bytes || r.data_offset % 64 != 0) {
    std::abort();
  }
  return 0;
}
