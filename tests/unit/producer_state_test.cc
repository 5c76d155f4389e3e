// Idempotent/transactional producer state: the per-partition state machine
// (ProducerState) and its life in a Log (dedup on append, snapshots, aborted
// transaction indexes, recovery after a crash).
#include <gtest/gtest.h>

#include "protocol/record_batch.h"
#include "storage/log.h"
#include "storage/log_format.h"
#include "storage/producer_state.h"
#include "storage_test_util.h"

namespace samsa::storage {
namespace {

using protocol::BatchBuilder;
using protocol::BatchHeader;
using testing::TempDir;

constexpr int64_t kProducerNow = 1'700'000'000'000;

protocol::Bytes producer_batch(int64_t pid, int16_t epoch, int32_t seq, int records, bool txn = false) {
  BatchBuilder b;
  b.set_producer(pid, epoch, seq).set_transactional(txn);
  for (int i = 0; i < records; ++i) {
    std::string v = "v" + std::to_string(seq + i);
    b.add(kProducerNow, std::nullopt, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(v.data()), v.size()));
  }
  return b.build();
}

protocol::Bytes marker(int64_t pid, int16_t epoch, bool commit) {
  return protocol::build_end_txn_marker(
      {commit ? protocol::ControlType::commit : protocol::ControlType::abort, 0}, pid, epoch, kProducerNow);
}

BatchHeader at(protocol::Bytes b, int64_t base_offset) {
  protocol::set_base_offset(b, base_offset);
  return BatchHeader::parse(b.data());
}

// ---- the state machine ------------------------------------------------------------------

TEST(ProducerState, SequencesMustContinueAndDuplicatesAreRecognised) {
  ProducerState s;
  auto b0 = producer_batch(7, 0, 0, 3);
  EXPECT_EQ(s.check(BatchHeader::parse(b0.data())).error, ErrorCode::NONE);
  s.on_append(at(b0, 10), TxnMarker::none, kProducerNow);
  // Next in sequence.
  auto b1 = producer_batch(7, 0, 3, 2);
  EXPECT_EQ(s.check(BatchHeader::parse(b1.data())).error, ErrorCode::NONE);
  s.on_append(at(b1, 13), TxnMarker::none, kProducerNow);
  // A gap.
  auto gap = producer_batch(7, 0, 6, 1);
  EXPECT_EQ(s.check(BatchHeader::parse(gap.data())).error, ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER);
  // A retry of the first batch: acknowledged with its original offsets.
  auto c = s.check(BatchHeader::parse(b0.data()));
  EXPECT_EQ(c.error, ErrorCode::NONE);
  ASSERT_TRUE(c.duplicate);
  EXPECT_EQ(c.duplicate->first_offset, 10);
  EXPECT_EQ(c.duplicate->last_offset, 12);
}

TEST(ProducerState, OnlyTheLastFiveBatchesAreRemembered) {
  ProducerState s;
  for (int i = 0; i < 7; ++i) s.on_append(at(producer_batch(1, 0, i, 1), i), TxnMarker::none, kProducerNow);
  EXPECT_FALSE(s.check(BatchHeader::parse(producer_batch(1, 0, 1, 1).data())).duplicate);
  EXPECT_TRUE(s.check(BatchHeader::parse(producer_batch(1, 0, 2, 1).data())).duplicate);
  EXPECT_TRUE(s.check(BatchHeader::parse(producer_batch(1, 0, 6, 1).data())).duplicate);
}

TEST(ProducerState, EpochsFenceAndRestartSequences) {
  ProducerState s;
  s.on_append(at(producer_batch(1, 3, 0, 5), 0), TxnMarker::none, kProducerNow);
  EXPECT_EQ(s.check(BatchHeader::parse(producer_batch(1, 2, 5, 1).data())).error, ErrorCode::INVALID_PRODUCER_EPOCH);
  EXPECT_EQ(s.check(BatchHeader::parse(producer_batch(1, 4, 5, 1).data())).error,
            ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER);
  EXPECT_EQ(s.check(BatchHeader::parse(producer_batch(1, 4, 0, 1).data())).error, ErrorCode::NONE);
  // An unknown producer id may start anywhere (its state may have expired).
  EXPECT_EQ(s.check(BatchHeader::parse(producer_batch(99, 0, 42, 1).data())).error, ErrorCode::NONE);
}

TEST(ProducerState, SequenceWrapsAfterIntMax) {
  ProducerState s;
  s.on_append(at(producer_batch(1, 0, INT32_MAX - 1, 2), 0), TxnMarker::none, kProducerNow);
  EXPECT_EQ(s.check(BatchHeader::parse(producer_batch(1, 0, 0, 1).data())).error, ErrorCode::NONE);
  EXPECT_EQ(s.check(BatchHeader::parse(producer_batch(1, 0, 1, 1).data())).error,
            ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER);
}

TEST(ProducerState, TransactionsSetTheUnstableOffsetAndAbortsAreIndexed) {
  ProducerState s;
  s.on_append(at(producer_batch(1, 0, 0, 2, true), 5), TxnMarker::none, kProducerNow);
  s.on_append(at(producer_batch(2, 0, 0, 2, true), 7), TxnMarker::none, kProducerNow);
  EXPECT_EQ(s.first_unstable_offset(), 5);
  // Inside a transaction a non-transactional batch is refused.
  EXPECT_EQ(s.check(BatchHeader::parse(producer_batch(1, 0, 2, 1).data())).error, ErrorCode::INVALID_TXN_STATE);
  auto aborted = s.on_append(at(marker(1, 0, false), 9), TxnMarker::abort, kProducerNow);
  ASSERT_TRUE(aborted);
  EXPECT_EQ(*aborted, (AbortedTxn{1, 5, 9, 7}));
  EXPECT_EQ(s.first_unstable_offset(), 7);
  EXPECT_FALSE(s.on_append(at(marker(2, 0, true), 10), TxnMarker::commit, kProducerNow));
  EXPECT_FALSE(s.first_unstable_offset());
  EXPECT_EQ(s.aborted_in(0, 100).size(), 1u);
  EXPECT_EQ(s.aborted_in(10, 100).size(), 0u);  // ended before the fetch
  EXPECT_EQ(s.aborted_in(0, 5).size(), 0u);     // began after the range
  // A marker from an older epoch is refused.
  s.on_append(at(producer_batch(1, 3, 0, 1, true), 11), TxnMarker::none, kProducerNow);
  EXPECT_EQ(s.check_marker(1, 2), ErrorCode::INVALID_PRODUCER_EPOCH);
}

TEST(ProducerState, SnapshotRoundTripAndCorruptionIsDetected) {
  ProducerState s;
  s.on_append(at(producer_batch(1, 2, 10, 3), 100), TxnMarker::none, kProducerNow);
  s.on_append(at(producer_batch(5, 0, 0, 1, true), 103), TxnMarker::none, kProducerNow);
  auto bytes = s.encode_snapshot();
  auto back = ProducerState::decode_snapshot(bytes);
  ASSERT_TRUE(back);
  ASSERT_EQ(back->size(), 2u);
  const auto& e1 = back->at(1);
  EXPECT_EQ(e1.epoch, 2);
  ASSERT_EQ(e1.batches.size(), 1u);
  EXPECT_EQ(e1.batches.back().first_seq, 10);
  EXPECT_EQ(e1.batches.back().last_seq, 12);
  EXPECT_EQ(e1.batches.back().first_offset, 100);
  EXPECT_EQ(back->at(5).current_txn_first_offset, 103);
  bytes[bytes.size() - 3] ^= 1;
  EXPECT_FALSE(ProducerState::decode_snapshot(bytes));
  EXPECT_FALSE(ProducerState::decode_snapshot(std::span<const uint8_t>(bytes).first(5)));
}

TEST(ProducerState, IdleProducersExpireButNotInsideATransaction) {
  ProducerState s;
  s.on_append(at(producer_batch(1, 0, 0, 1), 0), TxnMarker::none, kProducerNow);
  s.on_append(at(producer_batch(2, 0, 0, 1, true), 1), TxnMarker::none, kProducerNow);
  EXPECT_EQ(s.expire(kProducerNow + 1000, 5000), 0u);
  EXPECT_EQ(s.expire(kProducerNow + 6000, 5000), 1u);
  EXPECT_FALSE(s.find(1));
  EXPECT_TRUE(s.find(2));
}

// ---- in a Log ---------------------------------------------------------------------------

std::unique_ptr<Log> open_log(const std::string& dir, bool clean, int64_t recovery_point = 0) {
  LogOpenOptions o;
  o.config.segment_bytes = 1 << 20;
  o.clean_shutdown = clean;
  o.recovery_point = recovery_point;
  o.now_ms = kProducerNow;
  auto log = Log::open(posix_env(), dir, TopicPartition{"t", 0}, o);
  EXPECT_TRUE(log) << log.status().to_string();
  return log ? std::move(*log) : nullptr;
}

TEST(LogProducers, RetriedBatchIsNotWrittenTwice) {
  TempDir dir;
  auto log = open_log(dir.sub("t-0"), true);
  auto b = producer_batch(3, 0, 0, 4);
  auto copy = b;
  auto r1 = log->append(b, 0, kProducerNow, false);
  ASSERT_EQ(r1.error, ErrorCode::NONE);
  auto r2 = log->append(copy, 0, kProducerNow, false);
  ASSERT_EQ(r2.error, ErrorCode::NONE);
  EXPECT_TRUE(r2.duplicate);
  EXPECT_EQ(r2.first_offset, r1.first_offset);
  EXPECT_EQ(r2.last_offset, r1.last_offset);
  EXPECT_EQ(log->log_end_offset(), 4);
  auto gap = producer_batch(3, 0, 9, 1);
  EXPECT_EQ(log->append(gap, 0, kProducerNow, false).error, ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER);
  EXPECT_EQ(log->log_end_offset(), 4);
}

TEST(LogProducers, StateSurvivesCleanCloseAndCrash) {
  TempDir dir;
  const std::string path = dir.sub("t-0");
  {
    auto log = open_log(path, true);
    auto b = producer_batch(3, 0, 0, 2);
    ASSERT_EQ(log->append(b, 0, kProducerNow, false).error, ErrorCode::NONE);
    ASSERT_TRUE(log->close());
  }
  {
    auto log = open_log(path, true);  // clean: from the snapshot at the log end
    auto retry = producer_batch(3, 0, 0, 2);
    EXPECT_TRUE(log->append(retry, 0, kProducerNow, false).duplicate);
    auto next = producer_batch(3, 0, 2, 2);
    ASSERT_EQ(log->append(next, 0, kProducerNow, false).error, ErrorCode::NONE);
    // No close: a crash. The state after the snapshot comes back from the log.
  }
  auto log = open_log(path, false, 0);
  auto retry = producer_batch(3, 0, 2, 2);
  auto r = log->append(retry, 0, kProducerNow, false);
  EXPECT_TRUE(r.duplicate);
  EXPECT_EQ(r.first_offset, 2);
  auto gap = producer_batch(3, 0, 5, 1);
  EXPECT_EQ(log->append(gap, 0, kProducerNow, false).error, ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER);
}

TEST(LogProducers, LastStableOffsetAndAbortedTransactionsSurviveACrash) {
  TempDir dir;
  const std::string path = dir.sub("t-0");
  {
    auto log = open_log(path, true);
    auto t1 = producer_batch(1, 0, 0, 3, true);  // offsets 0-2
    ASSERT_EQ(log->append(t1, 0, kProducerNow, false).error, ErrorCode::NONE);
    EXPECT_EQ(log->last_stable_offset(log->log_end_offset()), 0);
    auto plain = producer_batch(2, 0, 0, 1);  // offset 3
    ASSERT_EQ(log->append(plain, 0, kProducerNow, false).error, ErrorCode::NONE);
    auto abort = marker(1, 0, false);  // offset 4
    ASSERT_EQ(log->append(abort, 0, kProducerNow, false).error, ErrorCode::NONE);
    EXPECT_EQ(log->last_stable_offset(log->log_end_offset()), 5);
    auto t2 = producer_batch(1, 0, 3, 1, true);  // offset 5, still open
    ASSERT_EQ(log->append(t2, 0, kProducerNow, false).error, ErrorCode::NONE);
    EXPECT_EQ(log->last_stable_offset(log->log_end_offset()), 5);
  }
  auto log = open_log(path, false, 0);
  EXPECT_EQ(log->last_stable_offset(log->log_end_offset()), 5);
  auto aborted = log->aborted_transactions(0, 6);
  ASSERT_EQ(aborted.size(), 1u);
  EXPECT_EQ(aborted[0].producer_id, 1);
  EXPECT_EQ(aborted[0].first_offset, 0);
  EXPECT_EQ(aborted[0].last_offset, 4);
  // The .txnindex holds it too, in Kafka's 34-byte layout.
  auto content = read_file_to_string(posix_env(), path + "/00000000000000000000.txnindex", 1 << 20);
  ASSERT_TRUE(content);
  EXPECT_EQ(content->size(), 34u);
  auto commit = marker(1, 0, true);
  ASSERT_EQ(log->append(commit, 0, kProducerNow, false).error, ErrorCode::NONE);
  EXPECT_EQ(log->last_stable_offset(log->log_end_offset()), log->log_end_offset());
}

}  // namespace
}  // namespace samsa::storage
