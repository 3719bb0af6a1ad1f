// DLPack import (ownership via the producer's deleter) and export (context holding the view).
#include "nocopy/core/dlpack_bridge.hpp"

#include <memory>
#include <string>
#include <vector>

#include "nocopy/core/copy.hpp"
#include "nocopy/core/errors.hpp"

namespace nocopy {
namespace {

// Calls the producer's deleter exactly once unless released (then an Owner does it later).
template <class Managed>
struct DeleterGuard {
  Managed* tensor;
  ~DeleterGuard() {
    if (tensor != nullptr && tensor->deleter != nullptr) tensor->deleter(tensor);
  }
};

template <class Managed>
View view_of_dl_tensor(Managed* managed, const DLTensor& t, bool readonly) {
  DeleterGuard<Managed> guard{managed};
  if (t.ndim < 0 || t.ndim > kMaxDims) {
    throw std::invalid_argument("DLPack tensor has ndim " + std::to_string(t.ndim) +
                                "; nocopy supports 0.." + std::to_string(kMaxDims));
  }
  auto dtype = dtype_from_dlpack(t.dtype.code, t.dtype.bits, t.dtype.lanes);
  if (!dtype) {
    throw TypeError("DLPack dtype (code=" + std::to_string(t.dtype.code) +
                    ", bits=" + std::to_string(t.dtype.bits) +
                    ", lanes=" + std::to_string(t.dtype.lanes) + ") is not supported by nocopy");
  }
  if (t.ndim > 0 && t.shape == nullptr) throw std::invalid_argument("DLPack tensor has null shape");
  std::vector<int64_t> shape(t.shape, t.shape + t.ndim);
  // Null strides (legacy tensors only) mean compact row-major.
  std::vector<int64_t> strides = t.strides != nullptr
                                     ? std::vector<int64_t>(t.strides, t.strides + t.ndim)
                                     : contiguous_strides(shape);
  char* data = static_cast<char*>(t.data) + t.byte_offset;
  const Device device{static_cast<int32_t>(t.device.device_type), t.device.device_id};
  // Validate geometry before taking ownership (the View constructor throws on bad shapes).
  View probe(data, *dtype, shape, strides, nullptr, readonly, device);
  if (probe.size() > 0 && t.data == nullptr) {
    throw std::invalid_argument("DLPack tensor has a null data pointer but " +
                                std::to_string(probe.size()) + " elements");
  }
  guard.tensor = nullptr;
  OwnerPtr owner;
  try {
    owner = std::make_shared<CallbackOwner>("dlpack", [managed] {
      if (managed->deleter != nullptr) managed->deleter(managed);
    });
  } catch (...) {
    if (managed->deleter != nullptr) managed->deleter(managed);
    throw;
  }
  return View(data, *dtype, std::move(shape), std::move(strides), std::move(owner), readonly,
              device);
}

// What an exported tensor points back to: the view (its owner) and the arrays DLTensor needs.
struct ExportContext {
  View view;
  std::vector<int64_t> shape;
  std::vector<int64_t> strides;
};

// Strides for export: axes of length <= 1 get their row-major stride (a length-1 axis may carry
// a zero or negative stride after newaxis/flip, which some consumers reject for no reason).
std::vector<int64_t> export_strides(const View& v) {
  std::vector<int64_t> strides = v.strides();
  int64_t compact = 1;
  for (size_t i = strides.size(); i-- > 0;) {
    if (v.shape()[i] <= 1) strides[i] = compact;
    compact *= v.shape()[i] > 1 ? v.shape()[i] : 1;
  }
  return strides;
}

template <class Managed>
void fill_dl_tensor(Managed* m, ExportContext* ctx) {
  DLTensor& t = m->dl_tensor;
  const View& v = ctx->view;
  t.data = v.data();
  t.device = DLDevice{static_cast<DLDeviceType>(v.device().type), v.device().id};
  t.ndim = static_cast<int32_t>(v.ndim());
  t.dtype = DLDataType{static_cast<uint8_t>(dtype_dl_code(v.dtype())),
                       static_cast<uint8_t>(itemsize(v.dtype()) * 8), 1};
  t.shape = ctx->shape.data();
  t.strides = ctx->strides.data();
  t.byte_offset = 0;
  m->manager_ctx = ctx;
}

}  // namespace

void require_nonnegative_strides(const View& view) {
  for (int64_t i = 0; i < view.ndim(); ++i) {
    const int64_t s = view.strides()[static_cast<size_t>(i)];
    if (s < 0 && view.shape()[static_cast<size_t>(i)] > 1) {
      throw BufferError("cannot export a view with a negative stride on axis " + std::to_string(i) +
                        " (stride " + std::to_string(s) +
                        " elements) through DLPack: torch, TensorFlow and JAX reject or mishandle "
                        "negative strides; export v.copy() or nc.ascontiguous(v) instead");
    }
  }
}

View import_dlpack(DLManagedTensorVersioned* tensor) {
  if (tensor == nullptr) throw std::invalid_argument("null DLPack tensor");
  if (tensor->version.major != DLPACK_MAJOR_VERSION) {
    DeleterGuard<DLManagedTensorVersioned> guard{tensor};
    throw BufferError("DLPack major version " + std::to_string(tensor->version.major) +
                      " is not supported (nocopy speaks " + std::to_string(DLPACK_MAJOR_VERSION) +
                      ".x)");
  }
  const bool readonly = (tensor->flags & DLPACK_FLAG_BITMASK_READ_ONLY) != 0;
  return view_of_dl_tensor(tensor, tensor->dl_tensor, readonly);
}

View import_dlpack(DLManagedTensor* tensor) {
  if (tensor == nullptr) throw std::invalid_argument("null DLPack tensor");
  return view_of_dl_tensor(tensor, tensor->dl_tensor, false);
}

DLManagedTensorVersioned* export_dlpack_versioned(const View& view, bool copied) {
  require_nonnegative_strides(view);
  auto ctx =
      std::make_unique<ExportContext>(ExportContext{view, view.shape(), export_strides(view)});
  auto m = std::make_unique<DLManagedTensorVersioned>();
  m->version = DLPackVersion{DLPACK_MAJOR_VERSION, DLPACK_MINOR_VERSION};
  m->flags = (view.readonly() ? DLPACK_FLAG_BITMASK_READ_ONLY : 0) |
             (copied ? DLPACK_FLAG_BITMASK_IS_COPIED : 0);
  m->deleter = [](DLManagedTensorVersioned* self) {
    delete static_cast<ExportContext*>(self->manager_ctx);
    delete self;
  };
  fill_dl_tensor(m.get(), ctx.release());
  return m.release();
}

DLManagedTensor* export_dlpack_legacy(const View& view) {
  require_nonnegative_strides(view);
  if (view.readonly()) {
    throw BufferError(
        "cannot export a read-only view through legacy DLPack (it has no read-only flag); the "
        "consumer must ask for DLPack >= 1.0 (max_version=(1, 0)), or export a copy");
  }
  auto ctx =
      std::make_unique<ExportContext>(ExportContext{view, view.shape(), export_strides(view)});
  auto m = std::make_unique<DLManagedTensor>();
  m->deleter = [](DLManagedTensor* self) {
    delete static_cast<ExportContext*>(self->manager_ctx);
    delete self;
  };
  fill_dl_tensor(m.get(), ctx.release());
  return m.release();
}

DLPackExport export_for_consumer(const View& view, const DLPackRequest& request) {
  if (request.device && *request.device != view.device()) {
    throw BufferError("cannot export a view on " + view.device().str() + " to device (" +
                      std::to_string(request.device->type) + ", " +
                      std::to_string(request.device->id) + "): nocopy never moves data");
  }
  DLPackExport out;
  if (request.copy.value_or(false)) {
    // The one explicit copy: a new C-contiguous array the consumer owns alone.
    const View fresh = copy_new(view);
    if (request.versioned) {
      out.versioned = export_dlpack_versioned(fresh, true);
    } else {
      out.legacy = export_dlpack_legacy(fresh);
    }
    return out;
  }
  if (view.readonly()) {
    // DLPack 1.x carries a read-only flag, but torch (2.13) ignores it and hands out a writable
    // tensor: a write then corrupts read-only data or crashes on a read-only mapping. So no
    // read-only view leaves through __dlpack__ without an explicit copy.
    throw BufferError(
        "read-only views are not exported through __dlpack__: some consumers (torch) ignore "
        "DLPack's read-only flag and would write to them. Use np.asarray(v) (read-only array), "
        "v.to_tf() / v.to_jax() (immutable tensors), or __dlpack__(copy=True) / "
        "v.to_torch(copy=True) for a writable copy");
  }
  if (request.versioned) {
    out.versioned = export_dlpack_versioned(view, false);
  } else {
    out.legacy = export_dlpack_legacy(view);
  }
  return out;
}

DLManagedTensor* export_for_immutable_consumer(const View& view) {
  const View alias(view.data(), view.dtype(), view.shape(), view.strides(), view.owner(), false,
                   view.device());
  return export_dlpack_legacy(alias);
}

}  // namespace nocopy
