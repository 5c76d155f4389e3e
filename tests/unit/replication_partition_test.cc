// replication::Partition and ReplicaManager without a Broker: a partition on a
// temp dir (append, high watermark, log end, leader epoch in the log's
// leader-epoch cache, read; a leader serving a follower and a follower's
// append), and a replica manager opening, leading and
// deleting partitions from metadata images.
#include <gtest/gtest.h>

#include "base/clock.h"
#include "base/shard_affinity.h"
#include "protocol/record_batch.h"
#include "replication/flusher.h"
#include "replication/local_partition_writer.h"
#include "replication/open_partition.h"
#include "replication/partition.h"
#include "replication/replica_manager.h"
#include "storage/log_manager.h"
#include "storage_test_util.h"

namespace samsa::replication {
namespace {

using storage::testing::make_batch;
using storage::testing::TempDir;

class ReplicationPartition : public ::testing::Test {
 protected:
  void SetUp() override {
    storage::LogManagerOptions o;
    o.log_dirs = {dir_.sub("logs")};
    auto m = storage::LogManager::open(storage::posix_env(), o);
    ASSERT_TRUE(m) << m.status().to_string();
    manager_ = std::move(*m);
  }

  std::unique_ptr<Partition> open(const TopicPartition& tp) {
    std::string error;
    auto p = open_partition(*manager_, clock_, tp, protocol::Uuid{}, storage::LogConfig{}, &error);
    EXPECT_TRUE(p) << error;
    return p;
  }

  void close(std::unique_ptr<Partition>& p) {
    auto tp = p->tp();
    p->close();
    p.reset();
    manager_->release(tp);
  }

  TempDir dir_;
  ManualClock clock_{1'700'000'000'000};
  std::unique_ptr<storage::LogManager> manager_;
};

TEST_F(ReplicationPartition, AppendMovesTheHighWatermarkToTheLogEndAndReadSeesIt) {
  auto p = open({"t", 0});
  ASSERT_TRUE(p);
  EXPECT_EQ(p->high_watermark(), Offset(0));
  EXPECT_EQ(p->log_end_offset(), Offset(0));
  p->become_leader(Epoch(0));
  auto b = make_batch(3);
  const size_t size = b.size();
  auto out = p->append(b, clock_.now_ms());
  ASSERT_EQ(out.error, ErrorCode::NONE);
  EXPECT_EQ(out.base_offset, 0);
  EXPECT_EQ(out.last_offset, 2);
  EXPECT_EQ(p->log_end_offset(), Offset(3));
  EXPECT_EQ(p->high_watermark(), Offset(3));
  EXPECT_EQ(p->last_stable_offset(), Offset(3));

  auto rd = p->read(0, 1 << 20, true);
  ASSERT_EQ(rd.error, ErrorCode::NONE);
  EXPECT_EQ(rd.bytes, size);
  EXPECT_EQ(rd.high_watermark, 3);
  EXPECT_EQ(rd.log_end_offset, 3);
  auto caught_up = p->read(3, 1 << 20, true);
  EXPECT_EQ(caught_up.error, ErrorCode::NONE);
  EXPECT_EQ(caught_up.bytes, 0u);
  close(p);
}

// KIP-890's guard: a producer's check stays valid until a marker of that producer is appended;
// concurrent first batches share one token; another producer's marker changes nothing.
TEST_F(ReplicationPartition, AMarkerVoidsItsProducersTransactionVerification) {
  auto p = open({"t", 0});
  ASSERT_TRUE(p);
  p->become_leader(Epoch(0));
  const uint64_t token = p->begin_txn_verification(7);
  EXPECT_NE(token, 0u);
  EXPECT_EQ(p->begin_txn_verification(7), token);
  const uint64_t other = p->begin_txn_verification(8);
  EXPECT_NE(other, token);
  EXPECT_TRUE(p->txn_verification_holds(7, token));
  EXPECT_FALSE(p->txn_verification_holds(7, other));
  EXPECT_FALSE(p->txn_open_for(7, 0));
  auto marker = protocol::build_end_txn_marker({protocol::ControlType::abort, 0}, 7, 0, clock_.now_ms());
  ASSERT_EQ(p->append(marker, clock_.now_ms()).error, ErrorCode::NONE);
  EXPECT_FALSE(p->txn_verification_holds(7, token));
  EXPECT_TRUE(p->txn_verification_holds(8, other));
  // A new check after the marker gets a new token.
  EXPECT_NE(p->begin_txn_verification(7), token);
  close(p);
}

TEST_F(ReplicationPartition, LeaderEpochIsStampedAndKeptInTheLeaderEpochCache) {
  auto p = open({"t", 0});
  ASSERT_TRUE(p);
  EXPECT_EQ(p->role(), Role::kNone);
  EXPECT_EQ(p->latest_log_epoch(), Epoch(-1));  // nothing written yet
  p->become_leader(Epoch(0));
  auto b1 = make_batch(2);
  ASSERT_EQ(p->append(b1, clock_.now_ms()).error, ErrorCode::NONE);
  EXPECT_EQ(p->latest_log_epoch(), Epoch(0));

  p->become_leader(Epoch(3));  // a new leadership term
  EXPECT_EQ(p->leader_epoch(), Epoch(3));
  auto b2 = make_batch(1);
  ASSERT_EQ(p->append(b2, clock_.now_ms()).error, ErrorCode::NONE);
  EXPECT_EQ(p->latest_log_epoch(), Epoch(3));
  std::vector<storage::EpochEntry> want{{0, 0}, {3, 2}};
  EXPECT_EQ(p->log().leader_epoch_cache().entries(), want);
  close(p);

  // Reopened: the cache comes back from leader-epoch-checkpoint, and the high
  // watermark starts at the log end (one node: everything written is committed).
  auto again = open({"t", 0});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->latest_log_epoch(), Epoch(3));
  EXPECT_EQ(again->log().leader_epoch_cache().entries(), want);
  EXPECT_EQ(again->high_watermark(), Offset(3));
  EXPECT_EQ(again->log_end_offset(), Offset(3));
  close(again);
}

#ifndef NDEBUG
TEST_F(ReplicationPartition, LeaderEpochOnlyRises) {
  auto p = open({"t", 0});
  ASSERT_TRUE(p);
  p->become_leader(Epoch(2));
  p->become_follower(Epoch(2));  // same epoch, other role: fine
  EXPECT_EQ(p->role(), Role::kFollower);
  EXPECT_DEATH(p->become_leader(Epoch(1)), "epoch only rises");
  close(p);
}
#endif

// Only the fetches waiting on the partition appended to are credited.
TEST_F(ReplicationPartition, AppendCreditsOnlyTheFetchesWaitingOnThatPartition) {
  asio::io_context io;
  auto a = open({"a", 0});
  auto b = open({"b", 0});
  ASSERT_TRUE(a && b);
  auto on_b = std::make_shared<DelayedFetch>(io.get_executor(), 1 << 20);
  b->add_fetch_waiter(on_b, FetchWatch{1 << 20, 0, false, 0});
  auto batch = make_batch(2);
  const auto size = static_cast<int64_t>(batch.size());
  ASSERT_EQ(a->append(batch, clock_.now_ms()).error, ErrorCode::NONE);
  EXPECT_EQ(on_b->accumulated(), 0);
  EXPECT_EQ(a->fetch_waiters(), 0u);
  EXPECT_EQ(b->fetch_waiters(), 1u);
  auto batch2 = make_batch(2);
  ASSERT_EQ(b->append(batch2, clock_.now_ms()).error, ErrorCode::NONE);
  EXPECT_EQ(on_b->accumulated(), size);
  close(a);
  close(b);
}

using ReplicationPartitionDeathTest = ReplicationPartition;

// A partition belongs to the shard whose thread built it (here: the test's
// thread, of no shard); any other shard touching it aborts.
TEST_F(ReplicationPartitionDeathTest, IsTouchedOnlyFromItsShard) {
  auto p = open({"t", 0});
  ASSERT_TRUE(p);
  EXPECT_EQ(p->high_watermark(), Offset(0));  // its own thread
  EXPECT_DEATH(
      {
        ShardBinding other(1);
        (void)p->high_watermark();
      },
      "Partition may run only on a thread of no shard .* not on shard 1");
  EXPECT_DEATH(
      {
        ShardBinding other(2);
        auto b = make_batch(1);
        (void)p->append(b, 0);
      },
      "Partition may run only on a thread of no shard .* not on shard 2");
  close(p);
}

class ReplicationReplicaManager : public ReplicationPartition {
 protected:
  std::shared_ptr<cluster::MetadataImage> image_with(const std::string& topic, int partitions, int32_t leader) {
    auto img = std::make_shared<cluster::MetadataImage>();
    auto t = std::make_shared<cluster::TopicInfo>();
    t->name = topic;
    t->id[0] = 7;
    for (int i = 0; i < partitions; ++i) {
      cluster::PartitionInfo p;
      p.partition = i;
      p.leader = leader;
      p.replicas = {1};
      p.isr = {1};
      t->partitions.push_back(p);
    }
    img->topics.set(topic, t);
    return img;
  }

  // Topic "t", one partition on brokers 1 and 2, led by `leader` at `epoch`.
  std::shared_ptr<cluster::MetadataImage> image_at(int32_t leader, int32_t epoch) {
    auto img = image_with("t", 1, leader);
    auto t = std::make_shared<cluster::TopicInfo>(*img->find_topic("t"));
    t->partitions[0].leader_epoch = epoch;
    t->partitions[0].replicas = {1, 2};
    img->topics.set("t", t);
    return img;
  }

  // Node 1, one shard owning every partition.
  static ReplicaManagerOptions node1_on_one_shard() {
    ReplicaManagerOptions o;
    o.shard = 0;
    o.node_id = NodeId(1);
    o.owner_of = [](const TopicPartition&) { return 0; };
    o.log_config_for = [](const cluster::TopicInfo&) { return storage::LogConfig{}; };
    return o;
  }
};

TEST_F(ReplicationReplicaManager, OpensLeadsAndDeletesThePartitionsOfItsShard) {
  ShardBinding on_shard_0(0);  // this thread plays shard 0, which the manager (o.shard) asserts
  asio::io_context io;
  Flusher flusher(io);
  UnopenedPartitions unopened;
  ReplicaManagerOptions o;
  o.shard = 0;
  o.node_id = NodeId(1);
  o.owner_of = [](const TopicPartition& tp) { return tp.partition % 2; };  // two shards: this one has the even ones
  o.log_config_for = [](const cluster::TopicInfo&) { return storage::LogConfig{}; };
  ReplicaManager rm(o, *manager_, flusher, clock_, unopened);
  std::vector<TopicPartition> opened, removed;
  rm.set_hooks({[&](Partition& p) { opened.push_back(p.tp()); }, [&](const TopicPartition& tp) { removed.push_back(tp); }});

  cluster::ImageDelta full;
  full.full = true;
  rm.apply(image_with("t", 4, 1), full);
  EXPECT_EQ(rm.partitions().size(), 2u);
  ASSERT_NE(rm.find({"t", 0}), nullptr);
  ASSERT_NE(rm.find({"t", 2}), nullptr);
  EXPECT_EQ(rm.find({"t", 1}), nullptr);  // another shard's
  EXPECT_EQ(rm.find({"t", 0})->role(), Role::kLeader);
  EXPECT_EQ(rm.find({"t", 0})->leader_epoch(), Epoch(0));
  EXPECT_EQ(opened.size(), 2u);

  cluster::ImageDelta touched;
  touched.topics = {"t"};
  rm.apply(std::make_shared<cluster::MetadataImage>(), touched);  // the topic is gone
  EXPECT_TRUE(rm.partitions().empty());
  EXPECT_EQ(removed.size(), 2u);
  EXPECT_TRUE(rm.unopened_of({"t"}).empty());
  flusher.stop();
}

TEST_F(ReplicationReplicaManager, HooksHearOfLeadershipGainedAtEachNewEpochAndLost) {
  ShardBinding on_shard_0(0);
  asio::io_context io;
  Flusher flusher(io);
  UnopenedPartitions unopened;
  ReplicaManager rm(node1_on_one_shard(), *manager_, flusher, clock_, unopened);
  std::vector<std::string> heard;
  PartitionHooks hooks;
  hooks.became_leader = [&](Partition& p, Epoch e) {
    EXPECT_EQ(rm.find(p.tp()), &p);  // findable: a coordinator may replay it at once
    heard.push_back("leader@" + std::to_string(e.value));
  };
  hooks.became_follower = [&](Partition& p) { heard.push_back("follower@" + std::to_string(p.leader_epoch().value)); };
  rm.set_hooks(std::move(hooks));
  auto image = [&](int32_t leader, int32_t epoch) { return image_at(leader, epoch); };
  cluster::ImageDelta touched;
  touched.topics = {"t"};
  rm.apply(image(1, 0), touched);   // opened as leader
  rm.apply(image(1, 0), touched);   // the same again (e.g. a config change): nothing new
  rm.apply(image(1, 2), touched);   // a new leader epoch while leading: load again
  rm.apply(image(2, 3), touched);   // leadership moved away
  rm.apply(image(2, 4), touched);   // following at a newer epoch: nothing to unload again
  rm.apply(image(1, 5), touched);   // back
  EXPECT_EQ(heard, (std::vector<std::string>{"leader@0", "leader@2", "follower@3", "leader@5"}));
  rm.apply(std::make_shared<cluster::MetadataImage>(), touched);
  flusher.stop();
}

// Runs `op` on `io` until it completes (the Flusher's sync thread posts back), bounded.
ErrorCode run_append(asio::io_context& io, asio::awaitable<ErrorCode> op) {
  auto out = std::make_shared<std::optional<ErrorCode>>();
  asio::co_spawn(io, std::move(op), [out](std::exception_ptr e, ErrorCode err) {
    if (e) std::rethrow_exception(e);
    *out = err;
  });
  for (int i = 0; i < 500 && !*out; ++i) {
    io.restart();
    io.run_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(out->has_value()) << "the append never completed";
  return out->value_or(ErrorCode::UNKNOWN_SERVER_ERROR);
}

TEST_F(ReplicationReplicaManager, TheWriterAppendsOnlyWhileThePartitionIsLedAtTheCoordinatorsEpoch) {
  ShardBinding on_shard_0(0);
  asio::io_context io;
  Flusher flusher(io);
  UnopenedPartitions unopened;
  ReplicaManager rm(node1_on_one_shard(), *manager_, flusher, clock_, unopened);
  LocalPartitionWriter writer(rm, flusher, clock_, ShardRoutes{});
  auto image = [&](int32_t leader, int32_t epoch) { return image_at(leader, epoch); };
  cluster::ImageDelta touched;
  touched.topics = {"t"};
  const TopicPartition tp{"t", 0};
  rm.apply(image(1, 3), touched);
  auto batch = make_batch(1);
  EXPECT_EQ(run_append(io, writer.append(tp, batch, Epoch(3))), ErrorCode::NONE);
  batch = make_batch(1);
  EXPECT_EQ(run_append(io, writer.append(tp, batch, PartitionWriter::kAnyLeaderEpoch)), ErrorCode::NONE);
  // A coordinator whose state is of another epoch is fenced, and so is any write once this broker follows.
  batch = make_batch(1);
  EXPECT_EQ(run_append(io, writer.append(tp, batch, Epoch(2))), ErrorCode::NOT_LEADER_OR_FOLLOWER);
  rm.apply(image(2, 4), touched);
  batch = make_batch(1);
  EXPECT_EQ(run_append(io, writer.append(tp, batch, Epoch(3))), ErrorCode::NOT_LEADER_OR_FOLLOWER);
  batch = make_batch(1);
  EXPECT_EQ(run_append(io, writer.append(tp, batch, PartitionWriter::kAnyLeaderEpoch)),
            ErrorCode::NOT_LEADER_OR_FOLLOWER);
  EXPECT_EQ(rm.find(tp)->log_end_offset(), Offset(2));  // only the two led appends
  rm.apply(std::make_shared<cluster::MetadataImage>(), touched);
  flusher.stop();
}

// Leader `p` appends `records` records in its current epoch.
void leader_append(Partition& p, int records) {
  auto b = make_batch(records);
  ASSERT_EQ(p.append(b, 1'700'000'000'000).error, ErrorCode::NONE);
}

// ---- serving and being a follower: epoch checks, OffsetsForLeaderEpoch, reads
// up to the log end, the follower-fetch hook, the follower's append ----

TEST_F(ReplicationPartition, CurrentLeaderEpochIsChecked) {
  auto p = open({"t", 0});
  ASSERT_TRUE(p);
  // No role yet (one node): epoch 0, as appends are stamped.
  EXPECT_EQ(p->check_leader_epoch(Epoch(0)), ErrorCode::NONE);
  p->become_leader(Epoch(4));
  EXPECT_EQ(p->check_leader_epoch(Epoch(-1)), ErrorCode::NONE);  // not given
  EXPECT_EQ(p->check_leader_epoch(Epoch(4)), ErrorCode::NONE);
  EXPECT_EQ(p->check_leader_epoch(Epoch(3)), ErrorCode::FENCED_LEADER_EPOCH);
  EXPECT_EQ(p->check_leader_epoch(Epoch(5)), ErrorCode::UNKNOWN_LEADER_EPOCH);
  close(p);
}

TEST_F(ReplicationPartition, EndOffsetForEpochFollowsKafka) {
  auto p = open({"t", 0});
  ASSERT_TRUE(p);
  EXPECT_EQ(p->end_offset_for_epoch(Epoch(0)), (storage::EpochEndOffset{-1, -1}));  // no epochs yet
  p->become_leader(Epoch(1));
  leader_append(*p, 3);  // epoch 1: 0-2
  p->become_leader(Epoch(3));
  leader_append(*p, 2);  // epoch 3: 3-4
  p->become_leader(Epoch(5));
  leader_append(*p, 1);  // epoch 5: 5
  // The end of an epoch is the start of the next larger one; the latest ends at the log end.
  EXPECT_EQ(p->end_offset_for_epoch(Epoch(1)), (storage::EpochEndOffset{1, 3}));
  EXPECT_EQ(p->end_offset_for_epoch(Epoch(2)), (storage::EpochEndOffset{1, 3}));  // never led: the one before
  EXPECT_EQ(p->end_offset_for_epoch(Epoch(3)), (storage::EpochEndOffset{3, 5}));
  EXPECT_EQ(p->end_offset_for_epoch(Epoch(5)), (storage::EpochEndOffset{5, 6}));
  EXPECT_EQ(p->end_offset_for_epoch(Epoch(6)), (storage::EpochEndOffset{-1, -1}));  // above the latest
  EXPECT_EQ(p->end_offset_for_epoch(Epoch(0)), (storage::EpochEndOffset{0, 0}));  // before the history
  EXPECT_EQ(p->end_offset_for_epoch(Epoch(-1)), (storage::EpochEndOffset{-1, -1}));
  close(p);
}

TEST_F(ReplicationPartition, FollowerCopiesTheLeaderAndReadsPastTheHighWatermark) {
  auto leader = open({"t", 0});
  auto follower = open({"t", 1});
  ASSERT_TRUE(leader && follower);
  leader->become_leader(Epoch(2));
  follower->become_follower(Epoch(2));
  leader_append(*leader, 3);
  leader_append(*leader, 2);

  auto fetched = leader->read_for_follower(0, 1 << 20);
  ASSERT_EQ(fetched.error, ErrorCode::NONE);
  ASSERT_GT(fetched.bytes, 0u);
  std::vector<uint8_t> bytes;
  for (const auto& c : fetched.chunks) {
    const size_t at = bytes.size();
    bytes.resize(at + c.len);
    ASSERT_EQ(::pread(c.fd, bytes.data() + at, c.len, c.pos), static_cast<ssize_t>(c.len));
  }
  auto out = follower->append_as_follower(bytes, clock_.now_ms());
  ASSERT_EQ(out.error, ErrorCode::NONE) << out.message;
  EXPECT_EQ(out.base_offset, 0);
  EXPECT_EQ(out.last_offset, 4);
  EXPECT_EQ(follower->log_end_offset(), Offset(5));
  EXPECT_EQ(follower->high_watermark(), Offset(0));  // learnt from the leader, not from appends
  EXPECT_EQ(follower->latest_log_epoch(), Epoch(2));  // the leader's epoch, kept
  EXPECT_EQ(follower->end_offset_for_epoch(Epoch(2)), (storage::EpochEndOffset{2, 5}));

  // Consumers see nothing above the high watermark; a follower of this
  // replica reads to the log end.
  EXPECT_EQ(follower->read(0, 1 << 20, true).bytes, 0u);
  auto replica_read = follower->read_for_follower(0, 1 << 20);
  ASSERT_EQ(replica_read.error, ErrorCode::NONE);
  EXPECT_EQ(replica_read.bytes, bytes.size());
  EXPECT_EQ(replica_read.log_end_offset, 5);
  EXPECT_EQ(follower->read_for_follower(5, 1 << 20).bytes, 0u);  // caught up
  EXPECT_EQ(follower->read_for_follower(6, 1 << 20).error, ErrorCode::OFFSET_OUT_OF_RANGE);

  // The same batches again overlap the log: refused, nothing changes.
  EXPECT_EQ(follower->append_as_follower(bytes, clock_.now_ms()).error, ErrorCode::OFFSET_OUT_OF_RANGE);
  EXPECT_EQ(follower->log_end_offset(), Offset(5));
  close(leader);
  close(follower);
}

TEST_F(ReplicationPartition, FollowerFetchesReachTheListener) {
  auto p = open({"t", 0});
  ASSERT_TRUE(p);
  p->become_leader(Epoch(1));
  p->on_follower_fetch(FollowerFetch{NodeId(2), Offset(0), Offset(0), Offset(0), -1, 5});  // no listener: no-op
  std::vector<FollowerFetch> seen;
  p->set_follower_fetch_listener([&seen](const FollowerFetch& f) { seen.push_back(f); });
  p->on_follower_fetch(FollowerFetch{NodeId(2), Offset(7), Offset(1), Offset(9), 42, 1234});
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].replica, NodeId(2));
  EXPECT_EQ(seen[0].fetch_offset, Offset(7));
  EXPECT_EQ(seen[0].leader_end_offset, Offset(9));
  EXPECT_EQ(seen[0].broker_epoch, 42);
  EXPECT_EQ(seen[0].now_ms, 1234);
  close(p);
}

}  // namespace
}  // namespace samsa::replication
