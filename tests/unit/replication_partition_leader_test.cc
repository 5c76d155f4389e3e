// The leader side of replication::Partition (partition_leader.cc) on a real log
// in a temp dir, with a manual clock: the registration, the high watermark
// over the ISR (followers' fetches move it, consumers read below it), acks=all
// waiters, min.insync.replicas, ISR proposals on the timer and their answers,
// and the high watermark kept for replication-offset-checkpoint.
#include <gtest/gtest.h>

#include "base/clock.h"
#include "replication/open_partition.h"
#include "replication/partition.h"
#include "storage/log_manager.h"
#include "replication_test_util.h"
#include "storage_test_util.h"

namespace samsa::replication {
namespace {

using storage::testing::make_batch;
using storage::testing::TempDir;

const NodeId kLeader(1), kF2(2), kF3(3);

class PartitionLeader : public ::testing::Test {
 protected:
  void SetUp() override {
    manager_ = testing::open_log_manager(dir_);
    ASSERT_TRUE(manager_);
    part_ = open();
    ASSERT_TRUE(part_);
  }
  void TearDown() override {
    if (part_) close();
  }

  std::unique_ptr<Partition> open() {
    std::string error;
    auto p = open_partition(*manager_, clock_, {"t", 0}, protocol::Uuid{}, storage::LogConfig{}, &error);
    EXPECT_TRUE(p) << error;
    if (p) p->set_replication(&clock_, [this](Partition&, const IsrProposal& prop) { proposals_.push_back(prop); });
    return p;
  }
  void close() {
    part_->close();
    part_.reset();
    manager_->release({"t", 0});
  }

  // Leader 1 at `epoch`, replicas 1-3, the given ISR.
  bool lead(std::vector<NodeId> isr, int32_t min_isr = 1, Epoch epoch = Epoch(5), int32_t partition_epoch = 1) {
    LeaderAndIsr r;
    r.leader = kLeader;
    r.leader_epoch = epoch;
    r.partition_epoch = PartitionEpoch(partition_epoch);
    r.replicas = {kLeader, kF2, kF3};
    r.isr = std::move(isr);
    ReplicaConfig cfg;
    cfg.replica_lag_time_max_ms = 1000;
    cfg.min_insync_replicas = min_isr;
    return part_->apply_registration(r, cfg, kLeader, 10);
  }
  void append(int records) {
    auto b = make_batch(records);
    ASSERT_EQ(part_->append(b, clock_.now_ms()).error, ErrorCode::NONE);
  }
  void fetch(NodeId follower, int64_t offset) {
    part_->on_follower_fetch(FollowerFetch{follower, Offset(offset), Offset(0), part_->log_end_offset(), -1,
                                           clock_.now_ms()});
  }

  TempDir dir_;
  ManualClock clock_{1'700'000'000'000, 1'000'000};
  std::unique_ptr<storage::LogManager> manager_;
  std::unique_ptr<Partition> part_;
  std::vector<IsrProposal> proposals_;
};

TEST_F(PartitionLeader, TheHighWatermarkWaitsForTheWholeIsrAndBoundsConsumers) {
  ASSERT_TRUE(lead({kLeader, kF2, kF3}));
  EXPECT_EQ(part_->role(), Role::kLeader);
  EXPECT_EQ(part_->leader_epoch(), Epoch(5));
  EXPECT_EQ(part_->latest_log_epoch(), Epoch(5)) << "the new epoch starts at the log end in the epoch cache";
  append(3);
  EXPECT_EQ(part_->log_end_offset(), Offset(3));
  EXPECT_EQ(part_->high_watermark(), Offset(0));
  EXPECT_EQ(part_->read(0, 1 << 20, true).bytes, 0u) << "a consumer reads nothing above the HW";
  EXPECT_GT(part_->read_for_follower(0, 1 << 20).bytes, 0u) << "a follower reads to the log end";

  fetch(kF2, 3);
  EXPECT_EQ(part_->high_watermark(), Offset(0)) << "follower 3 has not fetched";
  fetch(kF3, 2);
  EXPECT_EQ(part_->high_watermark(), Offset(2));
  fetch(kF3, 3);
  EXPECT_EQ(part_->high_watermark(), Offset(3));
  EXPECT_GT(part_->read(0, 1 << 20, true).bytes, 0u);
  EXPECT_EQ(part_->log().high_watermark_snapshot(), 3) << "what replication-offset-checkpoint records";
}

TEST_F(PartitionLeader, AnIsrOfOneCommitsEachAppend) {
  ASSERT_TRUE(lead({kLeader}));
  append(4);
  EXPECT_EQ(part_->high_watermark(), Offset(4));
  EXPECT_EQ(part_->check_append(-1), ErrorCode::NONE);
}

TEST_F(PartitionLeader, MinInsyncReplicasRefusesAcksAllOnly) {
  ASSERT_TRUE(lead({kLeader}, 2));
  EXPECT_EQ(part_->check_append(-1), ErrorCode::NOT_ENOUGH_REPLICAS);
  EXPECT_EQ(part_->check_append(1), ErrorCode::NONE);
  EXPECT_EQ(part_->check_append(0), ErrorCode::NONE);
}

TEST_F(PartitionLeader, AcksAllResumesWhenTheFollowersHaveTheBatch) {
  ASSERT_TRUE(lead({kLeader, kF2, kF3}, 2));
  append(2);
  asio::io_context io;
  std::optional<ErrorCode> result;
  asio::co_spawn(io, part_->wait_for_isr(Offset(2), 30000),
                 [&](std::exception_ptr e, ErrorCode ec) {
                   ASSERT_FALSE(e);
                   result = ec;
                 });
  io.poll();
  EXPECT_FALSE(result) << "waits for the followers";
  fetch(kF2, 2);
  io.poll();
  EXPECT_FALSE(result);
  fetch(kF3, 2);
  io.poll();
  ASSERT_TRUE(result);
  EXPECT_EQ(*result, ErrorCode::NONE);
}

TEST_F(PartitionLeader, AcksAllTimesOutAndFailsWhenLeadershipGoes) {
  ASSERT_TRUE(lead({kLeader, kF2, kF3}));
  append(1);
  asio::io_context io;
  std::optional<ErrorCode> timed_out, moved;
  asio::co_spawn(io, part_->wait_for_isr(Offset(1), 1), [&](std::exception_ptr, ErrorCode ec) { timed_out = ec; });
  clock_.advance(5);
  for (int i = 0; i < 200 && !timed_out; ++i) io.run_for(std::chrono::milliseconds(5));
  ASSERT_TRUE(timed_out);
  EXPECT_EQ(*timed_out, ErrorCode::REQUEST_TIMED_OUT);

  io.restart();  // it ran out of work
  asio::co_spawn(io, part_->wait_for_isr(Offset(1), 30000), [&](std::exception_ptr, ErrorCode ec) { moved = ec; });
  io.poll();
  EXPECT_FALSE(moved);
  LeaderAndIsr r;  // follower 2 leads now
  r.leader = kF2;
  r.leader_epoch = Epoch(6);
  r.partition_epoch = PartitionEpoch(2);
  r.replicas = {kLeader, kF2, kF3};
  r.isr = {kF2, kF3};
  ASSERT_TRUE(part_->apply_registration(r, ReplicaConfig{}, kLeader, 10));
  EXPECT_EQ(part_->role(), Role::kFollower);
  io.poll();
  ASSERT_TRUE(moved);
  EXPECT_EQ(*moved, ErrorCode::NOT_LEADER_OR_FOLLOWER);
}

TEST_F(PartitionLeader, LaggingFollowersLeaveTheIsrOnTheTimerAndTheAnswerCommitsIt) {
  ASSERT_TRUE(lead({kLeader, kF2, kF3}));
  append(3);
  fetch(kF2, 3);
  fetch(kF3, 3);
  append(2);  // follower 3 stops fetching; follower 2 keeps up
  clock_.advance(600);
  fetch(kF2, 5);
  part_->tick();
  EXPECT_TRUE(proposals_.empty()) << "within replica.lag.time.max.ms";
  clock_.advance(600);
  fetch(kF2, 5);
  part_->tick();
  ASSERT_EQ(proposals_.size(), 1u);
  const IsrProposal& p = proposals_[0];
  EXPECT_FALSE(p.expand);
  ASSERT_EQ(p.new_isr.size(), 2u);
  EXPECT_EQ(p.new_isr[0].id, kLeader);
  EXPECT_EQ(p.new_isr[0].broker_epoch, 10) << "the leader names its own broker epoch";
  EXPECT_EQ(p.new_isr[1].id, kF2);
  EXPECT_EQ(p.leader_epoch, Epoch(5));

  part_->on_isr_answer(IsrAnswer{p.id, ErrorCode::NONE, Epoch(5), PartitionEpoch(2), {kLeader, kF2}});
  ASSERT_TRUE(part_->replica_state());
  EXPECT_EQ(part_->replica_state()->isr(), (std::vector<NodeId>{kLeader, kF2}));
  EXPECT_EQ(part_->high_watermark(), Offset(5)) << "the HW no longer waits for follower 3";

  // Follower 3 catches up: an expansion is proposed at once.
  fetch(kF3, 5);
  ASSERT_EQ(proposals_.size(), 2u);
  EXPECT_TRUE(proposals_[1].expand);
  EXPECT_EQ(proposals_[1].new_isr.size(), 3u);
}

TEST_F(PartitionLeader, ALostAnswerIsSentAgainByTheTimer) {
  ASSERT_TRUE(lead({kLeader, kF2, kF3}));
  clock_.advance(1500);
  part_->tick();
  ASSERT_EQ(proposals_.size(), 1u);
  part_->tick();
  EXPECT_EQ(proposals_.size(), 1u) << "not again at once";
  clock_.advance(1000);
  part_->tick();
  ASSERT_EQ(proposals_.size(), 2u);
  EXPECT_EQ(proposals_[1].id, proposals_[0].id) << "the same proposal";
}

TEST_F(PartitionLeader, TheCheckpointedHighWatermarkIsWhereAReopenedReplicaStarts) {
  ASSERT_TRUE(lead({kLeader, kF2, kF3}));
  append(4);
  fetch(kF2, 2);
  fetch(kF3, 2);
  EXPECT_EQ(part_->high_watermark(), Offset(2));
  close();
  ASSERT_TRUE(manager_->write_checkpoints());
  part_ = open();
  ASSERT_TRUE(part_);
  EXPECT_EQ(part_->log().recovered_high_watermark(), 2);
  // As a follower of 2 it shows only what it knew committed, not its log end.
  LeaderAndIsr r;
  r.leader = kF2;
  r.leader_epoch = Epoch(6);
  r.partition_epoch = PartitionEpoch(2);
  r.replicas = {kLeader, kF2, kF3};
  r.isr = {kLeader, kF2, kF3};
  ASSERT_TRUE(part_->apply_registration(r, ReplicaConfig{}, kLeader, 11));
  EXPECT_EQ(part_->log_end_offset(), Offset(4));
  EXPECT_EQ(part_->high_watermark(), Offset(2));
}

TEST_F(PartitionLeader, AStaleRegistrationChangesNothing) {
  ASSERT_TRUE(lead({kLeader, kF2, kF3}, 1, Epoch(5), 3));
  EXPECT_FALSE(lead({kLeader}, 1, Epoch(4), 9));
  EXPECT_FALSE(lead({kLeader}, 1, Epoch(5), 3));
  EXPECT_EQ(part_->replica_state()->isr().size(), 3u);
  EXPECT_EQ(part_->leader_epoch(), Epoch(5));
}

// A replica reopened after a restart whose log already holds a later epoch
// than the registration (an image the node walks through while catching up)
// neither leads nor follows in it: leading would record the old epoch at the
// log end and mangle the epoch cache that divergence checks rely on.
TEST_F(PartitionLeader, ARegistrationOlderThanTheLogsEpochIsIgnoredAfterARestart) {
  ASSERT_TRUE(lead({kLeader, kF2, kF3}, 1, Epoch(5), 1));
  append(3);
  close();
  part_ = open();
  ASSERT_TRUE(part_);
  ASSERT_EQ(part_->latest_log_epoch(), Epoch(5));
  EXPECT_FALSE(lead({kLeader, kF2, kF3}, 1, Epoch(2), 1)) << "history: this node led epoch 2 long ago";
  EXPECT_NE(part_->role(), Role::kLeader);
  EXPECT_EQ(part_->latest_log_epoch(), Epoch(5));
  EXPECT_EQ(part_->log().leader_epoch_cache().entries().size(), 1u) << "no epoch 2 written at the log end";
  EXPECT_TRUE(lead({kLeader, kF2, kF3}, 1, Epoch(7), 4));
  EXPECT_EQ(part_->role(), Role::kLeader);
  EXPECT_EQ(part_->latest_log_epoch(), Epoch(7));
}


}  // namespace
}  // namespace samsa::replication
