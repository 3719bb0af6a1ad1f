// The DLPack 1.1 ABI: the C structs through which array libraries hand each other tensors.
//
// Declared here from the DLPack specification so nocopy needs no external header. The layout is
// the specification's exactly; if the official dlpack.h was included first, its declarations are
// used instead (same include guard). Compatibility rules of the ABI: a consumer may read a
// DLManagedTensorVersioned whose major version equals its own; minor versions only add flags and
// enum values. The legacy DLManagedTensor (no version, no flags) is still exchanged with older
// consumers through the "dltensor" capsule name.
#pragma once

#ifndef DLPACK_DLPACK_H_
#define DLPACK_DLPACK_H_

#include <cstdint>

/// Major version of the ABI described here; a different major version is incompatible.
#define DLPACK_MAJOR_VERSION 1
/// Minor version of the ABI described here.
#define DLPACK_MINOR_VERSION 1

extern "C" {

/// ABI version carried by a versioned tensor.
typedef struct {
  uint32_t major;  ///< Incompatible changes bump this.
  uint32_t minor;  ///< Compatible additions bump this.
} DLPackVersion;

/// Kind of device memory lives on.
typedef enum {
  kDLCPU = 1,           ///< Host memory (pageable).
  kDLCUDA = 2,          ///< CUDA device memory.
  kDLCUDAHost = 3,      ///< Pinned host memory allocated by CUDA.
  kDLOpenCL = 4,        ///< OpenCL device memory.
  kDLVulkan = 7,        ///< Vulkan buffer.
  kDLMetal = 8,         ///< Metal buffer (Apple).
  kDLVPI = 9,           ///< Verilog simulator buffer.
  kDLROCM = 10,         ///< ROCm device memory.
  kDLROCMHost = 11,     ///< Pinned host memory allocated by ROCm.
  kDLExtDev = 12,       ///< Reserved for extension devices.
  kDLCUDAManaged = 13,  ///< CUDA unified memory.
  kDLOneAPI = 14,       ///< oneAPI (SYCL) unified shared memory.
  kDLWebGPU = 15,       ///< WebGPU buffer.
  kDLHexagon = 16,      ///< Qualcomm Hexagon DSP.
  kDLMAIA = 17,         ///< Microsoft MAIA device.
} DLDeviceType;

/// A device: its kind and ordinal.
typedef struct {
  DLDeviceType device_type;  ///< Kind of device.
  int32_t device_id;         ///< Ordinal among devices of that kind; 0 for the CPU.
} DLDevice;

/// Type codes of DLDataType::code.
typedef enum {
  kDLInt = 0U,           ///< Signed integer.
  kDLUInt = 1U,          ///< Unsigned integer.
  kDLFloat = 2U,         ///< IEEE floating point.
  kDLOpaqueHandle = 3U,  ///< Opaque handle; not a number.
  kDLBfloat = 4U,        ///< bfloat16.
  kDLComplex = 5U,       ///< Complex number: two floats of bits/2 each (real, imaginary).
  kDLBool = 6U,          ///< Boolean, stored in `bits` bits (8 for one byte).
  kDLFloat8_e3m4 = 7U,   ///< The float8 and float4 variants follow; nocopy does not use them.
  kDLFloat8_e4m3 = 8U,
  kDLFloat8_e4m3b11fnuz = 9U,
  kDLFloat8_e4m3fn = 10U,
  kDLFloat8_e4m3fnuz = 11U,
  kDLFloat8_e5m2 = 12U,
  kDLFloat8_e5m2fnuz = 13U,
  kDLFloat8_e8m0fnu = 14U,
  kDLFloat6_e2m3fn = 15U,
  kDLFloat6_e3m2fn = 16U,
  kDLFloat4_e2m1fn = 17U,
} DLDataTypeCode;

/// Element type: code, width in bits of one lane, and lanes (1 for scalars).
typedef struct {
  uint8_t code;    ///< A DLDataTypeCode.
  uint8_t bits;    ///< Bits per lane, e.g. 32 for float32, 8 for bool.
  uint16_t lanes;  ///< Vector lanes per element; 1 for ordinary arrays.
} DLDataType;

/// A strided tensor in some device's memory; owned by whoever made it.
typedef struct {
  /// Opaque data pointer (for the CPU, the address of the buffer). Element (0, ..., 0) is at
  /// data + byte_offset. May be null only for tensors with no elements.
  void* data;
  /// Device the memory lives on.
  DLDevice device;
  /// Number of dimensions, >= 0.
  int32_t ndim;
  /// Element type.
  DLDataType dtype;
  /// ndim extents; never null when ndim > 0.
  int64_t* shape;
  /// ndim strides in elements (not bytes); may be null in legacy tensors, meaning compact
  /// row-major. Versioned tensors must not pass null.
  int64_t* strides;
  /// Bytes from data to element (0, ..., 0). Some consumers ignore it; nocopy exports 0.
  uint64_t byte_offset;
} DLTensor;

/// Legacy (unversioned) managed tensor: a DLTensor plus the producer's release callback.
typedef struct DLManagedTensor {
  DLTensor dl_tensor;  ///< The tensor.
  void* manager_ctx;   ///< Producer's context for the deleter; may be null.
  /// Called by the consumer exactly once when it no longer needs the tensor; may be null.
  void (*deleter)(struct DLManagedTensor* self);
} DLManagedTensor;

/// The consumer must not write to the tensor.
#define DLPACK_FLAG_BITMASK_READ_ONLY (1UL << 0UL)
/// The producer made a copy for this export (the consumer owns independent memory).
#define DLPACK_FLAG_BITMASK_IS_COPIED (1UL << 1UL)
/// Sub-byte types are padded to whole bytes.
#define DLPACK_FLAG_BITMASK_IS_SUBBYTE_TYPE_PADDED (1UL << 2UL)

/// Versioned managed tensor (DLPack >= 1.0): version and flags first, then the tensor.
typedef struct DLManagedTensorVersioned {
  DLPackVersion version;  ///< The producer's ABI version.
  void* manager_ctx;      ///< Producer's context for the deleter; may be null.
  /// Called by the consumer exactly once when it no longer needs the tensor; may be null.
  void (*deleter)(struct DLManagedTensorVersioned* self);
  uint64_t flags;      ///< DLPACK_FLAG_BITMASK_* bits.
  DLTensor dl_tensor;  ///< The tensor.
} DLManagedTensorVersioned;

}  // extern "C"

#endif  // DLPACK_DLPACK_H_
