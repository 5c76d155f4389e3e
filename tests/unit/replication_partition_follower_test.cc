// The follower side of replication::Partition (partition_follower.cc) on a
// temp dir: the leader's batches copied with append_as_follower, the high
// watermark taken from the leader (capped at the log end, never back), and
// the truncations (log, leader-epoch cache, HW, waiting fetches).
#include <gtest/gtest.h>

#include "base/clock.h"
#include "replication/open_partition.h"
#include "replication/partition.h"
#include "replication/replica_state_epochs.h"
#include "storage/log_manager.h"
#include "replication_test_util.h"
#include "storage_test_util.h"

namespace samsa::replication {
namespace {

using storage::testing::make_batch;
using storage::testing::TempDir;

class PartitionFollower : public ::testing::Test {
 protected:
  void SetUp() override {
    manager_ = testing::open_log_manager(dir_);
    ASSERT_TRUE(manager_);
  }
  void TearDown() override {
    for (auto* p : {&leader_, &follower_}) {
      if (!*p) continue;
      auto tp = (*p)->tp();
      (*p)->close();
      p->reset();
      manager_->release(tp);
    }
  }
  std::unique_ptr<Partition> open(const TopicPartition& tp) {
    std::string error;
    auto p = open_partition(*manager_, clock_, tp, protocol::Uuid{}, storage::LogConfig{}, &error);
    EXPECT_TRUE(p) << error;
    return p;
  }
  void leader_append(int records) {
    auto b = make_batch(records);
    ASSERT_EQ(leader_->append(b, clock_.now_ms()).error, ErrorCode::NONE);
  }
  // What a fetch from `offset` brings the follower: the leader's bytes.
  std::vector<uint8_t> fetch(int64_t offset) { return testing::replica_bytes(*leader_, offset); }
  void copy_from_leader() {
    auto bytes = fetch(follower_->log_end_offset().value);
    ASSERT_EQ(follower_->append_as_follower(bytes, clock_.now_ms()).error, ErrorCode::NONE);
  }

  TempDir dir_;
  ManualClock clock_{1'700'000'000'000};
  std::unique_ptr<storage::LogManager> manager_;
  std::unique_ptr<Partition> leader_, follower_;
};

TEST_F(PartitionFollower, HighWatermarkIsTheLeadersCappedAtTheLogEndAndNeverGoesBack) {
  leader_ = open({"t", 0});
  follower_ = open({"t", 1});
  leader_->become_leader(Epoch(1));
  follower_->become_follower(Epoch(1));
  leader_append(4);
  leader_append(4);
  copy_from_leader();
  ASSERT_EQ(follower_->log_end_offset(), Offset(8));
  EXPECT_EQ(follower_->high_watermark(), Offset(0));
  follower_->update_follower_high_watermark(Offset(5));
  EXPECT_EQ(follower_->high_watermark(), Offset(5));
  follower_->update_follower_high_watermark(Offset(20));  // the leader is further than we are
  EXPECT_EQ(follower_->high_watermark(), Offset(8));
  follower_->update_follower_high_watermark(Offset(3));  // a new leader not caught up yet
  EXPECT_EQ(follower_->high_watermark(), Offset(8));
  EXPECT_EQ(follower_->read(0, 1 << 20, true).bytes, fetch(0).size());  // consumers see to the HW
}

TEST_F(PartitionFollower, TruncateToCutsTheLogTheEpochsAndTheHighWatermark) {
  leader_ = open({"t", 0});
  follower_ = open({"t", 1});
  leader_->become_leader(Epoch(1));
  follower_->become_follower(Epoch(1));
  leader_append(3);  // epoch 1: 0-2
  leader_->become_leader(Epoch(2));
  leader_append(3);  // epoch 2: 3-5
  copy_from_leader();
  follower_->update_follower_high_watermark(Offset(6));
  ASSERT_EQ(follower_->latest_log_epoch(), Epoch(2));

  ASSERT_TRUE(follower_->truncate_to(Offset(3)));
  EXPECT_EQ(follower_->log_end_offset(), Offset(3));
  EXPECT_EQ(follower_->high_watermark(), Offset(3));
  EXPECT_EQ(follower_->latest_log_epoch(), Epoch(1));  // epoch 2 started at 3: gone
  // At (or past) the log end nothing is cut and nothing breaks.
  ASSERT_TRUE(follower_->truncate_to(Offset(3)));
  ASSERT_TRUE(follower_->truncate_to(Offset(50)));
  EXPECT_EQ(follower_->log_end_offset(), Offset(3));
  EXPECT_EQ(follower_->latest_log_epoch(), Epoch(1));
  // Fetching again continues where the cut left it.
  copy_from_leader();
  EXPECT_EQ(follower_->log_end_offset(), Offset(6));
  EXPECT_EQ(follower_->latest_log_epoch(), Epoch(2));
}

TEST_F(PartitionFollower, DivergingEpochTruncatesToWhereTheLeaderEpochEnded) {
  // The follower led epoch 1 and wrote 0-5; the new leader (epoch 2) only had 0-2 of it.
  leader_ = open({"t", 0});
  follower_ = open({"t", 1});
  follower_->become_leader(Epoch(1));
  for (int i = 0; i < 2; ++i) {
    auto b = make_batch(3);
    ASSERT_EQ(follower_->append(b, clock_.now_ms()).error, ErrorCode::NONE);
  }
  leader_->become_follower(Epoch(1));
  auto first = testing::replica_bytes(*follower_);
  first.resize(first.size() / 2);  // the first of two equal batches
  ASSERT_EQ(leader_->append_as_follower(first, clock_.now_ms()).error, ErrorCode::NONE);
  leader_->become_leader(Epoch(2));
  leader_append(2);  // epoch 2: 3-4
  follower_->become_follower(Epoch(2));
  // The leader's answer to the follower's fetch (offset 6, last epoch 1).
  auto diverging = diverging_epoch(leader_->log().leader_epoch_cache(), leader_->log_end_offset(), Epoch(1), Offset(6));
  ASSERT_TRUE(diverging);
  EXPECT_EQ(*diverging, (EpochEnd{Epoch(1), Offset(3)}));
  auto point = truncation_point(follower_->log().leader_epoch_cache(), follower_->log_end_offset(),
                                follower_->high_watermark(), *diverging);
  EXPECT_EQ(point, (TruncationPoint{Offset(3), true}));
  ASSERT_TRUE(follower_->truncate_to(point.offset));
  copy_from_leader();
  EXPECT_EQ(follower_->log_end_offset(), Offset(5));
  EXPECT_EQ(testing::replica_bytes(*follower_), fetch(0));  // byte for byte the leader's log
}

TEST_F(PartitionFollower, TruncateFullyRestartsEmptyAtTheLeadersStart) {
  follower_ = open({"t", 1});
  follower_->become_leader(Epoch(1));
  auto b = make_batch(5);
  ASSERT_EQ(follower_->append(b, clock_.now_ms()).error, ErrorCode::NONE);
  follower_->become_follower(Epoch(2));
  ASSERT_TRUE(follower_->truncate_fully_and_start_at(Offset(100)));
  EXPECT_EQ(follower_->log_start_offset(), Offset(100));
  EXPECT_EQ(follower_->log_end_offset(), Offset(100));
  EXPECT_EQ(follower_->high_watermark(), Offset(100));
  EXPECT_EQ(follower_->latest_log_epoch(), Epoch(-1));
}

}  // namespace
}  // namespace samsa::replication
