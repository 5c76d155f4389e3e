#include <gtest/gtest.h>

#include <thread>

#include "storage/log.h"
#include "storage/log_format.h"
#include "storage_test_util.h"

namespace samsa::storage {
namespace {

using testing::all_batches_valid;
using testing::make_batch;
using testing::read_chunks;
using testing::TempDir;

constexpr int64_t kLogNow = 1'700'000'000'000;

LogConfig small_config() {
  LogConfig c;
  c.segment_bytes = 4096;
  c.index_interval_bytes = 256;
  c.segment_index_bytes = 8 * 1024;
  return c;
}

std::unique_ptr<Log> open_log(Env* env, const std::string& dir, LogConfig cfg, bool clean = true,
                              int64_t recovery_point = 0, int64_t log_start = 0) {
  LogOpenOptions o;
  o.config = cfg;
  o.clean_shutdown = clean;
  o.recovery_point = recovery_point;
  o.log_start_offset = log_start;
  o.now_ms = kLogNow;
  auto log = Log::open(env, dir, TopicPartition{"t", 0}, o);
  EXPECT_TRUE(log) << log.status().to_string();
  return log ? std::move(*log) : nullptr;
}

// Appends one batch of `records` records (timestamps ts, ts+1, ...).
AppendResult append(Log& log, int records, int64_t ts = kLogNow, size_t value = 16, int64_t now = kLogNow) {
  auto batch = make_batch(records, ts, value);
  return log.append(batch, 7, now, false);
}

std::vector<protocol::BatchHeader> batches_of(const ReadResult& r) {
  std::vector<protocol::BatchHeader> hs;
  EXPECT_TRUE(all_batches_valid(read_chunks(r), &hs));
  return hs;
}

TEST(StorageLog, AppendAssignsOffsetsAndPatchesHeaders) {
  TempDir dir;
  auto log = open_log(posix_env(), dir.sub("t-0"), LogConfig{});
  auto two = testing::concat({make_batch(3), make_batch(2)});
  auto r = log->append(two, 42, kLogNow, false);
  ASSERT_EQ(r.error, ErrorCode::NONE) << r.status.to_string();
  EXPECT_EQ(r.first_offset, 0);
  EXPECT_EQ(r.last_offset, 4);
  EXPECT_EQ(r.batches, 2);
  EXPECT_EQ(r.records, 5);
  EXPECT_EQ(r.log_append_time, -1);
  r = append(*log, 4);
  EXPECT_EQ(r.first_offset, 5);
  EXPECT_EQ(log->log_end_offset(), 9);

  auto rr = log->read(0, 1 << 20, INT64_MAX, true);
  ASSERT_EQ(rr.error, ErrorCode::NONE);
  auto hs = batches_of(rr);
  ASSERT_EQ(hs.size(), 3u);
  EXPECT_EQ(hs[0].base_offset, 0);
  EXPECT_EQ(hs[1].base_offset, 3);
  EXPECT_EQ(hs[2].base_offset, 5);
  EXPECT_EQ(hs[0].leader_epoch, 42);
  EXPECT_EQ(hs[2].leader_epoch, 7);
  EXPECT_FALSE(hs[0].is_log_append_time());
}

TEST(StorageLog, LogAppendTimeRewritesTimestampAndCrc) {
  TempDir dir;
  auto log = open_log(posix_env(), dir.sub("t-0"), LogConfig{});
  auto batch = make_batch(3, 5);
  auto r = log->append(batch, 1, kLogNow, true);
  ASSERT_EQ(r.error, ErrorCode::NONE);
  EXPECT_EQ(r.log_append_time, kLogNow);
  auto hs = batches_of(log->read(0, 1 << 20, INT64_MAX, true));  // checks the CRC too
  ASSERT_EQ(hs.size(), 1u);
  EXPECT_TRUE(hs[0].is_log_append_time());
  EXPECT_EQ(hs[0].max_timestamp, kLogNow);
  EXPECT_EQ(log->max_timestamp_and_offset().timestamp, kLogNow);
}

TEST(StorageLog, RejectsMalformedFramingWithoutWriting) {
  TempDir dir;
  auto log = open_log(posix_env(), dir.sub("t-0"), LogConfig{});
  auto batch = make_batch(2);
  batch.pop_back();  // batchLength now claims one byte too many
  auto r = log->append(batch, 0, kLogNow, false);
  EXPECT_EQ(r.error, ErrorCode::CORRUPT_MESSAGE);
  EXPECT_EQ(log->log_end_offset(), 0);
  EXPECT_EQ(log->size_bytes(), 0u);
}

TEST(StorageLog, RollsOnSegmentBytes) {
  TempDir dir;
  auto log = open_log(posix_env(), dir.sub("t-0"), small_config());
  for (int i = 0; i < 100; ++i) ASSERT_EQ(append(*log, 5, kLogNow, 20).error, ErrorCode::NONE);
  EXPECT_GT(log->segment_count(), 3u);
  for (const auto& s : log->segments()) EXPECT_LE(s->size(), 4096u);
  // Segment files carry the base offset; sealed indexes are trimmed.
  const auto& second = *log->segments()[1];
  ASSERT_TRUE(second.sealed());
  EXPECT_TRUE(posix_env()->exists(dir.sub("t-0/" + Segment::file_name(second.base_offset(), ".log"))));
  EXPECT_EQ(*posix_env()->file_size(dir.sub("t-0/" + Segment::file_name(0, ".index"))),
            log->segments()[0]->offset_index().entries() * 8);
  EXPECT_EQ(*posix_env()->file_size(dir.sub("t-0/" + Segment::file_name(second.base_offset(), ".timeindex"))),
            second.time_index().entries() * 12);
  EXPECT_EQ(log->segments().back()->offset_index().file()->size().value(), 8u * 1024);
}

TEST(StorageLog, RollsOnSegmentMs) {
  TempDir dir;
  LogConfig c;
  c.segment_ms = 1000;
  auto log = open_log(posix_env(), dir.sub("t-0"), c);
  ASSERT_EQ(append(*log, 1, kLogNow, 16, kLogNow).error, ErrorCode::NONE);
  ASSERT_EQ(append(*log, 1, kLogNow, 16, kLogNow + 1000).error, ErrorCode::NONE);
  EXPECT_EQ(log->segment_count(), 1u);
  ASSERT_EQ(append(*log, 1, kLogNow, 16, kLogNow + 1001).error, ErrorCode::NONE);
  EXPECT_EQ(log->segment_count(), 2u);
  EXPECT_EQ(log->segments()[1]->base_offset(), 2);
}

TEST(StorageLog, RollsWhenIndexFull) {
  TempDir dir;
  LogConfig c;
  c.index_interval_bytes = 1;   // an entry for every batch after the first
  c.segment_index_bytes = 8 * 4;  // 4 offset entries, 2 usable time entries
  auto log = open_log(posix_env(), dir.sub("t-0"), c);
  for (int i = 0; i < 20; ++i) ASSERT_EQ(append(*log, 1, kLogNow + i).error, ErrorCode::NONE);
  EXPECT_GE(log->segment_count(), 4u);
  auto hs = batches_of(log->read(0, 1 << 20, INT64_MAX, true));
  EXPECT_EQ(hs.size(), 20u);
}

TEST(StorageLog, RollsWhenRelativeOffsetWouldOverflow) {
  TempDir dir;
  auto log = open_log(posix_env(), dir.sub("t-0"), LogConfig{});
  ASSERT_EQ(append(*log, 1).error, ErrorCode::NONE);
  auto big = make_batch(1);
  // Claim INT32_MAX + 1 offsets: last - base of the segment would not fit.
  protocol::store_be32(&big[protocol::batch::kLastOffsetDelta], INT32_MAX);
  uint32_t crc = crc32c(big.data() + 21, big.size() - 21);
  protocol::store_be32(&big[protocol::batch::kCrc], static_cast<int32_t>(crc));
  auto r = log->append(big, 0, kLogNow, false);
  ASSERT_EQ(r.error, ErrorCode::NONE);
  EXPECT_EQ(log->segment_count(), 2u);
  EXPECT_EQ(log->segments()[1]->base_offset(), 1);
  EXPECT_EQ(log->log_end_offset(), 1 + int64_t{INT32_MAX} + 1);
}

class StorageLogRead : public ::testing::Test {
 protected:
  void SetUp() override {
    log_ = open_log(posix_env(), dir_.sub("t-0"), small_config());
    // 60 batches of 3 records: offsets 3i..3i+2; several segments.
    for (int i = 0; i < 60; ++i) {
      auto r = append(*log_, 3, kLogNow + i * 10, 30);
      ASSERT_EQ(r.error, ErrorCode::NONE);
      batch_size_ = make_batch(3, 0, 30).size();
    }
    ASSERT_GT(log_->segment_count(), 2u);
  }
  TempDir dir_;
  std::unique_ptr<Log> log_;
  size_t batch_size_ = 0;
};

TEST_F(StorageLogRead, ReadsAcrossSegments) {
  auto r = log_->read(0, 1 << 20, INT64_MAX, false);
  ASSERT_EQ(r.error, ErrorCode::NONE);
  EXPECT_EQ(r.chunks.size(), log_->segment_count());
  auto hs = batches_of(r);
  ASSERT_EQ(hs.size(), 60u);
  for (size_t i = 0; i < hs.size(); ++i) EXPECT_EQ(hs[i].base_offset, static_cast<int64_t>(3 * i));
  EXPECT_EQ(r.first_offset, 0);
  for (auto& c : r.chunks) EXPECT_EQ(c.fd, c.file->fd());
}

TEST_F(StorageLogRead, StartsAtTheBatchHoldingTheOffset) {
  for (int64_t off : {0, 1, 2, 4, 89, 100, 179}) {
    auto r = log_->read(off, 1, INT64_MAX, true);
    ASSERT_EQ(r.error, ErrorCode::NONE);
    auto hs = batches_of(r);
    ASSERT_EQ(hs.size(), 1u) << off;
    EXPECT_EQ(hs[0].base_offset, off / 3 * 3);
    EXPECT_EQ(r.first_offset, off / 3 * 3);
  }
}

TEST_F(StorageLogRead, MaxBytesStopsAtBatchBoundaries) {
  auto r = log_->read(0, batch_size_ * 5 + batch_size_ / 2, INT64_MAX, false);
  EXPECT_EQ(r.bytes, batch_size_ * 5);
  EXPECT_EQ(batches_of(r).size(), 5u);
  // A limit crossing a segment boundary continues into the next segment.
  const int64_t second_base = log_->segments()[1]->base_offset();
  r = log_->read(second_base - 3, batch_size_ * 3, INT64_MAX, false);
  auto hs = batches_of(r);
  ASSERT_EQ(hs.size(), 3u);
  EXPECT_EQ(hs[0].base_offset, second_base - 3);
  EXPECT_EQ(hs[1].base_offset, second_base);
  EXPECT_EQ(r.chunks.size(), 2u);
}

TEST_F(StorageLogRead, MinOneBatchReturnsFirstBatchWhole) {
  auto r = log_->read(30, 10, INT64_MAX, false);
  EXPECT_EQ(r.error, ErrorCode::NONE);
  EXPECT_TRUE(r.chunks.empty());
  r = log_->read(30, 10, INT64_MAX, true);
  EXPECT_EQ(r.bytes, batch_size_);
  EXPECT_EQ(batches_of(r)[0].base_offset, 30);
  r = log_->read(30, 0, INT64_MAX, true);
  EXPECT_EQ(r.bytes, batch_size_);
}

TEST_F(StorageLogRead, NeverReturnsBatchesAtOrAboveHighWatermark) {
  auto r = log_->read(0, 1 << 20, 30, true);
  auto hs = batches_of(r);
  ASSERT_EQ(hs.size(), 10u);
  EXPECT_EQ(hs.back().base_offset, 27);
  // HW inside a batch: that batch is excluded.
  hs = batches_of(log_->read(0, 1 << 20, 31, true));
  EXPECT_EQ(hs.size(), 10u);
  // Reading at or above the HW gives nothing, even with min_one_batch.
  r = log_->read(30, 1 << 20, 30, true);
  EXPECT_EQ(r.error, ErrorCode::NONE);
  EXPECT_TRUE(r.chunks.empty());
  r = log_->read(28, 1 << 20, 30, true);  // batch 27..29 ends below the HW
  EXPECT_EQ(batches_of(r).size(), 1u);
}

TEST_F(StorageLogRead, OutOfRange) {
  EXPECT_EQ(log_->read(181, 100, INT64_MAX, true).error, ErrorCode::OFFSET_OUT_OF_RANGE);
  auto r = log_->read(180, 100, INT64_MAX, true);  // == log end: empty, fine
  EXPECT_EQ(r.error, ErrorCode::NONE);
  EXPECT_TRUE(r.chunks.empty());
  EXPECT_EQ(r.log_end_offset, 180);
  EXPECT_EQ(log_->read(-1, 100, INT64_MAX, true).error, ErrorCode::OFFSET_OUT_OF_RANGE);
  ASSERT_TRUE(log_->maybe_increment_log_start_offset(50, 180));
  EXPECT_EQ(log_->read(49, 100, INT64_MAX, true).error, ErrorCode::OFFSET_OUT_OF_RANGE);
  EXPECT_EQ(log_->read(50, 100, INT64_MAX, true).error, ErrorCode::NONE);
}

TEST_F(StorageLogRead, OffsetForTimestamp) {
  // Batch i has timestamps kLogNow + 10i .. kLogNow + 10i + 2.
  auto at = [&](int64_t ts) { return log_->offset_for_timestamp(ts); };
  auto r = at(kLogNow);
  ASSERT_TRUE(r && r->has_value());
  EXPECT_EQ((*r)->offset, 0);
  r = at(kLogNow + 3);  // batch 0 max is kLogNow+2 -> batch 1
  EXPECT_EQ((*r)->offset, 3);
  EXPECT_EQ((*r)->timestamp, kLogNow + 12);
  r = at(kLogNow + 452);
  EXPECT_EQ((*r)->offset, 135);
  EXPECT_EQ((*r)->batch.length, batch_size_);
  r = at(kLogNow + 10 * 59 + 3);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->has_value());
  EXPECT_EQ(log_->max_timestamp_and_offset().timestamp, kLogNow + 592);
  EXPECT_EQ(log_->max_timestamp_and_offset().offset, 179);
}

TEST_F(StorageLogRead, TruncateToDropsWholeBatches) {
  ASSERT_TRUE(log_->truncate_to(100));  // batch 99..101 goes whole
  EXPECT_EQ(log_->log_end_offset(), 99);
  auto hs = batches_of(log_->read(0, 1 << 20, INT64_MAX, true));
  ASSERT_EQ(hs.size(), 33u);
  EXPECT_EQ(hs.back().base_offset, 96);
  EXPECT_LE(log_->recovery_point(), 99);
  auto r = append(*log_, 2);
  EXPECT_EQ(r.first_offset, 99);
  EXPECT_EQ(batches_of(log_->read(99, 1 << 20, INT64_MAX, true)).size(), 1u);
  ASSERT_TRUE(log_->truncate_fully_and_start_at(500));
  EXPECT_EQ(log_->log_start_offset(), 500);
  EXPECT_EQ(log_->log_end_offset(), 500);
  EXPECT_EQ(log_->segment_count(), 1u);
  EXPECT_EQ(append(*log_, 1).first_offset, 500);
}

TEST_F(StorageLogRead, RetentionDeletesOldSegmentsBelowHighWatermark) {
  LogConfig c = small_config();
  c.retention_bytes = 4096;
  log_->update_config(c);
  const size_t before = log_->segment_count();
  auto n = log_->delete_old_segments(kLogNow, 0);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 0) << "nothing is below HW 0";
  n = log_->delete_old_segments(kLogNow, 180);
  ASSERT_TRUE(n);
  EXPECT_GT(*n, 0);
  EXPECT_EQ(log_->segment_count(), before - static_cast<size_t>(*n));
  EXPECT_LE(log_->size_bytes(), 4096u + 4096u);
  EXPECT_EQ(log_->log_start_offset(), log_->segments()[0]->base_offset());
  EXPECT_EQ(log_->read(0, 100, INT64_MAX, true).error, ErrorCode::OFFSET_OUT_OF_RANGE);
}

TEST_F(StorageLogRead, ReaderKeepsDeletedSegmentReadable) {
  auto r = log_->read(0, 100, INT64_MAX, true);
  ASSERT_EQ(r.chunks.size(), 1u);
  ASSERT_TRUE(log_->maybe_increment_log_start_offset(150, 180));
  ASSERT_TRUE(log_->delete_old_segments(kLogNow, 180));
  EXPECT_FALSE(posix_env()->exists(dir_.sub("t-0/00000000000000000000.log")));
  EXPECT_EQ(batches_of(r).size(), 1u) << "the chunk's file handle outlives the segment";
}

TEST(StorageLog, CleanReopenScansNothingAndKeepsData) {
  TempDir dir;
  int64_t leo;
  {
    auto log = open_log(posix_env(), dir.sub("t-0"), small_config());
    for (int i = 0; i < 50; ++i) ASSERT_EQ(append(*log, 2, kLogNow + i).error, ErrorCode::NONE);
    leo = log->log_end_offset();
    ASSERT_TRUE(log->close());
  }
  auto log = open_log(posix_env(), dir.sub("t-0"), small_config(), /*clean=*/true, 0);
  EXPECT_EQ(log->recovery_info().segments_recovered, 0);
  EXPECT_EQ(log->recovery_info().indexes_rebuilt, 0);
  EXPECT_EQ(log->recovery_info().recovered_from_offset, -1);
  EXPECT_EQ(log->log_end_offset(), leo);
  EXPECT_EQ(log->recovery_point(), leo);
  EXPECT_EQ(batches_of(log->read(0, 1 << 20, INT64_MAX, true)).size(), 50u);
  EXPECT_EQ(log->max_timestamp_and_offset().timestamp, kLogNow + 49 + 1);
  EXPECT_EQ(append(*log, 1).first_offset, leo);
  auto ts = log->offset_for_timestamp(kLogNow + 30);
  ASSERT_TRUE(ts && ts->has_value());
  EXPECT_EQ((*ts)->offset, 58);  // batch 29 (offsets 58..59) has max kLogNow+30
}

TEST(StorageLog, MissingIndexIsRebuilt) {
  TempDir dir;
  {
    auto log = open_log(posix_env(), dir.sub("t-0"), small_config());
    for (int i = 0; i < 50; ++i) ASSERT_EQ(append(*log, 2, kLogNow + i).error, ErrorCode::NONE);
    ASSERT_TRUE(log->close());
  }
  ASSERT_TRUE(posix_env()->unlink(dir.sub("t-0/00000000000000000000.index")));
  auto log = open_log(posix_env(), dir.sub("t-0"), small_config());
  EXPECT_EQ(log->recovery_info().indexes_rebuilt, 1);
  EXPECT_GT(log->segments()[0]->offset_index().entries(), 0u);
  EXPECT_EQ(batches_of(log->read(20, 1 << 20, INT64_MAX, true))[0].base_offset, 20);
}

TEST(StorageLog, FlushTicketFromAnotherThread) {
  TempDir dir;
  auto log = open_log(posix_env(), dir.sub("t-0"), small_config(), true);
  for (int i = 0; i < 30; ++i) ASSERT_EQ(append(*log, 2).error, ErrorCode::NONE);
  EXPECT_TRUE(log->flush_due(kLogNow) == false);  // defaults: never due
  FlushTicket t = log->prepare_flush();
  EXPECT_EQ(t.offset, 60);
  EXPECT_FALSE(t.files.empty());
  EXPECT_TRUE(t.sync_dir);
  ASSERT_EQ(append(*log, 2).error, ErrorCode::NONE);  // appends go on meanwhile
  Status st;
  std::thread th([&] { st = t.run(); });
  th.join();
  ASSERT_TRUE(st);
  log->complete_flush(t);
  EXPECT_EQ(log->recovery_point(), 60);
  EXPECT_EQ(log->recovery_point_snapshot(), 60);
  // Only the active segment is dirty now.
  FlushTicket t2 = log->prepare_flush();
  EXPECT_EQ(t2.segments.size(), 1u);
  EXPECT_FALSE(t2.sync_dir);
  ASSERT_TRUE(log->flush());
  EXPECT_EQ(log->recovery_point(), 62);
}

TEST(StorageLog, FlushAfterTruncationDoesNotAdvancePastIt) {
  TempDir dir;
  auto log = open_log(posix_env(), dir.sub("t-0"), LogConfig{});
  for (int i = 0; i < 10; ++i) ASSERT_EQ(append(*log, 1).error, ErrorCode::NONE);
  FlushTicket t = log->prepare_flush();
  ASSERT_TRUE(log->truncate_to(5));
  for (int i = 0; i < 5; ++i) ASSERT_EQ(append(*log, 1).error, ErrorCode::NONE);
  ASSERT_TRUE(t.run());
  log->complete_flush(t);
  EXPECT_LE(log->recovery_point(), 5);
}

TEST(StorageLog, FlushMessagesPolicy) {
  TempDir dir;
  LogConfig c;
  c.flush_messages = 10;
  auto log = open_log(posix_env(), dir.sub("t-0"), c);
  ASSERT_EQ(append(*log, 9).error, ErrorCode::NONE);
  EXPECT_FALSE(log->flush_due(kLogNow));
  ASSERT_EQ(append(*log, 1).error, ErrorCode::NONE);
  EXPECT_TRUE(log->flush_due(kLogNow));
  ASSERT_TRUE(log->flush());
  EXPECT_FALSE(log->flush_due(kLogNow));
}

TEST(StorageLog, RemoveRenamesDirectoryForDeletion) {
  TempDir dir;
  auto log = open_log(posix_env(), dir.sub("my.topic-with_dashes-3"), LogConfig{});
  ASSERT_EQ(append(*log, 1).error, ErrorCode::NONE);
  auto path = log->remove();
  ASSERT_TRUE(path) << path.status().to_string();
  EXPECT_FALSE(posix_env()->exists(dir.sub("my.topic-with_dashes-3")));
  EXPECT_TRUE(posix_env()->is_dir(*path));
  auto parsed = parse_partition_dir(path->substr(path->rfind('/') + 1));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->kind, PartitionDirKind::kDelete);
  EXPECT_EQ(parsed->tp.topic, "t");  // the Log was opened as t-0
  EXPECT_EQ(append(*log, 1).error, ErrorCode::KAFKA_STORAGE_ERROR);
}

TEST(StorageLog, InsaneIndexIsRebuilt) {
  TempDir dir;
  {
    auto log = open_log(posix_env(), dir.sub("t-0"), small_config());
    for (int i = 0; i < 50; ++i) ASSERT_EQ(append(*log, 2, kLogNow + i).error, ErrorCode::NONE);
    ASSERT_TRUE(log->close());
  }
  // Overwrite the first segment's last index entry with one pointing past the file.
  auto f = posix_env()->open_file(dir.sub("t-0/00000000000000000000.index"), OpenMode::kExisting);
  ASSERT_TRUE(f);
  auto size = (*f)->size();
  ASSERT_TRUE(size && *size >= 16);
  const uint8_t bogus[8] = {0, 0, 0x10, 0, 0x7f, 0, 0, 0};
  ASSERT_TRUE((*f)->write_at(*size - 8, bogus));
  auto log = open_log(posix_env(), dir.sub("t-0"), small_config());
  EXPECT_EQ(log->recovery_info().indexes_rebuilt, 1);
  for (int64_t off : {0, 17, 40, 77}) {
    auto hs = batches_of(log->read(off, 1, INT64_MAX, true));
    ASSERT_EQ(hs.size(), 1u);
    EXPECT_EQ(hs[0].base_offset, off / 2 * 2);
  }
}

TEST(StorageLog, AppendsContinueIndexingAfterCleanReopen) {
  TempDir dir;
  LogConfig c;
  c.index_interval_bytes = 100;
  {
    auto log = open_log(posix_env(), dir.sub("t-0"), c);
    for (int i = 0; i < 20; ++i) ASSERT_EQ(append(*log, 2, kLogNow + i).error, ErrorCode::NONE);
    ASSERT_TRUE(log->close());
  }
  auto log = open_log(posix_env(), dir.sub("t-0"), c);
  const size_t before = log->segments()[0]->offset_index().entries();
  EXPECT_GT(before, 5u);
  for (int i = 0; i < 20; ++i) ASSERT_EQ(append(*log, 2, kLogNow + 100 + i).error, ErrorCode::NONE);
  EXPECT_GT(log->segments()[0]->offset_index().entries(), before + 5);
  EXPECT_TRUE(log->segments()[0]->offset_index().sanity_check(log->log_end_offset(), log->size_bytes()));
  for (int64_t off = 0; off < 80; off += 7) {
    EXPECT_EQ(batches_of(log->read(off, 1, INT64_MAX, true))[0].base_offset, off / 2 * 2);
  }
  ASSERT_TRUE(log->close());
  log = open_log(posix_env(), dir.sub("t-0"), c);
  EXPECT_EQ(log->log_end_offset(), 80);
  EXPECT_EQ(log->max_timestamp_and_offset().timestamp, kLogNow + 119 + 1);
}

TEST(StorageLog, TruncateIntoSealedSegmentThenReopen) {
  TempDir dir;
  {
    auto log = open_log(posix_env(), dir.sub("t-0"), small_config());
    for (int i = 0; i < 100; ++i) ASSERT_EQ(append(*log, 2, kLogNow + i).error, ErrorCode::NONE);
    ASSERT_GE(log->segment_count(), 3u);
    const int64_t target = log->segments()[1]->base_offset() + 6;
    ASSERT_TRUE(log->truncate_to(target));
    EXPECT_EQ(log->segment_count(), 2u);
    EXPECT_EQ(log->log_end_offset(), target);
    EXPECT_FALSE(log->segments()[1]->sealed());
    EXPECT_EQ(log->max_timestamp_and_offset().offset, target - 1);
    for (int i = 0; i < 5; ++i) ASSERT_EQ(append(*log, 2, kLogNow + 1000 + i).error, ErrorCode::NONE);
    ASSERT_TRUE(log->close());
  }
  auto log = open_log(posix_env(), dir.sub("t-0"), small_config());
  EXPECT_EQ(log->segment_count(), 2u);
  auto hs = batches_of(log->read(0, 1 << 20, INT64_MAX, true));
  ASSERT_FALSE(hs.empty());
  EXPECT_EQ(hs.back().last_offset() + 1, log->log_end_offset());
  EXPECT_EQ(log->max_timestamp_and_offset().timestamp, kLogNow + 1004 + 1);
}

TEST(StorageLog, OffsetForTimestampWithUnorderedTimestamps) {
  TempDir dir;
  LogConfig c;
  c.index_interval_bytes = 1;
  auto log = open_log(posix_env(), dir.sub("t-0"), c);
  for (int64_t ts : {100, 50, 300, 200, 400, 150}) ASSERT_EQ(append(*log, 1, ts).error, ErrorCode::NONE);
  auto at = [&](int64_t ts) {
    auto r = log->offset_for_timestamp(ts);
    EXPECT_TRUE(r);
    return r->has_value() ? (*r)->offset : -1;
  };
  EXPECT_EQ(at(0), 0);
  EXPECT_EQ(at(100), 0);
  EXPECT_EQ(at(101), 2);
  EXPECT_EQ(at(250), 2);
  EXPECT_EQ(at(301), 4);
  EXPECT_EQ(at(401), -1);
  EXPECT_EQ(log->max_timestamp_and_offset().timestamp, 400);
  EXPECT_EQ(log->max_timestamp_and_offset().offset, 4);
}

}  // namespace
}  // namespace samsa::storage
