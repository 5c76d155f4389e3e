// The follower side of a partition log: append_as_follower (batches kept as
// the leader wrote them) and truncation (truncate_to, truncate_fully_and_start_at)
// with the leader-epoch cache, producer state, reopen, and crashes or power
// cuts in the middle of a truncation (FaultInjectionEnv).
#include <gtest/gtest.h>

#include <string>

#include "protocol/record_batch.h"
#include "storage/fault_injection_env.h"
#include "storage/log.h"
#include "storage/log_format.h"
#include "storage_test_util.h"

namespace samsa::storage {
namespace {

using protocol::BatchHeader;
using testing::all_batches_valid;
using testing::read_chunks;
using testing::TempDir;

constexpr int64_t kFollowerNow = 1'700'000'000'000;

LogConfig follower_config() {
  LogConfig c;
  c.segment_bytes = 300;  // a few batches per segment
  c.index_interval_bytes = 128;
  c.segment_index_bytes = 8 * 1024;
  return c;
}

std::unique_ptr<Log> open_follower_log(Env* env, const std::string& dir, bool clean = true, int64_t recovery_point = 0,
                              LogConfig cfg = follower_config()) {
  LogOpenOptions o;
  o.config = cfg;
  o.clean_shutdown = clean;
  o.recovery_point = recovery_point;
  o.now_ms = kFollowerNow;
  auto log = Log::open(env, dir, TopicPartition{"t", 0}, o);
  EXPECT_TRUE(log) << log.status().to_string();
  return log ? std::move(*log) : nullptr;
}

// A batch as a leader stored it: its offsets, epoch, timestamps and CRC final.
struct Spec {
  int64_t base = 0;
  int records = 1;
  int32_t epoch = 0;
  int64_t producer_id = -1;
  int16_t producer_epoch = 0;
  int32_t sequence = -1;
  bool transactional = false;
};

std::vector<uint8_t> leader_batch(const Spec& s) {
  protocol::BatchBuilder b(s.base);
  b.set_leader_epoch(s.epoch);
  if (s.producer_id >= 0) b.set_producer(s.producer_id, s.producer_epoch, s.sequence);
  b.set_transactional(s.transactional);
  for (int i = 0; i < s.records; ++i) {
    std::string v = "value-" + std::to_string(s.base + i);
    b.add(kFollowerNow + s.base + i, std::nullopt,
          std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(v.data()), v.size()));
  }
  auto out = b.build();
  return {out.begin(), out.end()};
}

std::vector<uint8_t> marker_batch(int64_t base, int32_t epoch, int64_t producer_id, protocol::ControlType type) {
  auto m = protocol::build_end_txn_marker({type, 0}, producer_id, 0, kFollowerNow + base);
  std::vector<uint8_t> out(m.begin(), m.end());
  protocol::store_be64(out.data() + protocol::batch::kBaseOffset, base);
  protocol::store_be32(out.data() + protocol::batch::kLeaderEpoch, epoch);  // outside the CRC
  return out;
}

// Ten batches of two records, epochs 1 (offsets 0-5), 2 (6-11), 4 (12-19);
// producer 7 writes every batch with rising sequences.
std::vector<uint8_t> history() {
  std::vector<std::vector<uint8_t>> parts;
  for (int i = 0; i < 10; ++i) {
    const int64_t base = 2 * i;
    const int32_t epoch = base < 6 ? 1 : base < 12 ? 2 : 4;
    parts.push_back(leader_batch({base, 2, epoch, 7, 0, 2 * i}));
  }
  return testing::concat(parts);
}

// One append per batch, as fetch responses of one batch each: the log may
// roll between them (a single append never rolls midway).
void append_each(Log& log, std::span<const uint8_t> data) {
  for (size_t pos = 0; pos < data.size();) {
    const size_t size = BatchHeader::parse(data.data() + pos).total_size();
    auto r = log.append_as_follower(data.subspan(pos, size), kFollowerNow);
    ASSERT_EQ(r.error, ErrorCode::NONE) << r.status.to_string();
    pos += size;
  }
}

std::vector<uint8_t> all_bytes(const Log& log) {
  return read_chunks(log.read(log.log_start_offset(), 1 << 24, INT64_MAX, true));
}

std::vector<EpochEntry> entries(std::initializer_list<EpochEntry> e) { return e; }

TEST(StorageFollower, AppendKeepsTheLeadersBytes) {
  TempDir dir;
  auto log = open_follower_log(posix_env(), dir.sub("t-0"));
  auto data = history();
  auto r = log->append_as_follower(data, kFollowerNow);
  ASSERT_EQ(r.error, ErrorCode::NONE) << r.status.to_string();
  EXPECT_EQ(r.first_offset, 0);
  EXPECT_EQ(r.last_offset, 19);
  EXPECT_EQ(r.batches, 10);
  EXPECT_EQ(r.records, 20);
  EXPECT_EQ(log->log_end_offset(), 20);
  EXPECT_EQ(all_bytes(*log), data);
  EXPECT_EQ(log->leader_epoch_cache().entries(), entries({{1, 0}, {2, 6}, {4, 12}}));
  EXPECT_EQ(log->leader_epoch_cache().end_offset_for(2, log->log_end_offset()), (EpochEndOffset{2, 12}));
  EXPECT_EQ(log->leader_epoch_cache().end_offset_for(3, log->log_end_offset()), (EpochEndOffset{2, 12}));
  const ProducerEntry* p = log->producer_state().find(7);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->batches.back().last_seq, 19);
  EXPECT_EQ(p->batches.back().last_offset, 19);
}

TEST(StorageFollower, ContinuesInLaterAppendsAndAcrossReopen) {
  TempDir dir;
  auto data = history();
  {
    auto log = open_follower_log(posix_env(), dir.sub("t-0"));
    append_each(*log, data);
    EXPECT_GT(log->segment_count(), 1u);  // rolled on the way: still byte for byte
    ASSERT_TRUE(log->close());
  }
  auto log = open_follower_log(posix_env(), dir.sub("t-0"));
  EXPECT_EQ(all_bytes(*log), data);
  EXPECT_EQ(log->leader_epoch_cache().entries(), entries({{1, 0}, {2, 6}, {4, 12}}));
  ASSERT_NE(log->producer_state().find(7), nullptr);
  EXPECT_EQ(log->producer_state().find(7)->batches.back().last_seq, 19);
}

TEST(StorageFollower, RejectsOverlapCorruptionAndDisorderWithoutWriting) {
  TempDir dir;
  auto log = open_follower_log(posix_env(), dir.sub("t-0"));
  ASSERT_EQ(log->append_as_follower(leader_batch({0, 5, 1}), kFollowerNow).error, ErrorCode::NONE);
  const auto before = all_bytes(*log);

  auto overlap = log->append_as_follower(leader_batch({3, 5, 1}), kFollowerNow);
  EXPECT_EQ(overlap.error, ErrorCode::OFFSET_OUT_OF_RANGE);
  EXPECT_EQ(overlap.first_offset, -1);

  auto bad_crc = leader_batch({5, 2, 1});
  bad_crc.back() ^= 0x01;
  EXPECT_EQ(log->append_as_follower(bad_crc, kFollowerNow).error, ErrorCode::CORRUPT_MESSAGE);

  // Good first batch, second going backwards: nothing of the input is written.
  auto disorder = testing::concat({leader_batch({5, 2, 1}), leader_batch({6, 2, 1})});
  EXPECT_EQ(log->append_as_follower(disorder, kFollowerNow).error, ErrorCode::CORRUPT_MESSAGE);

  auto torn = leader_batch({5, 2, 1});
  torn.resize(torn.size() - 3);
  EXPECT_EQ(log->append_as_follower(torn, kFollowerNow).error, ErrorCode::CORRUPT_MESSAGE);

  EXPECT_EQ(log->log_end_offset(), 5);
  EXPECT_EQ(all_bytes(*log), before);
  EXPECT_FALSE(log->failed());
  EXPECT_EQ(log->append_as_follower(leader_batch({5, 2, 1}), kFollowerNow).error, ErrorCode::NONE);
}

TEST(StorageFollower, AcceptsTheGapsOfACompactedLeader) {
  TempDir dir;
  auto log = open_follower_log(posix_env(), dir.sub("t-0"));
  auto data = testing::concat({leader_batch({0, 2, 1}), leader_batch({10, 1, 1}), leader_batch({40, 3, 2})});
  ASSERT_EQ(log->append_as_follower(data, kFollowerNow).error, ErrorCode::NONE);
  EXPECT_EQ(log->log_end_offset(), 43);
  EXPECT_EQ(all_bytes(*log), data);
  // A read from a removed offset starts at the next batch, as on the leader.
  auto r = log->read(5, 1 << 20, INT64_MAX, true);
  ASSERT_EQ(r.error, ErrorCode::NONE);
  EXPECT_EQ(r.first_offset, 10);
  // Too far for one segment's relative offsets: refused, nothing written.
  auto far = log->append_as_follower(leader_batch({int64_t{1} << 40, 1, 2}), kFollowerNow);
  EXPECT_NE(far.error, ErrorCode::NONE);
  EXPECT_EQ(log->log_end_offset(), 43);
  EXPECT_FALSE(log->failed());
}

TEST(StorageFollower, DeduplicationSurvivesFailover) {
  TempDir dir;
  auto log = open_follower_log(posix_env(), dir.sub("t-0"));
  ASSERT_EQ(log->append_as_follower(history(), kFollowerNow).error, ErrorCode::NONE);
  // Promoted: the producer retries its last batch (sequences 18-19) and is
  // answered with the original offsets; a gap in sequences is refused.
  auto retry = leader_batch({0, 2, 0, 7, 0, 18});
  auto r = log->append(retry, 5, kFollowerNow, false);
  EXPECT_EQ(r.error, ErrorCode::NONE);
  EXPECT_TRUE(r.duplicate);
  EXPECT_EQ(r.first_offset, 18);
  EXPECT_EQ(r.last_offset, 19);
  auto skip = leader_batch({0, 1, 0, 7, 0, 25});
  EXPECT_EQ(log->append(skip, 5, kFollowerNow, false).error, ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER);
  auto next = leader_batch({0, 1, 0, 7, 0, 20});
  auto n = log->append(next, 5, kFollowerNow, false);
  EXPECT_EQ(n.error, ErrorCode::NONE);
  EXPECT_EQ(n.first_offset, 20);
  EXPECT_EQ(log->leader_epoch_cache().latest_epoch(), 5);
}

TEST(StorageFollower, TransactionsAreTrackedFromReplicatedMarkers) {
  TempDir dir;
  auto log = open_follower_log(posix_env(), dir.sub("t-0"));
  auto data = testing::concat({leader_batch({0, 2, 1, 9, 0, 0, true}),
                               leader_batch({2, 1, 1}),
                               marker_batch(3, 1, 9, protocol::ControlType::abort),
                               leader_batch({4, 2, 1, 11, 0, 0, true})});
  ASSERT_EQ(log->append_as_follower(data, kFollowerNow).error, ErrorCode::NONE);
  EXPECT_EQ(log->log_end_offset(), 6);
  ASSERT_EQ(log->producer_state().aborted().size(), 1u);
  EXPECT_EQ(log->producer_state().aborted()[0], (AbortedTxn{9, 0, 3, 4}));
  EXPECT_EQ(log->last_stable_offset(6), 4);  // producer 11's transaction is open
  // Truncating the open transaction's batch closes it; the abort stays.
  ASSERT_TRUE(log->truncate_to(4));
  EXPECT_EQ(log->last_stable_offset(4), 4);
  EXPECT_EQ(log->producer_state().aborted().size(), 1u);
  // Truncating the abort marker reopens producer 9's transaction.
  ASSERT_TRUE(log->truncate_to(3));
  EXPECT_TRUE(log->producer_state().aborted().empty());
  EXPECT_EQ(log->last_stable_offset(3), 0);
}

TEST(StorageFollower, TruncateCutsEpochsAndProducerStateAndSurvivesReopen) {
  TempDir dir;
  {
    auto log = open_follower_log(posix_env(), dir.sub("t-0"));
    append_each(*log, history());
    ASSERT_GT(log->segment_count(), 2u);
    ASSERT_TRUE(log->flush());
    // The leader says epoch 2 ended at 9: offset 9 sits in batch 8-9, which goes whole.
    ASSERT_TRUE(log->truncate_to(9));
    EXPECT_EQ(log->log_end_offset(), 8);
    EXPECT_LE(log->recovery_point(), 8);
    EXPECT_EQ(log->leader_epoch_cache().entries(), entries({{1, 0}, {2, 6}}));
    ASSERT_NE(log->producer_state().find(7), nullptr);
    EXPECT_EQ(log->producer_state().find(7)->batches.back().last_seq, 7);
    // The new leader's history from there on (epoch 3).
    auto fresh = testing::concat({leader_batch({8, 3, 3, 7, 0, 8}), leader_batch({11, 1, 3})});
    ASSERT_EQ(log->append_as_follower(fresh, kFollowerNow).error, ErrorCode::NONE);
    EXPECT_EQ(log->leader_epoch_cache().entries(), entries({{1, 0}, {2, 6}, {3, 8}}));
  }  // no close: reopened as after a crash
  auto log = open_follower_log(posix_env(), dir.sub("t-0"), /*clean=*/false, /*recovery_point=*/0);
  EXPECT_EQ(log->log_end_offset(), 12);
  std::vector<BatchHeader> hs;
  ASSERT_TRUE(all_batches_valid(all_bytes(*log), &hs));
  ASSERT_EQ(hs.size(), 6u);
  EXPECT_EQ(hs[4].base_offset, 8);
  EXPECT_EQ(hs[4].leader_epoch, 3);
  EXPECT_EQ(log->leader_epoch_cache().entries(), entries({{1, 0}, {2, 6}, {3, 8}}));
  ASSERT_NE(log->producer_state().find(7), nullptr);
  EXPECT_EQ(log->producer_state().find(7)->batches.back().last_seq, 10);
}

TEST(StorageFollower, TruncationIsDurableAcrossAPowerCut) {
  TempDir dir;
  FaultInjectionEnv env(posix_env());
  env.set_skip_real_sync(true);
  {
    auto log = open_follower_log(&env, dir.sub("t-0"));
    append_each(*log, history());
    ASSERT_TRUE(log->flush());
    ASSERT_TRUE(log->truncate_to(10));
  }
  ASSERT_TRUE(env.power_cut());
  // The recovery-point checkpoint on disk may still say 20 (written before).
  auto log = open_follower_log(&env, dir.sub("t-0"), /*clean=*/false, /*recovery_point=*/20);
  EXPECT_EQ(log->log_end_offset(), 10);
  EXPECT_EQ(log->leader_epoch_cache().entries(), entries({{1, 0}, {2, 6}}));
  EXPECT_EQ(log->producer_state().find(7)->batches.back().last_seq, 9);
}

// A kill -9 at every step of a truncation: the log opens, holds the old log or
// the truncated one (every batch valid, offsets from 0), and its epoch cache
// and producer state describe what it holds.
TEST(StorageFollower, CrashAtEveryStepOfATruncationLeavesALogThatOpens) {
  const auto data = history();
  int outcomes_old = 0, outcomes_new = 0;
  for (int step = 0; step < 60; ++step) {
    TempDir dir;
    FaultInjectionEnv env(posix_env());
    env.set_skip_real_sync(true);
    bool finished = false;
    {
      auto log = open_follower_log(&env, dir.sub("t-0"));
      append_each(*log, data);
      ASSERT_GT(log->segment_count(), 2u);  // the truncation deletes segments, then cuts one
      ASSERT_TRUE(log->flush());
      env.crash_after(step);
      finished = log->truncate_to(5).is_ok();
    }
    env.restart();
    auto log = open_follower_log(&env, dir.sub("t-0"), /*clean=*/false, /*recovery_point=*/20);
    ASSERT_NE(log, nullptr) << "step " << step;
    std::vector<BatchHeader> hs;
    ASSERT_TRUE(all_batches_valid(all_bytes(*log), &hs)) << "step " << step;
    const int64_t leo = log->log_end_offset();
    ASSERT_TRUE(leo == 4 || leo == 20 || (!finished && leo % 2 == 0 && leo > 4)) << "step " << step << " leo " << leo;
    int64_t expect = 0;
    for (const auto& h : hs) {
      EXPECT_EQ(h.base_offset, expect) << "step " << step;
      expect = h.last_offset() + 1;
    }
    EXPECT_EQ(expect, leo);
    for (const auto& e : log->leader_epoch_cache().entries()) EXPECT_LT(e.start_offset, leo) << "step " << step;
    const ProducerEntry* p = log->producer_state().find(7);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->batches.back().last_offset, leo - 1) << "step " << step;
    // Appending the leader's data from there on works.
    auto rest = std::span<const uint8_t>(data);
    size_t pos = 0;
    while (pos < rest.size() && BatchHeader::parse(rest.data() + pos).base_offset < leo)
      pos += BatchHeader::parse(rest.data() + pos).total_size();
    ASSERT_EQ(log->append_as_follower(rest.subspan(pos), kFollowerNow).error, ErrorCode::NONE) << "step " << step;
    EXPECT_EQ(all_bytes(*log), data);
    (leo == 20 ? outcomes_old : outcomes_new) += 1;
    if (finished) break;
  }
  EXPECT_GT(outcomes_old, 0);
  EXPECT_GT(outcomes_new, 0);
}

TEST(StorageFollower, TruncateFullyForgetsEverythingAndSurvivesReopen) {
  TempDir dir;
  {
    auto log = open_follower_log(posix_env(), dir.sub("t-0"));
    append_each(*log, history());
    ASSERT_GT(log->segment_count(), 1u);  // rolls wrote producer snapshots
    ASSERT_TRUE(log->truncate_fully_and_start_at(100));
    EXPECT_EQ(log->log_start_offset(), 100);
    EXPECT_EQ(log->log_end_offset(), 100);
    EXPECT_TRUE(log->leader_epoch_cache().entries().empty());
    EXPECT_TRUE(log->producer_state().producers().empty());
    ASSERT_EQ(log->append_as_follower(leader_batch({100, 2, 6}), kFollowerNow).error, ErrorCode::NONE);
  }
  auto log = open_follower_log(posix_env(), dir.sub("t-0"), /*clean=*/false, /*recovery_point=*/0);
  EXPECT_EQ(log->log_start_offset(), 100);
  EXPECT_EQ(log->log_end_offset(), 102);
  EXPECT_EQ(log->leader_epoch_cache().entries(), entries({{6, 100}}));
  EXPECT_TRUE(log->producer_state().producers().empty());  // no stale snapshot of the old data
  EXPECT_EQ(log->read(0, 1024, INT64_MAX, true).error, ErrorCode::OFFSET_OUT_OF_RANGE);
}

}  // namespace
}  // namespace samsa::storage
