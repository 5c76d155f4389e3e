// invoke_on, fan_out and the shard-ownership checks (base/invoke_on.h,
// base/shard_affinity.h) over real event loops: shard 0 is the test's thread,
// the other shards run on threads of their own, each bound to its id.
#include <gtest/gtest.h>

#include <asio.hpp>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include "base/invoke_on.h"
#include "base/shard_affinity.h"

namespace samsa {
namespace {

class Shards {
 public:
  explicit Shards(int n) {
    for (int i = 0; i < n; ++i) ios_.push_back(std::make_unique<asio::io_context>(1));
    for (int i = 1; i < n; ++i) {
      guards_.push_back(asio::make_work_guard(*ios_[i]));
      threads_.emplace_back([this, i] {
        ShardBinding bound(i);
        ios_[i]->run();
      });
    }
  }
  ~Shards() {
    guards_.clear();
    for (auto& t : threads_) t.join();
  }
  int count() const { return static_cast<int>(ios_.size()); }
  asio::io_context& io(int i) { return *ios_[i]; }

  // Runs the coroutine `body()` on shard 0 (this thread) until it ends;
  // bounded in time. co_spawn keeps `body` (and its captures) alive meanwhile.
  template <typename Body>
  void run_on_shard_0(Body body) {
    ShardBinding bound(0);
    bool done = false;
    std::exception_ptr error;
    asio::co_spawn(*ios_[0], std::move(body), [&](std::exception_ptr e) {
      done = true;
      error = e;
    });
    ios_[0]->run_for(std::chrono::seconds(30));
    ASSERT_TRUE(done) << "the coroutine did not finish";
    if (error) std::rethrow_exception(error);
  }

 private:
  std::vector<std::unique_ptr<asio::io_context>> ios_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards_;
  std::vector<std::thread> threads_;
};

TEST(InvokeOn, PlainCallableRunsOnTheTargetAndResumesTheCallerAtHome) {
  Shards shards(3);
  int ran_on = -9, resumed_on = -9, value = 0;
  shards.run_on_shard_0([&]() -> asio::awaitable<void> {
    auto op = invoke_on(shards.io(2), [&ran_on] {
      ran_on = current_shard();
      return 42;
    });
    value = co_await std::move(op);
    resumed_on = current_shard();
  });
  EXPECT_EQ(ran_on, 2);
  EXPECT_EQ(resumed_on, 0);
  EXPECT_EQ(value, 42);
}

TEST(InvokeOn, CoroutineRunsOnTheTargetAndMayWaitThere) {
  Shards shards(2);
  std::vector<int> seen;
  std::string answer;
  shards.run_on_shard_0([&]() -> asio::awaitable<void> {
    auto op = invoke_on(shards.io(1), [&seen, word = std::string("pong")]() -> asio::awaitable<std::string> {
      seen.push_back(current_shard());
      asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(1));
      co_await t.async_wait(asio::use_awaitable);
      seen.push_back(current_shard());
      co_return word;  // a capture: the lambda lives until the coroutine ends
    });
    answer = co_await std::move(op);
    seen.push_back(current_shard());
  });
  EXPECT_EQ(seen, (std::vector<int>{1, 1, 0}));
  EXPECT_EQ(answer, "pong");
}

TEST(InvokeOn, VoidResultsAndExceptionsComeBack) {
  Shards shards(2);
  int ran_on = -9;
  bool caught_plain = false, caught_coro = false;
  shards.run_on_shard_0([&]() -> asio::awaitable<void> {
    auto op = invoke_on(shards.io(1), [&ran_on] { ran_on = current_shard(); });
    co_await std::move(op);
    auto bad = invoke_on(shards.io(1), []() -> int { throw std::runtime_error("plain"); });
    try {
      co_await std::move(bad);
    } catch (const std::runtime_error&) {
      caught_plain = true;
    }
    auto bad_coro = invoke_on(shards.io(1), []() -> asio::awaitable<void> {
      throw std::runtime_error("coroutine");
      co_return;
    });
    try {
      co_await std::move(bad_coro);
    } catch (const std::runtime_error&) {
      caught_coro = true;
    }
  });
  EXPECT_EQ(ran_on, 1);
  EXPECT_TRUE(caught_plain);
  EXPECT_TRUE(caught_coro);
}

struct Item {
  int key = 0;
  int ran_on = -9;
  int position_in_group = -1;
};

TEST(FanOut, RunsEachItemOnItsOwnerAndKeepsTheRequestOrder) {
  Shards shards(3);
  std::vector<Item> items;
  for (int k = 0; k < 10; ++k) items.push_back(Item{k});
  auto owner = [](const Item& it) { return (it.key * 7) % 3; };
  int resumed_on = -9;
  shards.run_on_shard_0([&]() -> asio::awaitable<void> {
    auto op = fan_out(
        items, shards.count(), owner, [&shards](int s) -> asio::io_context& { return shards.io(s); },
        [](int shard, std::vector<Item*>& group) {
          for (size_t i = 0; i < group.size(); ++i) {
            EXPECT_EQ(current_shard(), shard);
            group[i]->ran_on = current_shard();
            group[i]->position_in_group = static_cast<int>(i);
          }
        });
    co_await std::move(op);
    resumed_on = current_shard();
  });
  EXPECT_EQ(resumed_on, 0);
  std::vector<int> next(3, 0);
  for (int k = 0; k < 10; ++k) {
    ASSERT_EQ(items[k].key, k);  // the request's order
    EXPECT_EQ(items[k].ran_on, owner(items[k]));
    // Within a shard, items come in the request's order.
    EXPECT_EQ(items[k].position_in_group, next[owner(items[k])]++);
  }
}

TEST(FanOut, CoroutinesRunOnTheirShardsAndTheCallerWaitsForAll) {
  std::vector<Item> items;
  for (int k = 0; k < 6; ++k) items.push_back(Item{k});
  auto token = std::make_shared<int>(0);  // each shard's copy of fn holds one
  {
    Shards shards(3);
    shards.run_on_shard_0([&]() -> asio::awaitable<void> {
      auto op = fan_out(
          items, shards.count(), [](const Item& it) { return it.key % 3; },
          [&shards](int s) -> asio::io_context& { return shards.io(s); },
          [token](int shard, std::vector<Item*>& group) -> asio::awaitable<void> {
            asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(1 + shard));
            co_await t.async_wait(asio::use_awaitable);
            for (auto* it : group) it->ran_on = current_shard();
          });
      co_await std::move(op);
      // Every shard has written its results by now.
      for (auto& it : items) EXPECT_EQ(it.ran_on, it.key % 3);
    });
  }
  EXPECT_EQ(token.use_count(), 1);  // no copy of fn outlives its shard's work
}

TEST(FanOut, NoItemsResumesAtOnce) {
  Shards shards(2);
  std::vector<Item> items;
  bool resumed = false, called = false;
  shards.run_on_shard_0([&]() -> asio::awaitable<void> {
    auto op = fan_out(
        items, shards.count(), [](const Item&) { return 1; },
        [&shards](int s) -> asio::io_context& { return shards.io(s); },
        [&called](int, std::vector<Item*>&) { called = true; });
    co_await std::move(op);
    resumed = true;
  });
  EXPECT_TRUE(resumed);
  EXPECT_FALSE(called);
}

TEST(InvokeOnBlocking, RunsOnTheTargetFromAThreadOfNoShard) {
  Shards shards(2);
  int ran_on = -9;
  ASSERT_EQ(current_shard(), kNoShard);
  invoke_on_blocking(shards.io(1), [&ran_on] { ran_on = current_shard(); });
  EXPECT_EQ(ran_on, 1);
}

TEST(ShardAffinity, BindingIsPerThreadAndRestored) {
  EXPECT_EQ(current_shard(), kNoShard);
  {
    ShardBinding outer(3);
    EXPECT_EQ(current_shard(), 3);
    {
      ShardBinding inner(5);
      EXPECT_EQ(current_shard(), 5);
    }
    EXPECT_EQ(current_shard(), 3);
    int other = -9;
    std::thread([&other] { other = current_shard(); }).join();
    EXPECT_EQ(other, kNoShard);
    assert_on_shard(3);  // passes
  }
  EXPECT_EQ(current_shard(), kNoShard);
}

TEST(ShardAffinity, UnboundTakesTheFirstShardThatChecks) {
  ShardAffinity lazy;
  EXPECT_EQ(lazy.owner(), kNoShard);
  ShardBinding bound(2);
  lazy.check();
  EXPECT_EQ(lazy.owner(), 2);
  lazy.check();
  ShardAffinity fixed(2);
  fixed.check();
}

using ShardAffinityDeathTest = ::testing::Test;

TEST_F(ShardAffinityDeathTest, TouchingAnotherShardsStateAborts) {
  EXPECT_DEATH(
      {
        ShardBinding bound(1);
        assert_on_shard(0, "a partition");
      },
      "a partition owned by shard 0 touched from shard 1");
  EXPECT_DEATH(
      {
        ShardAffinity owner(0);
        owner.check("GroupCoordinator");  // from a thread of no shard
      },
      "GroupCoordinator owned by shard 0 touched from shard -1");
  EXPECT_DEATH(
      {
        ShardAffinity lazy;
        {
          ShardBinding first(4);
          lazy.check();
        }
        ShardBinding second(5);
        lazy.check("room");
      },
      "room owned by shard 4 touched from shard 5");
  EXPECT_DEATH(
      {
        ShardBinding bound(0);
        assert_not_on_shard("invoke_on_blocking");
      },
      "invoke_on_blocking may run only on a thread of no shard .* not on shard 0");
}

}  // namespace
}  // namespace samsa
