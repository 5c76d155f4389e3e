// The delayed-fetch waiting room: bytes appended to a partition are credited
// to the fetches waiting on it until they reach min_bytes (capped by each
// partition's max_bytes, the first batch whole), a state change wakes every
// waiting fetch, and a fetch that gets too little times out. No timing
// assertions: deadlines are either already past or far away, and io_context
// runs are bounded (poll).
#include <gtest/gtest.h>

#include <optional>

#include "replication/delayed_fetch.h"

namespace samsa::replication {
namespace {

using SteadyClock = std::chrono::steady_clock;

struct Waiting {
  asio::io_context io;
  std::shared_ptr<DelayedFetch> fetch;
  std::optional<bool> result;

  explicit Waiting(int64_t min_bytes) : fetch(std::make_shared<DelayedFetch>(io.get_executor(), min_bytes)) {}
  // Starts the fetch's wait (as the Fetch handler does) and runs what is ready.
  void start(SteadyClock::time_point deadline) {
    asio::co_spawn(io, wait(deadline), asio::detached);
    io.poll();
  }
  asio::awaitable<void> wait(SteadyClock::time_point deadline) {
    auto w = fetch->wait_until(deadline);
    result = co_await std::move(w);
  }
  void poll() {
    io.restart();
    io.poll();
  }
};

const auto kFarAway = SteadyClock::now() + std::chrono::hours(1);

TEST(ReplicationDelayedFetch, AppendedBytesAddUpToMinBytes) {
  Waiting w(100);
  FetchWaitingRoom room;
  room.add(w.fetch, FetchWatch{1000, 10, false, 0});
  w.start(kFarAway);
  EXPECT_FALSE(w.result);
  room.on_append(50, 0);
  w.poll();
  EXPECT_FALSE(w.result);  // 60 of 100
  EXPECT_EQ(w.fetch->accumulated(), 60);
  room.on_append(40, 0);
  w.poll();
  ASSERT_TRUE(w.result);
  EXPECT_TRUE(*w.result);
  EXPECT_TRUE(room.empty());  // a woken fetch leaves the room
}

TEST(ReplicationDelayedFetch, TimesOutWithTooFewBytes) {
  Waiting w(100);
  FetchWaitingRoom room;
  room.add(w.fetch, FetchWatch{1000, 0, false, 0});
  room.on_append(10, 0);
  w.start(SteadyClock::now() - std::chrono::milliseconds(1));
  for (int i = 0; i < 100 && !w.result; ++i) w.poll();
  ASSERT_TRUE(w.result);
  EXPECT_FALSE(*w.result);
}

TEST(ReplicationDelayedFetch, AlreadyEnoughWhenItStartsWaiting) {
  Waiting w(10);
  FetchWaitingRoom room;
  room.add(w.fetch, FetchWatch{1000, 0, false, 0});
  room.on_append(10, 0);  // before the handler waits
  w.start(kFarAway);
  ASSERT_TRUE(w.result);
  EXPECT_TRUE(*w.result);
}

TEST(ReplicationDelayedFetch, PartitionMaxBytesCapsTheCreditButTheFirstBatchCountsWhole) {
  asio::io_context io;
  auto capped = std::make_shared<DelayedFetch>(io.get_executor(), 1000);
  auto empty = std::make_shared<DelayedFetch>(io.get_executor(), 1000);
  FetchWaitingRoom room;
  room.add(capped, FetchWatch{20, 10, false, 0});  // already read 10 of at most 20
  room.add(empty, FetchWatch{20, 0, false, 0});    // read nothing: a read returns the next batch whole
  room.on_append(100, 0);
  EXPECT_EQ(capped->accumulated(), 20);
  EXPECT_EQ(empty->accumulated(), 100);
  room.on_append(100, 0);
  EXPECT_EQ(capped->accumulated(), 20);
  EXPECT_EQ(empty->accumulated(), 100);
}

TEST(ReplicationDelayedFetch, ReadCommittedWakesWhenTheLastStableOffsetMoves) {
  Waiting w(1 << 20);
  FetchWaitingRoom room;
  room.add(w.fetch, FetchWatch{1 << 20, 0, true, 5});
  w.start(kFarAway);
  room.on_append(100, 5);  // transactional data, not yet readable
  w.poll();
  EXPECT_FALSE(w.result);
  room.on_append(50, 9);  // the commit marker: readable now
  w.poll();
  ASSERT_TRUE(w.result);
  EXPECT_TRUE(*w.result);
}

TEST(ReplicationDelayedFetch, StateChangeWakesEveryWaitingFetch) {
  Waiting w(1 << 20);
  FetchWaitingRoom room;
  room.add(w.fetch, FetchWatch{1 << 20, 0, false, 0});
  w.start(kFarAway);
  room.complete_all();
  w.poll();
  ASSERT_TRUE(w.result);
  EXPECT_TRUE(*w.result);
  EXPECT_TRUE(room.empty());
}

TEST(ReplicationDelayedFetch, FinishedFetchesAreDroppedFromTheRoom) {
  asio::io_context io;
  FetchWaitingRoom room;
  for (int i = 0; i < 100; ++i) room.add(std::make_shared<DelayedFetch>(io.get_executor(), 10), FetchWatch{});
  EXPECT_LE(room.size(), 66u);  // registrations of fetches gone are pruned as new ones come
  room.on_append(1, 0);
  EXPECT_TRUE(room.empty());
}

}  // namespace
}  // namespace samsa::replication
