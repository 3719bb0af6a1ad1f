// Tests of DLPack import/export: round trips, deleter called exactly once, flags, rejections.
#include "nocopy/core/dlpack_bridge.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "nocopy/core/copy_policy.hpp"
#include "nocopy/core/errors.hpp"

using nocopy::DType;
using nocopy::export_dlpack_legacy;
using nocopy::export_dlpack_versioned;
using nocopy::import_dlpack;
using nocopy::View;

namespace {

// A producer-side tensor whose deleter counts calls.
struct Produced {
  std::vector<float> data = std::vector<float>(12);
  std::vector<int64_t> shape = {3, 4};
  std::vector<int64_t> strides = {4, 1};
  int* deletions;
};

DLManagedTensorVersioned* make_versioned(int* deletions, uint64_t flags = 0) {
  auto* p = new Produced{.deletions = deletions};
  for (size_t i = 0; i < p->data.size(); ++i) p->data[i] = static_cast<float>(i);
  auto* m = new DLManagedTensorVersioned{};
  m->version = {1, 1};
  m->manager_ctx = p;
  m->flags = flags;
  m->deleter = [](DLManagedTensorVersioned* self) {
    auto* prod = static_cast<Produced*>(self->manager_ctx);
    ++*prod->deletions;
    delete prod;
    delete self;
  };
  m->dl_tensor = DLTensor{p->data.data(),  {kDLCPU, 0},       2, {kDLFloat, 32, 1},
                          p->shape.data(), p->strides.data(), 0};
  return m;
}

}  // namespace

TEST(DLPackImport, DeleterRunsOnceWhenLastViewGoes) {
  int deletions = 0;
  {
    View v = import_dlpack(make_versioned(&deletions));
    EXPECT_EQ(v.shape(), (std::vector<int64_t>{3, 4}));
    EXPECT_EQ(v.dtype(), DType::Float32);
    View s = v.slice(1, 1, 3);
    EXPECT_EQ(s.data_as<float>()[0], 1.0f);
    { View copy = v; }
    EXPECT_EQ(deletions, 0);
  }
  EXPECT_EQ(deletions, 1);
}

TEST(DLPackImport, ReadOnlyFlagAndRejections) {
  int deletions = 0;
  EXPECT_TRUE(import_dlpack(make_versioned(&deletions, DLPACK_FLAG_BITMASK_READ_ONLY)).readonly());
  EXPECT_EQ(deletions, 1);
  auto* bad_type = make_versioned(&deletions);
  bad_type->dl_tensor.dtype = {kDLFloat, 8, 1};
  EXPECT_THROW(import_dlpack(bad_type), nocopy::TypeError);
  EXPECT_EQ(deletions, 2);
  auto* bad_version = make_versioned(&deletions);
  bad_version->version.major = 2;
  EXPECT_THROW(import_dlpack(bad_version), nocopy::BufferError);
  EXPECT_EQ(deletions, 3);
  auto* bad_ndim = make_versioned(&deletions);
  bad_ndim->dl_tensor.ndim = -1;
  EXPECT_THROW(import_dlpack(bad_ndim), std::invalid_argument);
  EXPECT_EQ(deletions, 4);
  auto* bad_shape = make_versioned(&deletions);
  static_cast<Produced*>(bad_shape->manager_ctx)->shape[0] = -3;
  EXPECT_THROW(import_dlpack(bad_shape), std::invalid_argument);
  EXPECT_EQ(deletions, 5);
}

TEST(DLPackExport, RoundTripKeepsOwnerAlive) {
  View v = View::empty(DType::Int16, {4, 5});
  std::weak_ptr<const nocopy::Owner> weak = v.owner();
  DLManagedTensorVersioned* m = export_dlpack_versioned(v.slice(1, 1, 4));
  v = View();
  EXPECT_FALSE(weak.expired());
  EXPECT_EQ(m->dl_tensor.strides[0], 5);
  EXPECT_EQ(m->dl_tensor.shape[1], 3);
  EXPECT_EQ(m->dl_tensor.byte_offset, 0u);
  EXPECT_EQ(m->flags, 0u);
  View back = import_dlpack(m);
  EXPECT_FALSE(weak.expired());
  back = View();
  EXPECT_TRUE(weak.expired());
}

TEST(DLPackExport, RefusesNegativeStridesAndReadonlyLegacy) {
  View v = View::empty(DType::Float32, {3, 3});
  try {
    export_dlpack_versioned(v.flip(1));
    FAIL();
  } catch (const nocopy::BufferError& e) {
    EXPECT_NE(std::string(e.what()).find("axis 1"), std::string::npos);
  }
  EXPECT_THROW(export_dlpack_legacy(v.as_readonly()), nocopy::BufferError);
  DLManagedTensorVersioned* ro = export_dlpack_versioned(v.as_readonly());
  EXPECT_EQ(ro->flags & DLPACK_FLAG_BITMASK_READ_ONLY, DLPACK_FLAG_BITMASK_READ_ONLY);
  ro->deleter(ro);
  // A flipped length-1 axis is harmless and exported with a normal stride.
  DLManagedTensor* one = export_dlpack_legacy(v.slice(0, 0, 1).flip(0));
  EXPECT_GE(one->dl_tensor.strides[0], 0);
  one->deleter(one);
}

// --- export policy ------------------------------------------------------------------------------

TEST(DLPackPolicy, ReadOnlyViewsAreRefusedUnlessCopied) {
  View v = View::empty(DType::Float32, {2, 3}).as_readonly();
  nocopy::DLPackRequest request;
  request.versioned = true;
  EXPECT_THROW(nocopy::export_for_consumer(v, request), nocopy::BufferError);
  request.copy = false;
  EXPECT_THROW(nocopy::export_for_consumer(v, request), nocopy::BufferError);
  request.copy = true;
  nocopy::DLPackExport e = nocopy::export_for_consumer(v, request);
  ASSERT_NE(e.versioned, nullptr);
  EXPECT_EQ(e.legacy, nullptr);
  EXPECT_NE(e.versioned->dl_tensor.data, v.data());  // a fresh copy
  EXPECT_TRUE(e.versioned->flags & DLPACK_FLAG_BITMASK_IS_COPIED);
  EXPECT_FALSE(e.versioned->flags & DLPACK_FLAG_BITMASK_READ_ONLY);  // the copy is the consumer's
  e.versioned->deleter(e.versioned);
}

TEST(DLPackPolicy, WritableViewsShareAndLegacyRequestsGetLegacyTensors) {
  View v = View::empty(DType::Float32, {2, 3});
  nocopy::DLPackExport e = nocopy::export_for_consumer(v, {});
  ASSERT_NE(e.legacy, nullptr);
  EXPECT_EQ(e.versioned, nullptr);
  EXPECT_EQ(e.legacy->dl_tensor.data, v.data());
  e.legacy->deleter(e.legacy);
}

TEST(DLPackPolicy, DeviceMismatchAndNegativeStridesAreBufferErrors) {
  View v = View::empty(DType::Float32, {2, 3});
  nocopy::DLPackRequest request;
  request.device = nocopy::Device{2, 0};
  EXPECT_THROW(nocopy::export_for_consumer(v, request), nocopy::BufferError);
  request.device = nocopy::Device{1, 0};
  nocopy::DLPackExport ok = nocopy::export_for_consumer(v, request);
  ok.legacy->deleter(ok.legacy);
  EXPECT_THROW(nocopy::export_for_consumer(v.flip(1), {}), nocopy::BufferError);
  nocopy::DLPackRequest copy;
  copy.copy = true;
  nocopy::DLPackExport flipped = nocopy::export_for_consumer(v.flip(1), copy);  // copies are fine
  flipped.legacy->deleter(flipped.legacy);
}

TEST(DLPackPolicy, CopiesAreRefusedInsideANoCopyScope) {
  View v = View::empty(DType::Float32, {4});
  nocopy::DLPackRequest request;
  request.copy = true;
  nocopy::NoCopyScope scope;
  EXPECT_THROW(nocopy::export_for_consumer(v, request), nocopy::CopyForbiddenError);
  nocopy::DLPackExport shared = nocopy::export_for_consumer(v, {});  // sharing is not copying
  shared.legacy->deleter(shared.legacy);
}

TEST(DLPackPolicy, ImmutableConsumersMayShareReadOnlyViews) {
  int deletions = 0;
  View v = import_dlpack(make_versioned(&deletions)).as_readonly();
  DLManagedTensor* t = nocopy::export_for_immutable_consumer(v);
  EXPECT_EQ(t->dl_tensor.data, v.data());
  v = View();
  EXPECT_EQ(deletions, 0);  // the exported tensor holds the producer's memory
  t->deleter(t);
  EXPECT_EQ(deletions, 1);
}
