// DiskRaftLog: the Raft log over storage::Log in __cluster_metadata-0, on real
// files through FaultInjectionEnv — append / read / truncate / epochs, syncs
// split for the flush thread, snapshots dropping the prefix or replacing the
// log, and recovery after a crash keeping exactly the synced batches (or a
// valid prefix of a torn write), all counted flushed.
#include <gtest/gtest.h>

#include "base/clock.h"
#include "protocol/record_batch.h"
#include "raft/disk_raft_log.h"
#include "raft/metadata_batches.h"
#include "raft/raft_core.h"
#include "storage/log.h"
#include "storage/fault_injection_env.h"
#include "storage_test_util.h"

namespace samsa::raft {
namespace {

protocol::Bytes value(const std::string& s) { return protocol::Bytes(s.begin(), s.end()); }

// A data batch of `n` values as a proposer builds it (offset/epoch unset).
LogEntry data_entry(int64_t offset, int32_t epoch, int n = 1, const std::string& tag = "v") {
  std::vector<protocol::Bytes> values;
  for (int i = 0; i < n; ++i) values.push_back(value(tag + std::to_string(offset + i)));
  return LogEntry{Offset(offset), Epoch(epoch), n, false, build_data_batch(values, BatchPlacement{Offset(0), Epoch(-1), 1000})};
}

LogEntry leader_change(int64_t offset, int32_t epoch) {
  return LogEntry{Offset(offset), Epoch(epoch), 1, true,
                  build_leader_change_batch(LeaderChange{NodeId(1), {NodeId(1)}, {NodeId(1)}},
                                            BatchPlacement{Offset(offset), Epoch(epoch), 1000})};
}

struct RaftDiskLog : ::testing::Test {
  RaftDiskLog() : env(storage::posix_env()) { env.set_skip_real_sync(true); }

  std::unique_ptr<DiskRaftLog> open(DiskRaftLogOptions o = {}) {
    if (small_segments) o.segment_bytes = 400;
    auto opened = DiskRaftLog::open(&env, dir.path(), clock, o);
    EXPECT_EQ(opened.error, "");
    return std::move(opened.log);
  }
  static void sync(DiskRaftLog& log) {
    auto job = log.prepare_sync();
    log.complete_sync(job, job.run());
  }
  // Appends epoch 1: LeaderChange at 0, then data batches of 2 records.
  static void fill(DiskRaftLog& log, int batches, int32_t epoch = 1) {
    ASSERT_TRUE(log.append(leader_change(log.end_offset().value, epoch)));
    for (int i = 0; i < batches; ++i) ASSERT_TRUE(log.append(data_entry(log.end_offset().value, epoch, 2)));
  }

  size_t count_segments() {
    auto names = env.list_dir(metadata_partition_dir(dir.path()));
    size_t n = 0;
    for (auto& name : *names) n += name.size() > 4 && name.substr(name.size() - 4) == ".log";
    return n;
  }

  storage::testing::TempDir dir;
  storage::FaultInjectionEnv env;
  ManualClock clock{1'700'000'000'000};
  bool small_segments = false;
};

TEST_F(RaftDiskLog, AppendReadPatchesOffsetsAndEpochs) {
  auto log = open();
  EXPECT_EQ(log->end_offset(), Offset(0));
  EXPECT_EQ(log->last_epoch(), Epoch(0));
  EXPECT_EQ(log->dir(), metadata_partition_dir(dir.path()));
  ASSERT_TRUE(log->append(leader_change(0, 1)));
  ASSERT_TRUE(log->append(data_entry(1, 1, 3)));
  ASSERT_TRUE(log->append(data_entry(4, 2, 1)));
  EXPECT_EQ(log->end_offset(), Offset(5));
  EXPECT_EQ(log->last_epoch(), Epoch(2));
  EXPECT_EQ(log->flushed_end_offset(), Offset(0));  // nothing synced yet

  auto all = log->read(Offset(0), 10, 1 << 20);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_TRUE(all[0].control);
  EXPECT_TRUE(parse_leader_change(all[0].data));
  EXPECT_EQ(all[1].offset, Offset(1));
  EXPECT_EQ(all[1].records, 3);
  EXPECT_FALSE(all[1].control);
  EXPECT_EQ(all[2].epoch, Epoch(2));
  for (auto& e : all) {
    // The stored batch carries its offset and epoch, and is a valid Kafka batch.
    EXPECT_EQ(protocol::validate_batch(e.data, protocol::BatchOrigin::log), ErrorCode::NONE);
    auto h = protocol::BatchHeader::parse(e.data.data());
    EXPECT_EQ(h.base_offset, e.offset.value);
    EXPECT_EQ(h.leader_epoch, e.epoch.value);
  }
  EXPECT_EQ(*batch_values(all[1].data), (std::vector<protocol::Bytes>{value("v1"), value("v2"), value("v3")}));

  // From the middle of a batch: that batch whole. Bounded by entries and bytes.
  auto mid = log->read(Offset(2), 10, 1 << 20);
  ASSERT_EQ(mid.size(), 2u);
  EXPECT_EQ(mid[0].offset, Offset(1));
  EXPECT_EQ(log->read(Offset(0), 2, 1 << 20).size(), 2u);
  EXPECT_EQ(log->read(Offset(0), 10, 1).size(), 1u);  // the first whole, then the byte bound
  EXPECT_TRUE(log->read(Offset(5), 10, 1 << 20).empty());

  EXPECT_EQ(log->end_offset_for_epoch(Epoch(1)), (EpochEndOffset{Epoch(1), Offset(4)}));
  EXPECT_EQ(log->end_offset_for_epoch(Epoch(2)), (EpochEndOffset{Epoch(2), Offset(5)}));
  EXPECT_EQ(log->end_offset_for_epoch(Epoch(7)), (EpochEndOffset{Epoch(2), Offset(5)}));
  EXPECT_EQ(log->end_offset_for_epoch(Epoch(0)), EpochEndOffset{});
}

TEST_F(RaftDiskLog, RefusesMisplacedOrMalformedAppends) {
  auto log = open();
  fill(*log, 1, 3);
  EXPECT_FALSE(log->append(data_entry(7, 3)));  // not at the end
  EXPECT_FALSE(log->append(data_entry(3, 2)));  // a lower epoch
  LogEntry wrong_count = data_entry(3, 3, 2);
  wrong_count.records = 5;
  EXPECT_FALSE(log->append(wrong_count));
  LogEntry garbage{Offset(3), Epoch(3), 1, false, value("not a batch")};
  EXPECT_FALSE(log->append(garbage));
  LogEntry torn = data_entry(3, 3);
  torn.data.back() ^= 1;  // CRC no longer matches
  EXPECT_FALSE(log->append(torn));
  EXPECT_EQ(log->end_offset(), Offset(3));
  EXPECT_TRUE(log->append(data_entry(3, 3)));
}

TEST_F(RaftDiskLog, SyncMovesTheFlushedOffsetAndAFailedSyncStopsTheLog) {
  auto log = open();
  fill(*log, 2);
  auto job = log->prepare_sync();
  EXPECT_EQ(job.end, Offset(5));
  ASSERT_TRUE(log->append(data_entry(5, 1)));  // after the job was prepared
  int syncs = env.sync_count();
  log->complete_sync(job, job.run());
  EXPECT_GT(env.sync_count(), syncs);
  EXPECT_EQ(log->flushed_end_offset(), Offset(5));

  env.fail_next(storage::FaultInjectionEnv::kOpSync, EIO);
  auto failing = log->prepare_sync();
  auto st = failing.run();
  EXPECT_FALSE(st);
  log->complete_sync(failing, st);
  EXPECT_TRUE(log->failed());
  EXPECT_EQ(log->flushed_end_offset(), Offset(5));
  EXPECT_FALSE(log->append(data_entry(6, 1)));  // the core then stops
}

TEST_F(RaftDiskLog, TruncateDropsWholeBatchesAndTheirEpochs) {
  auto log = open();
  fill(*log, 2, 1);           // [0] LC, [1,2], [3,4]
  fill(*log, 1, 2);           // [5] LC, [6,7]
  sync(*log);
  ASSERT_TRUE(log->truncate_to(Offset(4)));  // inside [3,4]: that batch goes
  EXPECT_EQ(log->end_offset(), Offset(3));
  EXPECT_EQ(log->flushed_end_offset(), Offset(3));
  EXPECT_EQ(log->last_epoch(), Epoch(1));
  EXPECT_EQ(log->end_offset_for_epoch(Epoch(2)), (EpochEndOffset{Epoch(1), Offset(3)}));
  ASSERT_TRUE(log->truncate_to(Offset(10)));  // beyond the end: nothing
  EXPECT_EQ(log->end_offset(), Offset(3));
  ASSERT_TRUE(log->append(leader_change(3, 4)));
  EXPECT_EQ(log->end_offset_for_epoch(Epoch(3)), (EpochEndOffset{Epoch(1), Offset(3)}));
  ASSERT_TRUE(log->truncate_to(Offset(0)));
  EXPECT_EQ(log->end_offset(), Offset(0));
  EXPECT_EQ(log->last_epoch(), Epoch(0));
  EXPECT_EQ(log->end_offset_for_epoch(Epoch(4)), EpochEndOffset{});
}

TEST_F(RaftDiskLog, ReopenKeepsEverythingAsFlushed) {
  {
    auto log = open();
    fill(*log, 3);
    ASSERT_TRUE(log->close());
  }
  auto log = open();
  EXPECT_EQ(log->end_offset(), Offset(7));
  EXPECT_EQ(log->flushed_end_offset(), Offset(7));
  EXPECT_EQ(log->last_epoch(), Epoch(1));
  EXPECT_EQ(log->read(Offset(0), 100, 1 << 20).size(), 4u);
  EXPECT_TRUE(log->append(data_entry(7, 1)));
}

TEST_F(RaftDiskLog, PowerCutLosesOnlyUnsyncedBatches) {
  small_segments = true;  // the unsynced part spans new segments too
  std::vector<LogEntry> synced;
  {
    auto log = open();
    fill(*log, 6, 1);
    sync(*log);
    synced = log->read(Offset(0), 100, 1 << 20);
    fill(*log, 6, 2);  // never synced
    ASSERT_GT(log->end_offset(), log->flushed_end_offset());
  }  // destroyed without close: a crash
  ASSERT_TRUE(env.power_cut());
  auto log = open();
  EXPECT_EQ(log->end_offset(), Offset(13));
  EXPECT_EQ(log->flushed_end_offset(), Offset(13));
  EXPECT_EQ(log->last_epoch(), Epoch(1));
  EXPECT_EQ(log->read(Offset(0), 100, 1 << 20), synced);
  EXPECT_TRUE(log->append(leader_change(13, 3)));  // a new epoch continues
}

TEST_F(RaftDiskLog, TornWriteKeepsTheValidPrefix) {
  {
    auto log = open();
    fill(*log, 2);
    sync(*log);
    env.tear_next_write(20, ".log");  // the next batch reaches the file only in part
    EXPECT_FALSE(log->append(data_entry(5, 1, 4)));
  }
  env.restart();  // the process died; the page cache (the torn bytes) survives
  auto log = open();
  EXPECT_EQ(log->end_offset(), Offset(5));
  EXPECT_EQ(log->flushed_end_offset(), Offset(5));
  EXPECT_EQ(log->read(Offset(0), 100, 1 << 20).size(), 3u);
  EXPECT_TRUE(log->append(data_entry(5, 1)));
}

TEST_F(RaftDiskLog, DeleteBeforeASnapshotDropsThePrefix) {
  small_segments = true;
  SnapshotId snap;
  {
    auto log = open();
    fill(*log, 10, 1);  // LC at 0, then [1,2] ... [19,20]
    sync(*log);
    EXPECT_FALSE(log->delete_before(SnapshotId{Offset(4), Epoch(1)}));   // not a batch boundary
    EXPECT_FALSE(log->delete_before(SnapshotId{Offset(5), Epoch(7)}));   // wrong epoch
    ASSERT_TRUE(log->append(data_entry(21, 1)));
    EXPECT_FALSE(log->delete_before(SnapshotId{Offset(22), Epoch(1)}));  // beyond what is durable
    snap = SnapshotId{Offset(15), Epoch(1)};
    size_t segments = count_segments();
    ASSERT_TRUE(log->delete_before(snap));
    EXPECT_LT(count_segments(), segments);
    EXPECT_EQ(log->start_offset(), Offset(15));
    EXPECT_EQ(log->start_epoch(), Epoch(1));
    EXPECT_FALSE(log->delete_before(SnapshotId{Offset(15), Epoch(1)}));  // not past the start
    auto from_start = log->read(Offset(0), 100, 1 << 20);
    ASSERT_FALSE(from_start.empty());
    EXPECT_EQ(from_start.front().offset, Offset(15));
    EXPECT_EQ(log->end_offset_for_epoch(Epoch(0)), EpochEndOffset{});
    EXPECT_EQ(log->end_offset_for_epoch(Epoch(1)), (EpochEndOffset{Epoch(1), Offset(22)}));
    sync(*log);
  }
  // Fewer files than before (whole segments below the start went); the
  // snapshot is what the log continues after a restart.
  DiskRaftLogOptions o;
  o.snapshot = snap;
  auto log = open(o);
  EXPECT_EQ(log->start_offset(), Offset(15));
  EXPECT_EQ(log->end_offset(), Offset(22));
  EXPECT_EQ(log->read(Offset(0), 1, 1 << 20).front().offset, Offset(15));
}

TEST_F(RaftDiskLog, ResetToASnapshotEmptiesTheLog) {
  auto log = open();
  fill(*log, 3);
  sync(*log);
  SnapshotId id{Offset(100), Epoch(4)};
  ASSERT_TRUE(log->reset_to(id));
  EXPECT_EQ(log->start_offset(), Offset(100));
  EXPECT_EQ(log->end_offset(), Offset(100));
  EXPECT_EQ(log->flushed_end_offset(), Offset(100));
  EXPECT_EQ(log->last_epoch(), Epoch(4));
  EXPECT_EQ(log->end_offset_for_epoch(Epoch(4)), (EpochEndOffset{Epoch(4), Offset(100)}));
  EXPECT_EQ(log->end_offset_for_epoch(Epoch(3)), EpochEndOffset{});
  EXPECT_TRUE(log->read(Offset(0), 10, 1 << 20).empty());
  ASSERT_TRUE(log->append(leader_change(100, 5)));
  ASSERT_TRUE(log->append(data_entry(101, 5)));
  sync(*log);
  log.reset();

  DiskRaftLogOptions o;
  o.snapshot = id;
  log = open(o);
  EXPECT_EQ(log->start_offset(), Offset(100));
  EXPECT_EQ(log->end_offset(), Offset(102));
  EXPECT_EQ(log->last_epoch(), Epoch(5));
}

TEST_F(RaftDiskLog, OpenRestartsALogThatDoesNotContinueTheSnapshot) {
  {
    auto log = open();
    fill(*log, 2);  // ends at 5, epoch 1
    sync(*log);
  }
  // A follower installed snapshot 50-3 and crashed before resetting its log.
  DiskRaftLogOptions beyond;
  beyond.snapshot = SnapshotId{Offset(50), Epoch(3)};
  {
    auto log = open(beyond);
    EXPECT_EQ(log->start_offset(), Offset(50));
    EXPECT_EQ(log->end_offset(), Offset(50));
    EXPECT_EQ(log->last_epoch(), Epoch(3));
  }
  // Without a snapshot, a log that does not start at 0 cannot be trusted.
  auto opened = DiskRaftLog::open(&env, dir.path(), clock);
  EXPECT_FALSE(opened.log);
  EXPECT_NE(opened.error, "");
}

TEST_F(RaftDiskLog, OpenRestartsALogWhoseEpochDisagreesWithTheSnapshot) {
  {
    auto log = open();
    fill(*log, 2);  // epoch 1 up to 5
    sync(*log);
  }
  DiskRaftLogOptions o;
  o.snapshot = SnapshotId{Offset(3), Epoch(2)};  // committed elsewhere in epoch 2
  auto log = open(o);
  EXPECT_EQ(log->start_offset(), Offset(3));
  EXPECT_EQ(log->end_offset(), Offset(3));
  EXPECT_EQ(log->last_epoch(), Epoch(2));
}

// The core over the disk log: elected alone, its LeaderChange and a proposal
// commit once synced, and survive a restart.
TEST_F(RaftDiskLog, DrivesASingleVoterCore) {
  RaftConfig cfg;
  cfg.local_id = NodeId(1);
  cfg.voters = {NodeId(1)};
  Random rng(1);
  std::vector<LogEntry> committed;
  {
    auto log = open();
    RaftCore core(cfg, *log, rng, std::nullopt, 0);
    core.tick(5000);
    auto out = core.take_output();
    ASSERT_EQ(core.role(), Role::kLeader);
    ASSERT_TRUE(out.sync_log);
    sync(*log);
    core.on_log_synced(5001);
    auto vals = std::vector<protocol::Bytes>{value("rec1"), value("rec2")};
    auto r = core.propose(build_data_batch(vals, BatchPlacement{Offset(0), Epoch(-1), clock.now_ms()}), 2, 5002);
    ASSERT_EQ(r.error, ErrorCode::NONE);
    EXPECT_EQ(r.base_offset, Offset(1));
    sync(*log);
    core.on_log_synced(5003);
    EXPECT_EQ(core.high_watermark(), Offset(3));
    committed = core.read_committed(Offset(0), 10);
    ASSERT_EQ(committed.size(), 2u);
    EXPECT_TRUE(committed[0].control);
    EXPECT_EQ(*batch_values(committed[1].data), vals);
  }
  auto log = open();
  EXPECT_EQ(log->read(Offset(0), 10, 1 << 20), committed);
}

// A data dir of the single-node metadata log (before the quorum) opens as a
// DiskRaftLog: its batches (epoch 0, no LeaderChange) read back as entries with
// their values, and a new epoch continues after them.
TEST_F(RaftDiskLog, OpensTheSingleNodeMetadataLog) {
  {
    // As raft/metadata_log.cc writes it: one batch per change, leader epoch 0.
    // (metadata_log.h cannot be included beside raft_log.h: both define LeaderAndEpoch.)
    storage::LogOpenOptions o;
    o.config.segment_bytes = 100 * 1024 * 1024;
    auto old = storage::Log::open(&env, metadata_partition_dir(dir.path()), storage::TopicPartition{"__cluster_metadata", 0}, o);
    ASSERT_TRUE(old.is_ok());
    for (auto values : {std::vector<protocol::Bytes>{value("a"), value("b")}, std::vector<protocol::Bytes>{value("c")}}) {
      auto b = build_data_batch(values, BatchPlacement{Offset(0), Epoch(-1), clock.now_ms()});
      ASSERT_EQ((*old)->append(b, 0, clock.now_ms(), false).error, ErrorCode::NONE);
    }
    ASSERT_TRUE((*old)->close());
  }
  auto log = open();
  EXPECT_EQ(log->end_offset(), Offset(3));
  EXPECT_EQ(log->last_epoch(), Epoch(0));
  auto entries = log->read(Offset(0), 10, 1 << 20);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].records, 2);
  EXPECT_FALSE(entries[0].control);
  EXPECT_EQ(*batch_values(entries[1].data), std::vector<protocol::Bytes>{value("c")});
  EXPECT_TRUE(log->append(leader_change(3, 1)));
}

}  // namespace
}  // namespace samsa::raft
