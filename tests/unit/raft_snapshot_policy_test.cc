// SnapshotPolicy: Kafka's two triggers (bytes between snapshots, interval
// with something new), one snapshot at a time, a failed one retried.
#include <gtest/gtest.h>

#include "raft/snapshot_policy.h"

namespace samsa::raft {
namespace {

TEST(RaftSnapshotPolicy, KafkasDefaults) {
  SnapshotPolicyConfig c;
  EXPECT_EQ(c.max_bytes_between_snapshots, 20 * 1024 * 1024);
  EXPECT_EQ(c.max_interval_ms, 3600000);
}

TEST(RaftSnapshotPolicy, BytesTrigger) {
  SnapshotPolicy p(SnapshotPolicyConfig{1000, 0}, 0);  // interval disabled
  EXPECT_EQ(p.due(0), "");
  p.on_committed(600);
  EXPECT_EQ(p.due(1'000'000'000), "");  // no interval: time alone never triggers
  p.on_committed(400);
  EXPECT_NE(p.due(1), "");
  p.on_started();
  EXPECT_TRUE(p.in_progress());
  p.on_committed(5000);
  EXPECT_EQ(p.due(2), "") << "one snapshot at a time";
  p.on_finished(3, true);
  EXPECT_NE(p.due(3), "");  // the 5000 bytes applied meanwhile
  EXPECT_EQ(p.bytes_since_snapshot(), 5000);
}

TEST(RaftSnapshotPolicy, IntervalTriggerNeedsSomethingNew) {
  SnapshotPolicy p(SnapshotPolicyConfig{int64_t{1} << 40, 1000}, 100);
  EXPECT_EQ(p.due(5000), "") << "nothing committed since";
  p.on_committed(10);
  EXPECT_EQ(p.due(1099), "");
  EXPECT_NE(p.due(1100), "");
  EXPECT_EQ(p.next_interval_deadline(), 1100);
  p.on_started();
  p.on_finished(1200, true);
  EXPECT_EQ(p.next_interval_deadline(), 2200);
  EXPECT_EQ(p.due(9999), "");
}

TEST(RaftSnapshotPolicy, AFailedSnapshotIsRetried) {
  SnapshotPolicy p(SnapshotPolicyConfig{100, 0}, 0);
  p.on_committed(150);
  ASSERT_NE(p.due(0), "");
  p.on_started();
  EXPECT_EQ(p.bytes_since_snapshot(), 0);
  p.on_finished(1, false);
  EXPECT_EQ(p.bytes_since_snapshot(), 150);
  EXPECT_NE(p.due(1), "");
}

}  // namespace
}  // namespace samsa::raft
