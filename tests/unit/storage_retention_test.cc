// Retention's delayed file deletion (file.delete.delay.ms) and DeleteRecords'
// log start offset, at the storage level.
#include <gtest/gtest.h>

#include "storage/log.h"
#include "storage/log_format.h"
#include "storage_test_util.h"

namespace samsa::storage {
namespace {

using testing::make_batch;
using testing::TempDir;

constexpr int64_t kRetentionNow = 1'700'000'000'000;

std::unique_ptr<Log> open_small_log(const std::string& dir, int64_t delete_delay_ms) {
  LogOpenOptions o;
  o.config.segment_bytes = 1024;
  o.config.index_interval_bytes = 128;
  o.config.segment_index_bytes = 4096;
  o.config.retention_ms = 1000;
  o.config.file_delete_delay_ms = delete_delay_ms;
  o.clean_shutdown = true;
  o.now_ms = kRetentionNow;
  auto log = Log::open(posix_env(), dir, TopicPartition{"t", 0}, o);
  EXPECT_TRUE(log) << log.status().to_string();
  return log ? std::move(*log) : nullptr;
}

void fill(Log& log, int batches) {
  for (int i = 0; i < batches; ++i) {
    auto b = make_batch(2, kRetentionNow + i, 40);
    ASSERT_EQ(log.append(b, 0, kRetentionNow + i, false).error, ErrorCode::NONE);
  }
}

const char* kFirstLog = "00000000000000000000.log";

TEST(StorageRetention, DeletedSegmentsLingerAsDotDeleted) {
  TempDir dir;
  auto log = open_small_log(dir.sub("t-0"), 500);
  ASSERT_TRUE(log);
  fill(*log, 40);
  ASSERT_GT(log->segment_count(), 2u);
  const auto first = dir.sub("t-0/") + kFirstLog;
  auto n = log->delete_old_segments(kRetentionNow + 5000, log->log_end_offset());
  ASSERT_TRUE(n);
  EXPECT_GT(*n, 0);
  EXPECT_EQ(log->segment_count(), 1u) << "every sealed segment is older than retention.ms";
  EXPECT_EQ(log->log_start_offset(), log->segments()[0]->base_offset());
  EXPECT_FALSE(posix_env()->exists(first));
  EXPECT_TRUE(posix_env()->exists(first + std::string(format::kDeletedSuffix)));
  EXPECT_GE(log->pending_file_deletions(), static_cast<size_t>(*n));
  auto removed = log->remove_deleted_files(kRetentionNow + 5000 + 499);
  ASSERT_TRUE(removed);
  EXPECT_EQ(*removed, 0) << "not due yet";
  removed = log->remove_deleted_files(kRetentionNow + 5000 + 500);
  ASSERT_TRUE(removed);
  EXPECT_GT(*removed, 0);
  EXPECT_EQ(log->pending_file_deletions(), 0u);
  EXPECT_FALSE(posix_env()->exists(first + std::string(format::kDeletedSuffix)));
}

TEST(StorageRetention, LeftoverDotDeletedFilesAreRemovedOnOpen) {
  TempDir dir;
  {
    auto log = open_small_log(dir.sub("t-0"), 60000);
    ASSERT_TRUE(log);
    fill(*log, 40);
    ASSERT_TRUE(log->delete_old_segments(kRetentionNow + 5000, log->log_end_offset()));
    ASSERT_TRUE(posix_env()->exists(dir.sub("t-0/") + kFirstLog + std::string(format::kDeletedSuffix)));
    ASSERT_TRUE(log->close());
  }
  auto log = open_small_log(dir.sub("t-0"), 60000);
  ASSERT_TRUE(log);
  EXPECT_FALSE(posix_env()->exists(dir.sub("t-0/") + kFirstLog + std::string(format::kDeletedSuffix)));
  EXPECT_GT(log->log_start_offset(), 0);
}

TEST(StorageRetention, ZeroDelayUnlinksImmediately) {
  TempDir dir;
  auto log = open_small_log(dir.sub("t-0"), 0);
  ASSERT_TRUE(log);
  fill(*log, 40);
  ASSERT_TRUE(log->delete_old_segments(kRetentionNow + 5000, log->log_end_offset()));
  EXPECT_FALSE(posix_env()->exists(dir.sub("t-0/") + kFirstLog + std::string(format::kDeletedSuffix)));
  EXPECT_EQ(log->pending_file_deletions(), 0u);
}

TEST(StorageRetention, DeleteRecordsMovesStartThenRetentionDropsSegments) {
  TempDir dir;
  auto log = open_small_log(dir.sub("t-0"), 0);
  ASSERT_TRUE(log);
  fill(*log, 40);
  const int64_t hw = log->log_end_offset();
  EXPECT_FALSE(log->maybe_increment_log_start_offset(hw + 1, hw)) << "beyond the high watermark";
  ASSERT_TRUE(log->maybe_increment_log_start_offset(31, hw));
  EXPECT_EQ(log->log_start_offset(), 31);
  ASSERT_TRUE(log->maybe_increment_log_start_offset(5, hw));
  EXPECT_EQ(log->log_start_offset(), 31) << "never moves back";
  EXPECT_EQ(log->read(30, 100, hw, true).error, ErrorCode::OFFSET_OUT_OF_RANGE);
  // retention.ms not reached: only the segments wholly below the start go.
  auto n = log->delete_old_segments(kRetentionNow, hw);
  ASSERT_TRUE(n);
  EXPECT_GT(*n, 0);
  EXPECT_LE(log->segments()[0]->base_offset(), 31);
  EXPECT_EQ(log->log_start_offset(), 31);
}

TEST(StorageRetention, ActiveSegmentWhollyBelowStartIsRolledAndDeleted) {
  TempDir dir;
  auto log = open_small_log(dir.sub("t-0"), 0);
  ASSERT_TRUE(log);
  auto b = make_batch(3, kRetentionNow, 10);
  ASSERT_EQ(log->append(b, 0, kRetentionNow, false).error, ErrorCode::NONE);
  ASSERT_EQ(log->segment_count(), 1u);
  ASSERT_TRUE(log->maybe_increment_log_start_offset(3, 3));
  auto n = log->delete_old_segments(kRetentionNow, 3);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 1);
  EXPECT_EQ(log->segment_count(), 1u);
  EXPECT_EQ(log->segments()[0]->base_offset(), 3);
  EXPECT_TRUE(log->segments()[0]->empty());
  EXPECT_EQ(log->log_start_offset(), 3);
  EXPECT_EQ(log->log_end_offset(), 3);
  // An empty active segment is never deleted; appends continue at the end.
  n = log->delete_old_segments(kRetentionNow + 100000, 3);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 0);
  auto again = make_batch(2, kRetentionNow, 10);
  EXPECT_EQ(log->append(again, 0, kRetentionNow, false).first_offset, 3);
}

}  // namespace
}  // namespace samsa::storage
