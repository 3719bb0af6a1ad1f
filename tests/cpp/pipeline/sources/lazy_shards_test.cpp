// Tests of the lazy-shard state machine shared by every source whose shards open on demand:
// one opening per shard however many threads ask at once (run under TSan in CI), an opening that
// throws leaves the shard closed for the next caller, and the least recently used shards beyond
// max_open are closed while a caller's own handle stays valid.
#include "internal/lazy_shards.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

namespace {

using nocopy::internal::LazyShards;
using Handle = std::shared_ptr<const int>;

TEST(LazyShards, EachShardOpensOnceWhenManyThreadsAskAtOnce) {
  LazyShards<Handle> shards(4, 4);
  std::atomic<int> opened[4] = {};
  const auto open = [&](size_t k) {
    ++opened[k];
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // others arrive meanwhile
    return std::make_shared<const int>(static_cast<int>(100 + k));
  };
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 20; ++round) {
        const size_t k = static_cast<size_t>((t + round) % 4);
        if (*shards.acquire(k, open) != static_cast<int>(100 + k)) ++wrong;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(wrong, 0);
  for (size_t k = 0; k < 4; ++k) {
    EXPECT_EQ(opened[k], 1) << k;
    EXPECT_FALSE(shards.closed(k));
  }
}

TEST(LazyShards, AFailedOpeningLeavesTheShardClosedForTheNextCaller) {
  LazyShards<Handle> shards(2, 2);
  int calls = 0;
  const auto failing_once = [&](size_t k) {
    if (++calls == 1) throw std::runtime_error("unreachable");
    return std::make_shared<const int>(static_cast<int>(k));
  };
  EXPECT_THROW(shards.acquire(1, failing_once), std::runtime_error);
  EXPECT_TRUE(shards.closed(1));
  EXPECT_EQ(*shards.acquire(1, failing_once), 1);
  EXPECT_EQ(calls, 2);
  EXPECT_FALSE(shards.closed(1));
}

TEST(LazyShards, ShardsBeyondMaxOpenCloseLeastRecentlyUsedFirst) {
  LazyShards<Handle> shards(3, 2);
  int opened = 0;
  const auto open = [&](size_t k) {
    ++opened;
    return std::make_shared<const int>(static_cast<int>(k));
  };
  const Handle zero = shards.acquire(0, open);
  const std::weak_ptr<const int> zero_weak = zero;
  shards.acquire(1, open);
  shards.acquire(0, open);  // 0 used last: 1 is the least recently used
  shards.acquire(2, open);  // closes 1
  EXPECT_TRUE(shards.closed(1));
  EXPECT_FALSE(shards.closed(0));
  EXPECT_FALSE(shards.closed(2));
  shards.acquire(1, open);  // opens 1 again, closes 0
  EXPECT_EQ(opened, 4);
  EXPECT_TRUE(shards.closed(0));
  EXPECT_EQ(*zero, 0);  // the caller's handle outlives the closing
  EXPECT_FALSE(zero_weak.expired());
  EXPECT_THROW(LazyShards<Handle>(0, 1), std::invalid_argument);
  EXPECT_THROW(LazyShards<Handle>(1, 0), std::invalid_argument);
}

}  // namespace
