// Tests of the owners: memory lives exactly as long as the last view, counted by destructions.
#include "nocopy/core/owner.hpp"

#include <gtest/gtest.h>

#include <memory>

#include "nocopy/core/view.hpp"

using nocopy::CallbackOwner;
using nocopy::DType;
using nocopy::View;

TEST(Owner, CallbackRunsExactlyOnceWhenTheLastViewGoes) {
  int released = 0;
  int data[6] = {0, 1, 2, 3, 4, 5};
  {
    auto owner = std::make_shared<CallbackOwner>("test", [&released] { ++released; });
    EXPECT_EQ(owner->kind(), "test");
    View v = View::c_contiguous(data, DType::Int32, {2, 3}, owner);
    owner.reset();
    View row = v.slice(0, 1, 2);
    View flipped = row.flip(1);
    v = View();
    EXPECT_EQ(released, 0);  // slices hold the owner
    row = View();
    EXPECT_EQ(released, 0);
    EXPECT_EQ(*static_cast<int*>(flipped.data()), 5);
  }
  EXPECT_EQ(released, 1);
}

TEST(Owner, CopiesOfAViewShareOneOwner) {
  int released = 0;
  int data[4] = {};
  View a = View::c_contiguous(data, DType::Int32, {4},
                              std::make_shared<CallbackOwner>("test", [&released] { ++released; }));
  View b = a;
  View c = a.reshape(std::vector<int64_t>{2, 2});
  EXPECT_EQ(a.owner(), b.owner());
  EXPECT_EQ(a.owner(), c.owner());
  a = View();
  b = View();
  EXPECT_EQ(released, 0);
  c = View();
  EXPECT_EQ(released, 1);
}

TEST(Owner, AlignedBufferIsAlignedSizedAndFreedWithItsLastView) {
  const int64_t before = nocopy::default_allocator()->blocks_in_use();
  {
    auto buffer = nocopy::AlignedBuffer::allocate(10);
    EXPECT_EQ(buffer->kind(), "heap");
    EXPECT_EQ(buffer->size(), 10u);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(buffer->data()) % nocopy::kAlignment, 0u);
    View v = View::c_contiguous(buffer->data(), DType::UInt8, {10}, buffer);
    buffer.reset();
    EXPECT_EQ(nocopy::default_allocator()->blocks_in_use(), before + 1);
    static_cast<uint8_t*>(v.data())[9] = 7;  // still valid (ASan would see a use after free)
  }
  EXPECT_EQ(nocopy::default_allocator()->blocks_in_use(), before);
  auto empty = nocopy::AlignedBuffer::allocate(0);
  EXPECT_NE(empty->data(), nullptr);
}
