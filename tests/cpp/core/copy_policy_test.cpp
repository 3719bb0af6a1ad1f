// Tests of the per-thread copy policy: copy_new refuses inside a scope, scopes nest, other
// threads are unaffected, and zero-copy operations are never refused.
#include "nocopy/core/copy_policy.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "nocopy/core/copy.hpp"
#include "nocopy/core/errors.hpp"
#include "nocopy/core/view.hpp"

using nocopy::View;

TEST(CopyPolicy, CopiesAreRefusedInsideAScopeOnly) {
  View v = View::empty(nocopy::DType::Float32, {4, 4});
  EXPECT_FALSE(nocopy::copies_forbidden());
  {
    nocopy::NoCopyScope scope;
    EXPECT_TRUE(nocopy::copies_forbidden());
    EXPECT_THROW(nocopy::copy_new(v), nocopy::CopyForbiddenError);
    EXPECT_THROW(nocopy::copy_new(v), nocopy::BufferError);  // a kind of BufferError
    View t = v.transpose().slice(0, 1, 3);                   // views are fine
    EXPECT_EQ(t.shape()[0], 2);
    View dst = View::empty(nocopy::DType::Float32, {4, 4});  // allocating is not copying
    nocopy::copy(v, dst);                                    // copying into given memory is
    EXPECT_EQ(dst.shape(), v.shape());                       // the caller's explicit choice
  }
  EXPECT_FALSE(nocopy::copies_forbidden());
  EXPECT_NO_THROW(nocopy::copy_new(v));
}

TEST(CopyPolicy, ScopesNestAndExtraAllowsAreHarmless) {
  nocopy::forbid_copies();
  nocopy::forbid_copies();
  nocopy::allow_copies();
  EXPECT_TRUE(nocopy::copies_forbidden());
  nocopy::allow_copies();
  EXPECT_FALSE(nocopy::copies_forbidden());
  nocopy::allow_copies();  // at depth 0: nothing
  EXPECT_FALSE(nocopy::copies_forbidden());
}

TEST(CopyPolicy, OtherThreadsAreUnaffected) {
  nocopy::NoCopyScope scope;
  bool forbidden_there = true;
  std::thread t([&forbidden_there] {
    forbidden_there = nocopy::copies_forbidden();
    View v = View::empty(nocopy::DType::UInt8, {8});
    nocopy::copy_new(v);  // allowed on this thread
  });
  t.join();
  EXPECT_FALSE(forbidden_there);
}

TEST(CopyPolicy, TheMessageSaysWhatWouldCopy) {
  nocopy::NoCopyScope scope;
  try {
    nocopy::copy_new(View::empty(nocopy::DType::UInt8, {3, 5}));
    FAIL();
  } catch (const nocopy::CopyForbiddenError& e) {
    EXPECT_NE(std::string(e.what()).find("(3, 5)"), std::string::npos) << e.what();
  }
}
