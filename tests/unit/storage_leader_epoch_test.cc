// storage::LeaderEpochCache alone and wired into storage::Log.
#include <gtest/gtest.h>

#include "storage/leader_epoch_cache.h"
#include "storage/log.h"
#include "storage/log_format.h"
#include "storage_test_util.h"

namespace samsa::storage {
namespace {

using testing::make_batch;
using testing::TempDir;
using Entries = std::vector<EpochEntry>;

constexpr int64_t kEpochNow = 1'700'000'000'000;

std::string epoch_file(const std::string& dir) { return join_path(dir, std::string(format::kLeaderEpochCheckpoint)); }

void write_text(const std::string& path, const std::string& text) {
  auto f = posix_env()->open_file(path, OpenMode::kTruncate);
  ASSERT_TRUE(f);
  ASSERT_TRUE((*f)->write_at(0, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size())));
}

std::string read_text(const std::string& path) {
  auto t = read_file_to_string(posix_env(), path, 1 << 20);
  return t ? *t : std::string("<absent>");
}

TEST(StorageLeaderEpochCache, AssignOnlyRises) {
  LeaderEpochCache c;
  EXPECT_EQ(c.latest_epoch(), LeaderEpochCache::kUndefinedEpoch);
  ASSERT_TRUE(c.assign(0, 0));
  ASSERT_TRUE(c.assign(0, 10));  // same epoch: nothing
  ASSERT_TRUE(c.assign(3, 20));
  EXPECT_FALSE(c.assign(2, 30)) << "a lower epoch is refused";
  EXPECT_FALSE(c.assign(5, 15)) << "an offset below the latest start is refused";
  EXPECT_EQ(c.entries(), (Entries{{0, 0}, {3, 20}})) << "refusals change nothing";
  ASSERT_TRUE(c.assign(-1, 40));  // a batch without an epoch: ignored
  EXPECT_EQ(c.entries(), (Entries{{0, 0}, {3, 20}}));
  EXPECT_EQ(c.latest_epoch(), 3);
}

TEST(StorageLeaderEpochCache, TruncateFromEnd) {
  LeaderEpochCache c;
  ASSERT_TRUE(c.replace({{0, 0}, {2, 10}, {4, 20}, {6, 30}}));
  ASSERT_TRUE(c.truncate_from_end(31));  // nothing starts at or after 31
  EXPECT_EQ(c.entries().size(), 4u);
  ASSERT_TRUE(c.truncate_from_end(20));
  EXPECT_EQ(c.entries(), (Entries{{0, 0}, {2, 10}}));
  ASSERT_TRUE(c.truncate_from_end(0));
  EXPECT_TRUE(c.entries().empty());
}

TEST(StorageLeaderEpochCache, TruncateFromStartClampsTheHolder) {
  LeaderEpochCache c;
  ASSERT_TRUE(c.replace({{0, 0}, {2, 10}, {4, 20}, {6, 30}}));
  ASSERT_TRUE(c.truncate_from_start(0));
  EXPECT_EQ(c.entries().size(), 4u);
  ASSERT_TRUE(c.truncate_from_start(15));
  EXPECT_EQ(c.entries(), (Entries{{2, 15}, {4, 20}, {6, 30}}));
  ASSERT_TRUE(c.truncate_from_start(20));  // exactly at an entry's start
  EXPECT_EQ(c.entries(), (Entries{{4, 20}, {6, 30}}));
  ASSERT_TRUE(c.truncate_from_start(99));  // beyond every start: the latest epoch holds it
  EXPECT_EQ(c.entries(), (Entries{{6, 99}}));
}

TEST(StorageLeaderEpochCache, EndOffsetForFollowsKafka) {
  LeaderEpochCache c;
  EXPECT_EQ(c.end_offset_for(0, 50), (EpochEndOffset{-1, -1})) << "empty";
  ASSERT_TRUE(c.replace({{2, 10}, {4, 20}, {7, 35}}));
  const int64_t leo = 50;
  EXPECT_EQ(c.end_offset_for(7, leo), (EpochEndOffset{7, 50})) << "latest epoch: the log end";
  EXPECT_EQ(c.end_offset_for(4, leo), (EpochEndOffset{4, 35}));
  EXPECT_EQ(c.end_offset_for(2, leo), (EpochEndOffset{2, 20}));
  EXPECT_EQ(c.end_offset_for(5, leo), (EpochEndOffset{4, 35})) << "unknown epoch: the largest below it";
  EXPECT_EQ(c.end_offset_for(3, leo), (EpochEndOffset{2, 20}));
  // Below the first entry Kafka answers the requested epoch and the first start.
  EXPECT_EQ(c.end_offset_for(1, leo), (EpochEndOffset{1, 10}));
  EXPECT_EQ(c.end_offset_for(8, leo), (EpochEndOffset{-1, -1})) << "above the latest";
  EXPECT_EQ(c.end_offset_for(-1, leo), (EpochEndOffset{-1, -1}));
}

TEST(StorageLeaderEpochCache, FileRoundTripAndWritesOnlyOnChange) {
  TempDir dir;
  const std::string path = epoch_file(dir.path());
  {
    LeaderEpochCache c(posix_env(), path);
    EXPECT_FALSE(c.load()) << "absent";
    ASSERT_TRUE(c.assign(0, 0));
    ASSERT_TRUE(c.assign(3, 7));
    EXPECT_EQ(read_text(path), "0\n2\n0 0\n3 7\n");
    EXPECT_FALSE(posix_env()->exists(path + ".tmp"));
  }
  LeaderEpochCache c(posix_env(), path);
  ASSERT_TRUE(c.load());
  EXPECT_EQ(c.entries(), (Entries{{0, 0}, {3, 7}}));
  // No change, no write: a file we make unreadable as a checkpoint would
  // stay so.
  ASSERT_TRUE(posix_env()->unlink(path));
  ASSERT_TRUE(c.assign(3, 9));
  ASSERT_TRUE(c.truncate_from_end(100));
  ASSERT_TRUE(c.truncate_from_start(0));
  EXPECT_FALSE(posix_env()->exists(path));
  ASSERT_TRUE(c.truncate_from_end(7));
  EXPECT_EQ(read_text(path), "0\n1\n0 0\n");
}

TEST(StorageLeaderEpochCache, ParseRejectsMalformedFiles) {
  EXPECT_TRUE(LeaderEpochCache::parse("0\n0\n"));
  EXPECT_TRUE(LeaderEpochCache::parse("0\n1\n0 0\n"));  // what Samsa wrote before the cache
  for (const char* bad : {"", "0\n", "1\n1\n0 0\n", "0\n2\n0 0\n", "0\n1\n0 0 0\n", "0\n1\n0\n", "0\n1\nx 0\n",
                          "0\n1\n0 -5\n", "0\n1\n-1 0\n", "0\n2\n3 0\n2 5\n", "0\n2\n3 5\n4 1\n", "0\n2\n3 0\n3 5\n",
                          "0\n1\n 0 0\n", "0\n1\n0 99999999999999999999\n", "0\n1\n2147483648 0\n",
                          "0\n999999999999\n0 0\n"}) {
    EXPECT_FALSE(LeaderEpochCache::parse(bad)) << "accepted: " << bad;
  }
  std::string many = "0\n" + std::to_string(LeaderEpochCache::kMaxEntries + 1) + "\n";
  for (size_t i = 0; i <= LeaderEpochCache::kMaxEntries; ++i) many += std::to_string(i) + " " + std::to_string(i) + "\n";
  EXPECT_FALSE(LeaderEpochCache::parse(many)) << "more than kMaxEntries";
}

// ---------------------------------------------------------------- wired into Log

std::unique_ptr<Log> open_log(const std::string& dir, bool clean = true, int64_t log_start = 0) {
  LogOpenOptions o;
  o.config.segment_bytes = 1024;  // several segments
  o.clean_shutdown = clean;
  o.recovery_point = 0;
  o.log_start_offset = log_start;
  o.now_ms = kEpochNow;
  auto log = Log::open(posix_env(), dir, TopicPartition{"t", 0}, o);
  EXPECT_TRUE(log) << log.status().to_string();
  return log ? std::move(*log) : nullptr;
}

// Batches of 2 records, one per epoch given: offsets 0-1, 2-3, ...
void append_epochs(Log& log, std::initializer_list<int32_t> epochs) {
  for (int32_t e : epochs) {
    auto b = make_batch(2, kEpochNow, 100);
    auto r = log.append(b, e, kEpochNow, false);
    ASSERT_EQ(r.error, ErrorCode::NONE) << r.status.to_string();
  }
}

TEST(StorageLeaderEpochLog, AppendRecordsEpochChangesAndRestartKeepsThem) {
  TempDir dir;
  const std::string d = dir.sub("t-0");
  auto log = open_log(d);
  ASSERT_TRUE(log);
  append_epochs(*log, {0, 0, 3, 3, 5});
  const Entries want{{0, 0}, {3, 4}, {5, 8}};
  EXPECT_EQ(log->leader_epoch_cache().entries(), want);
  EXPECT_EQ(read_text(epoch_file(d)), "0\n3\n0 0\n3 4\n5 8\n");
  EXPECT_EQ(log->leader_epoch_cache().end_offset_for(3, log->log_end_offset()), (EpochEndOffset{3, 8}));
  ASSERT_TRUE(log->close());
  log = open_log(d);
  ASSERT_TRUE(log);
  EXPECT_EQ(log->leader_epoch_cache().entries(), want);
  // Same after a crash (no close) and an unclean open that re-validates the log.
  append_epochs(*log, {6});
  log.reset();
  log = open_log(d, /*clean=*/false);
  ASSERT_TRUE(log);
  EXPECT_EQ(log->leader_epoch_cache().entries(), (Entries{{0, 0}, {3, 4}, {5, 8}, {6, 10}}));
}

// Kafka's log layer takes a batch of a lower epoch (fencing is the
// partition's job); the entries it contradicts go, as in Kafka.
TEST(StorageLeaderEpochLog, LowerEpochAppendSupersedesLaterEntries) {
  TempDir dir;
  const std::string d = dir.sub("t-0");
  auto log = open_log(d);
  ASSERT_TRUE(log);
  append_epochs(*log, {0, 3, 5, 4});
  EXPECT_EQ(log->leader_epoch_cache().entries(), (Entries{{0, 0}, {3, 2}, {4, 6}}));
  EXPECT_EQ(read_text(epoch_file(d)), "0\n3\n0 0\n3 2\n4 6\n");
}

TEST(StorageLeaderEpochLog, TruncationRemovesLaterEntries) {
  TempDir dir;
  const std::string d = dir.sub("t-0");
  auto log = open_log(d);
  ASSERT_TRUE(log);
  append_epochs(*log, {0, 0, 3, 3, 5});
  ASSERT_TRUE(log->truncate_to(5));  // inside epoch 3's batches: cut at a batch boundary (4)
  EXPECT_EQ(log->leader_epoch_cache().entries(), (Entries{{0, 0}}));
  EXPECT_EQ(read_text(epoch_file(d)), "0\n1\n0 0\n");
  // A new leader's epoch starts where the log now ends.
  append_epochs(*log, {7});
  EXPECT_EQ(log->leader_epoch_cache().entries(), (Entries{{0, 0}, {7, 4}}));
  ASSERT_TRUE(log->truncate_fully_and_start_at(20));
  EXPECT_TRUE(log->leader_epoch_cache().entries().empty());
  EXPECT_EQ(read_text(epoch_file(d)), "0\n0\n");
  append_epochs(*log, {7});
  EXPECT_EQ(log->leader_epoch_cache().entries(), (Entries{{7, 20}}));
}

TEST(StorageLeaderEpochLog, LogStartMovesTheFirstEntry) {
  TempDir dir;
  const std::string d = dir.sub("t-0");
  auto log = open_log(d);
  ASSERT_TRUE(log);
  append_epochs(*log, {0, 0, 3, 3, 5});
  ASSERT_TRUE(log->maybe_increment_log_start_offset(5, log->log_end_offset()));
  EXPECT_EQ(log->leader_epoch_cache().entries(), (Entries{{3, 5}, {5, 8}}));
  EXPECT_EQ(read_text(epoch_file(d)), "0\n2\n3 5\n5 8\n");
}

// A missing, torn or garbage file is rebuilt from the batches' epochs.
TEST(StorageLeaderEpochLog, MalformedOrAbsentFileIsRebuiltFromTheLog) {
  TempDir dir;
  const std::string d = dir.sub("t-0");
  {
    auto log = open_log(d);
    ASSERT_TRUE(log);
    append_epochs(*log, {0, 0, 3, 3, 5});
    ASSERT_TRUE(log->close());
  }
  const Entries want{{0, 0}, {3, 4}, {5, 8}};
  for (const char* bad : {"", "0\n3\n0 0\n3 4\n", "garbage", "0\n2\n5 0\n3 4\n", "0\n1000000000\n"}) {
    write_text(epoch_file(d), bad);
    auto log = open_log(d);
    ASSERT_TRUE(log);
    EXPECT_EQ(log->leader_epoch_cache().entries(), want) << "file: " << bad;
    EXPECT_EQ(read_text(epoch_file(d)), "0\n3\n0 0\n3 4\n5 8\n");
    ASSERT_TRUE(log->close());
  }
  ASSERT_TRUE(posix_env()->unlink(epoch_file(d)));
  auto log = open_log(d);
  ASSERT_TRUE(log);
  EXPECT_EQ(log->leader_epoch_cache().entries(), want);
}

// The file Samsa wrote before the cache ("epoch 0 from the log start") loads
// as is, and is not rewritten when it already says the truth.
TEST(StorageLeaderEpochLog, OldSingleNodeFileStillLoads) {
  TempDir dir;
  const std::string d = dir.sub("t-0");
  {
    auto log = open_log(d);
    ASSERT_TRUE(log);
    append_epochs(*log, {0, 0});
    ASSERT_TRUE(log->close());
  }
  write_text(epoch_file(d), "0\n1\n0 0\n");
  auto log = open_log(d);
  ASSERT_TRUE(log);
  EXPECT_EQ(log->leader_epoch_cache().entries(), (Entries{{0, 0}}));
  ASSERT_TRUE(log->close());
  // Opened with a later log start, the entry follows it (as before).
  log = open_log(d, true, /*log_start=*/2);
  ASSERT_TRUE(log);
  EXPECT_EQ(read_text(epoch_file(d)), "0\n1\n0 2\n");
}

// After a crash the file may be stale: an entry it kept for offsets the
// recovery cut off goes, and the epochs of the re-validated batches are put back.
TEST(StorageLeaderEpochLog, UncleanOpenRederivesTheRecoveredTail) {
  TempDir dir;
  const std::string d = dir.sub("t-0");
  {
    auto log = open_log(d);
    ASSERT_TRUE(log);
    append_epochs(*log, {0, 0, 3, 3});
  }
  // Stale: claims epoch 9 from offset 2 (a lost truncation), misses epoch 3.
  write_text(epoch_file(d), "0\n2\n0 0\n9 2\n");
  auto log = open_log(d, /*clean=*/false);  // recovery point 0: every batch re-validated
  ASSERT_TRUE(log);
  EXPECT_EQ(log->leader_epoch_cache().entries(), (Entries{{0, 0}, {3, 4}}));
}

}  // namespace
}  // namespace samsa::storage
