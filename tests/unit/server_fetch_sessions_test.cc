// The broker's fetch session cache (KIP-227, server/fetch_sessions.h): session
// ids and epochs, incremental adds / updates / forgotten partitions, what an
// incremental answer carries, and Kafka's eviction rules.
#include <gtest/gtest.h>

#include "server/fetch_sessions.h"

namespace samsa::server {
namespace {

constexpr int64_t kSessionsNow = 1'700'000'000'000;
constexpr int64_t kEvict = FetchSessionCache::kDefaultEvictionMs;

SessionPartition part(const std::string& topic, int32_t p, int64_t offset = 0) {
  SessionPartition sp;
  sp.topic = topic;
  sp.partition = p;
  sp.fetch_offset = offset;
  sp.max_bytes = 1 << 20;
  return sp;
}

std::vector<SessionPartition> parts(const std::string& topic, int n) {
  std::vector<SessionPartition> out;
  for (int i = 0; i < n; ++i) out.push_back(part(topic, i));
  return out;
}

SessionRequest incremental(int32_t id, int32_t epoch, std::vector<SessionPartition> ps = {},
                           std::vector<SessionPartition> forgotten = {}) {
  SessionRequest r;
  r.session_id = id;
  r.epoch = epoch;
  r.partitions = std::move(ps);
  r.forgotten = std::move(forgotten);
  return r;
}

TEST(FetchSessionsTest, FullThenIncrementalEpochs) {
  FetchSessionCache cache(10, kEvict, 42);
  SessionRequest full;
  full.epoch = 0;
  full.partitions = parts("t", 3);
  auto ctx = cache.begin(full, kSessionsNow);
  EXPECT_EQ(ctx.mode, SessionMode::kFull);
  EXPECT_EQ(ctx.partitions.size(), 3u);
  const int32_t id = cache.create(false, false, ctx.partitions, kSessionsNow);
  ASSERT_GT(id, 0);
  EXPECT_EQ(cache.epoch_of(id), 1);

  auto inc = cache.begin(incremental(id, 1), kSessionsNow + 1);
  EXPECT_EQ(inc.mode, SessionMode::kIncremental);
  EXPECT_EQ(inc.error, ErrorCode::NONE);
  EXPECT_EQ(inc.session_id, id);
  EXPECT_EQ(inc.partitions.size(), 3u);  // every partition of the session is fetched
  EXPECT_EQ(cache.epoch_of(id), 2);

  // The same epoch again (a retry): INVALID_FETCH_SESSION_EPOCH, the session stays.
  EXPECT_EQ(cache.begin(incremental(id, 1), kSessionsNow + 2).error, ErrorCode::INVALID_FETCH_SESSION_EPOCH);
  EXPECT_EQ(cache.begin(incremental(id, 5), kSessionsNow + 2).error, ErrorCode::INVALID_FETCH_SESSION_EPOCH);
  EXPECT_EQ(cache.epoch_of(id), 2);
  EXPECT_EQ(cache.begin(incremental(id + 1, 2), kSessionsNow + 2).error, ErrorCode::FETCH_SESSION_ID_NOT_FOUND);
  EXPECT_EQ(cache.begin(incremental(0, 1), kSessionsNow + 2).error, ErrorCode::FETCH_SESSION_ID_NOT_FOUND);

  // A session made with names cannot be used with topic ids (v13+).
  auto by_id = incremental(id, 2);
  by_id.uses_topic_ids = true;
  EXPECT_EQ(cache.begin(by_id, kSessionsNow + 3).error, ErrorCode::FETCH_SESSION_TOPIC_ID_ERROR);

  // Epoch -1 with the id closes it: sessionless from then on.
  SessionRequest close;
  close.session_id = id;
  close.epoch = -1;
  EXPECT_EQ(cache.begin(close, kSessionsNow + 4).mode, SessionMode::kSessionless);
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(cache.begin(incremental(id, 2), kSessionsNow + 5).error, ErrorCode::FETCH_SESSION_ID_NOT_FOUND);
}

TEST(FetchSessionsTest, EpochWrapsToOne) {
  EXPECT_EQ(next_session_epoch(1), 2);
  EXPECT_EQ(next_session_epoch(INT32_MAX), 1);
  EXPECT_EQ(next_session_epoch(-1), -1);
}

TEST(FetchSessionsTest, AddUpdateForget) {
  FetchSessionCache cache(10, kEvict, 7);
  const int32_t id = cache.create(false, false, parts("t", 2), kSessionsNow);
  ASSERT_GT(id, 0);
  // Add t-5, move t-0 to offset 10, forget t-1 (and an unknown partition: ignored).
  auto ctx = cache.begin(incremental(id, 1, {part("t", 5, 3), part("t", 0, 10)}, {part("t", 1), part("u", 9)}),
                         kSessionsNow + 1);
  ASSERT_EQ(ctx.error, ErrorCode::NONE);
  ASSERT_EQ(ctx.partitions.size(), 2u);
  EXPECT_EQ(ctx.partitions[0].partition, 0);
  EXPECT_EQ(ctx.partitions[0].fetch_offset, 10);
  EXPECT_EQ(ctx.partitions[1].partition, 5);
  EXPECT_EQ(ctx.partitions[1].fetch_offset, 3);
  // A partition not named again keeps its fields.
  auto next = cache.begin(incremental(id, 2), kSessionsNow + 2);
  ASSERT_EQ(next.partitions.size(), 2u);
  EXPECT_EQ(next.partitions[0].fetch_offset, 10);
}

TEST(FetchSessionsTest, TopicIdSessionsKeyById) {
  FetchSessionCache cache(10, kEvict, 9);
  SessionPartition a = part("a", 0);
  a.topic_id[0] = 1;
  SessionPartition b = part("b", 0);
  b.topic_id[0] = 2;
  const int32_t id = cache.create(false, true, {a, b}, kSessionsNow);
  SessionPartition forget;  // by id only, no name (v13+ forgotten topics)
  forget.topic_id[0] = 1;
  auto req = incremental(id, 1, {}, {forget});
  req.uses_topic_ids = true;
  auto ctx = cache.begin(req, kSessionsNow);
  ASSERT_EQ(ctx.error, ErrorCode::NONE);
  ASSERT_EQ(ctx.partitions.size(), 1u);
  EXPECT_EQ(ctx.partitions[0].topic_id[0], 2);
}

TEST(FetchSessionsTest, OnlyChangedPartitionsRespond) {
  SessionPartition cached = part("t", 0);
  cached.high_watermark = 5;
  cached.last_stable_offset = 5;
  cached.answered_log_start = 0;
  PartitionAnswer same{5, 5, 0, false, false};
  EXPECT_FALSE(must_respond(cached, same));
  PartitionAnswer records = same;
  records.has_records = true;
  EXPECT_TRUE(must_respond(cached, records));
  PartitionAnswer hw = same;
  hw.high_watermark = 6;
  EXPECT_TRUE(must_respond(cached, hw));
  PartitionAnswer lso = same;
  lso.last_stable_offset = 4;
  EXPECT_TRUE(must_respond(cached, lso));
  PartitionAnswer start = same;
  start.log_start_offset = 2;
  EXPECT_TRUE(must_respond(cached, start));
  PartitionAnswer error = same;
  error.has_error = true;
  EXPECT_TRUE(must_respond(cached, error));
}

TEST(FetchSessionsTest, RecordKeepsAnswersAndMovesPartitionsWithRecordsLast) {
  FetchSessionCache cache(10, kEvict, 11);
  const int32_t id = cache.create(false, false, parts("t", 3), kSessionsNow);
  cache.record(id, {{part("t", 0), PartitionAnswer{7, 7, 0, true, false}},
                    {part("t", 2), PartitionAnswer{3, 3, 0, false, false}}});
  auto ps = cache.partitions_of(id);
  ASSERT_TRUE(ps);
  ASSERT_EQ(ps->size(), 3u);
  EXPECT_EQ((*ps)[0].partition, 1);
  EXPECT_EQ((*ps)[1].partition, 2);
  EXPECT_EQ((*ps)[1].high_watermark, 3);
  EXPECT_EQ((*ps)[2].partition, 0);  // answered with records: now last
  EXPECT_EQ((*ps)[2].high_watermark, 7);
  cache.record(id + 1, {});  // a session gone: nothing happens
}

TEST(FetchSessionsTest, NoSlotNoSession) {
  FetchSessionCache none(0, kEvict, 1);
  EXPECT_EQ(none.create(false, false, parts("t", 1), kSessionsNow), 0);
  FetchSessionCache one(1, kEvict, 1);
  const int32_t first = one.create(false, false, parts("t", 1), kSessionsNow);
  ASSERT_GT(first, 0);
  // A consumer's new session cannot evict a recently created consumer session, even a smaller one.
  EXPECT_EQ(one.create(false, false, parts("t", 5), kSessionsNow + 1000), 0);
  EXPECT_EQ(one.size(), 1u);
  EXPECT_EQ(one.evictions(), 0u);
}

TEST(FetchSessionsTest, EvictsStaleSessionFirst) {
  FetchSessionCache cache(2, kEvict, 3);
  const int32_t a = cache.create(false, false, parts("t", 5), kSessionsNow);
  const int32_t b = cache.create(false, false, parts("t", 5), kSessionsNow);
  cache.begin(incremental(b, 1), kSessionsNow + kEvict);  // b used recently, a idle since kSessionsNow
  const int32_t c = cache.create(false, false, parts("t", 1), kSessionsNow + kEvict + 1);
  ASSERT_GT(c, 0);
  EXPECT_FALSE(cache.partitions_of(a));
  EXPECT_TRUE(cache.partitions_of(b));
  EXPECT_EQ(cache.evictions(), 1u);
}

TEST(FetchSessionsTest, EvictsSmallerOldSessionForLargerOne) {
  FetchSessionCache cache(2, kEvict, 5);
  const int32_t small = cache.create(false, false, parts("t", 2), kSessionsNow);
  const int32_t big = cache.create(false, false, parts("t", 8), kSessionsNow);
  const int64_t later = kSessionsNow + kEvict + 10;
  // Both used recently (not stale) but created long ago: evictable by value.
  cache.begin(incremental(small, 1), later);
  cache.begin(incremental(big, 1), later);
  EXPECT_EQ(cache.create(false, false, parts("t", 1), later), 0);  // worth less than both
  const int32_t mid = cache.create(false, false, parts("t", 4), later);
  ASSERT_GT(mid, 0);
  EXPECT_FALSE(cache.partitions_of(small));  // the smallest went
  EXPECT_TRUE(cache.partitions_of(big));
}

TEST(FetchSessionsTest, FollowerSessionEvictsConsumerSession) {
  FetchSessionCache cache(1, kEvict, 8);
  const int32_t consumer = cache.create(false, false, parts("t", 50), kSessionsNow);
  const int32_t follower = cache.create(true, false, parts("t", 1), kSessionsNow + 1);
  ASSERT_GT(follower, 0);
  EXPECT_FALSE(cache.partitions_of(consumer));
  // A consumer cannot take a follower's slot back, nor can another follower (recent).
  EXPECT_EQ(cache.create(false, false, parts("t", 100), kSessionsNow + 2), 0);
  EXPECT_EQ(cache.create(true, false, parts("t", 100), kSessionsNow + 2), 0);
  EXPECT_EQ(cache.begin(incremental(consumer, 1), kSessionsNow + 3).error, ErrorCode::FETCH_SESSION_ID_NOT_FOUND);
}

TEST(FetchSessionsTest, FullFetchWithIdReplacesSession) {
  FetchSessionCache cache(1, kEvict, 12);
  const int32_t id = cache.create(false, false, parts("t", 1), kSessionsNow);
  SessionRequest again;
  again.session_id = id;
  again.epoch = 0;
  again.partitions = parts("t", 2);
  auto ctx = cache.begin(again, kSessionsNow + 1);
  EXPECT_EQ(ctx.mode, SessionMode::kFull);
  EXPECT_EQ(cache.size(), 0u);  // the old one closed, so the slot is free for the new one
  EXPECT_GT(cache.create(false, false, ctx.partitions, kSessionsNow + 1), 0);
}

TEST(FetchSessionsTest, SessionSizeIsBounded) {
  FetchSessionCache cache(1, kEvict, 13);
  const int32_t id = cache.create(false, false, parts("t", 1), kSessionsNow);
  auto big = incremental(id, 1, parts("u", static_cast<int>(FetchSessionCache::kMaxSessionPartitions)));
  // Over the bound: the session is closed and the client told to start over (full fetch).
  EXPECT_EQ(cache.begin(big, kSessionsNow).error, ErrorCode::FETCH_SESSION_ID_NOT_FOUND);
  EXPECT_FALSE(cache.epoch_of(id));
  EXPECT_EQ(cache.cached_partitions(), 0u);
  EXPECT_EQ(cache.create(false, false, parts("u", static_cast<int>(FetchSessionCache::kMaxSessionPartitions) + 1), kSessionsNow),
            0);
}

TEST(FetchSessionsTest, CountsCachedPartitions) {
  FetchSessionCache cache(3, kEvict, 14);
  const int32_t a = cache.create(false, false, parts("t", 3), kSessionsNow);
  const int32_t b = cache.create(false, false, parts("t", 2), kSessionsNow);
  EXPECT_EQ(cache.cached_partitions(), 5u);
  cache.begin(incremental(a, 1, {part("t", 7)}, {part("t", 0), part("t", 1)}), kSessionsNow);
  EXPECT_EQ(cache.cached_partitions(), 4u);
  cache.remove(b);
  EXPECT_EQ(cache.cached_partitions(), 2u);
  SessionRequest close;
  close.session_id = a;
  close.epoch = -1;
  cache.begin(close, kSessionsNow);
  EXPECT_EQ(cache.cached_partitions(), 0u);
}

}  // namespace
}  // namespace samsa::server
