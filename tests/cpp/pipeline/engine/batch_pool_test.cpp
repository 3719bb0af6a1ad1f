// Tests of BatchPool: alignment, reuse only after release, spare limit, pool outliving, and
// releases in a forked child that never touch the pool.
#include "nocopy/pipeline/engine/batch_pool.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>
#include <vector>

using nocopy::BatchPool;

TEST(BatchPool, AlignedAndReusedOnlyAfterRelease) {
  auto pool = BatchPool::create(1000, 2);
  auto a = pool->acquire();
  auto b = pool->acquire();
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a->data()) % nocopy::kAlignment, 0u);
  EXPECT_NE(a->data(), b->data());
  EXPECT_EQ(a->size(), 1000u);
  EXPECT_EQ(a->kind(), "loader batch");
  EXPECT_EQ(pool->allocated(), 2u);
  void* held = a->data();
  nocopy::OwnerPtr export_ref = a;  // a second holder, like a framework tensor
  a.reset();
  auto c = pool->acquire();  // a is still held: must not be handed out again
  EXPECT_NE(c->data(), held);
  EXPECT_EQ(pool->allocated(), 3u);
  export_ref.reset();
  EXPECT_EQ(pool->spare(), 1u);
  auto d = pool->acquire();
  EXPECT_EQ(d->data(), held);  // reused once every holder let go
  EXPECT_EQ(pool->spare(), 0u);
}

TEST(BatchPool, KeepsAtMostMaxSpare) {
  auto pool = BatchPool::create(64, 1);
  {
    std::vector<std::shared_ptr<nocopy::BatchBuffer>> v;
    for (int i = 0; i < 5; ++i) v.push_back(pool->acquire());
    EXPECT_EQ(pool->allocated(), 5u);
  }
  EXPECT_EQ(pool->spare(), 1u);
  EXPECT_EQ(pool->allocated(), 1u);
}

TEST(BatchPool, BuffersOutliveThePool) {
  auto pool = BatchPool::create(4096, 4);
  auto a = pool->acquire();
  static_cast<char*>(a->data())[4095] = 1;
  pool.reset();  // the buffer frees itself later (ASan checks for leaks and double frees)
  EXPECT_EQ(static_cast<char*>(a->data())[4095], 1);
}

TEST(BatchPool, ConcurrentAcquireRelease) {
  auto pool = BatchPool::create(256, 4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&pool, t] {
      for (int i = 0; i < 2000; ++i) {
        auto b = pool->acquire();
        static_cast<unsigned char*>(b->data())[i % 256] = static_cast<unsigned char>(t);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_LE(pool->allocated(), 4u);
  EXPECT_EQ(pool->allocated(), pool->spare());
}

TEST(BatchPool, ForkedChildFreesWithoutThePool) {
  // A child must not take the pool's mutex (a parent thread may have held it at the fork): its
  // releases free the memory straight to the allocator and never become spares.
  auto pool = BatchPool::create(4096, 4);
  auto kept = pool->acquire();
  const pid_t pid = fork();
  if (pid == 0) {
    alarm(10);  // a hang fails the test instead of stalling it
    const int64_t blocks = nocopy::default_allocator()->blocks_in_use();
    kept.reset();
    const bool freed = nocopy::default_allocator()->blocks_in_use() == blocks - 1;
    const bool not_spare = pool->spare() == 0;
    _exit(freed && not_spare ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  kept.reset();  // in the parent the buffer goes back to the pool as before
  EXPECT_EQ(pool->spare(), 1u);
}
