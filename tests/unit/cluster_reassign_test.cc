// The controller's partition reassignments (KIP-455, issue 14): starting one
// writes the target with adding / removing replicas and keeps the ISR and
// leader; the AlterPartition that brings the last adding replica into the ISR
// completes it (replicas = target, removed replicas out of the ISR, a removed
// leader hands over to the first target replica in the ISR); a removal or a
// reorder completes at once; cancelling reverts; Kafka's errors for unknown
// partitions, bad targets and a cancel with nothing to cancel; only the
// active controller answers. Pure rules over one partition as well.
#include <gtest/gtest.h>

#include "cluster/reassignment.h"
#include "cluster_test_cluster.h"

namespace samsa::cluster {
namespace {

using samsa::testing::run;
using test_support::Cluster;

using Ids = std::vector<int32_t>;

// Four brokers and one partition of "t" with replicas 1, 2, 3 led by 1.
struct Four : Cluster {
  Four() {
    for (int id : {1, 2, 3, 4}) join(id);
    TopicSpec s;
    s.name = "t";
    s.assignments[0] = {1, 2, 3};
    EXPECT_EQ(run(io, controller->create_topic(s, false)).error, ErrorCode::NONE);
  }
  const PartitionInfo& part() const { return topic("t").partitions[0]; }

  std::vector<OpResult> reassign(std::vector<ReassignmentItem> items) {
    return run(io, controller->alter_reassignments(std::move(items)));
  }
  OpResult reassign_one(std::optional<Ids> replicas, std::string topic = "t", int32_t partition = 0) {
    auto r = reassign({{std::move(topic), partition, std::move(replicas)}});
    EXPECT_EQ(r.size(), 1u);
    return r.empty() ? OpResult{ErrorCode::UNKNOWN_SERVER_ERROR, {}, {}} : r[0];
  }
  // The leader's AlterPartition to `isr`; returns the partition's error.
  ErrorCode alter_isr(Ids isr) {
    AlterPartitionRequest req;
    req.broker = NodeId(part().leader);
    req.broker_epoch = epoch(part().leader);
    req.version = 3;
    auto& t = req.topics.emplace_back();
    t.name = "t";
    t.id = topic("t").id;
    AlterPartitionItem it;
    it.partition = 0;
    it.leader_epoch = part().leader_epoch;
    it.partition_epoch = part().partition_epoch;
    it.leader_recovery_state = part().leader_recovery_state;
    for (auto b : isr) it.new_isr.push_back({b, epoch(b)});
    t.partitions.push_back(it);
    auto r = run(io, controller->alter_partition(std::move(req)));
    EXPECT_EQ(r.error, ErrorCode::NONE) << r.message;
    return r.topics.at(0).partitions.at(0).error;
  }
  ListReassignmentsResult list(std::optional<std::vector<std::pair<std::string, std::vector<int32_t>>>> f = {}) {
    return run(io, controller->list_reassignments(std::move(f)));
  }
};

TEST(ClusterReassign, MoveAddsCatchesUpThenRemoves) {
  Four c;
  const int32_t leader_epoch = c.part().leader_epoch;
  ASSERT_EQ(c.reassign_one(Ids{2, 3, 4}).error, ErrorCode::NONE);
  // In progress: target first, then the replica leaving; ISR and leader kept.
  EXPECT_EQ(c.part().replicas, (Ids{2, 3, 4, 1}));
  EXPECT_EQ(c.part().adding_replicas, (Ids{4}));
  EXPECT_EQ(c.part().removing_replicas, (Ids{1}));
  EXPECT_EQ(c.part().isr, (Ids{1, 2, 3}));
  EXPECT_EQ(c.part().leader, 1);
  EXPECT_EQ(c.part().leader_epoch, leader_epoch);

  auto l = c.list();
  ASSERT_EQ(l.error, ErrorCode::NONE);
  ASSERT_EQ(l.partitions.size(), 1u);
  EXPECT_EQ(l.partitions[0].topic, "t");
  EXPECT_EQ(l.partitions[0].replicas, (Ids{2, 3, 4, 1}));
  EXPECT_EQ(l.partitions[0].adding, (Ids{4}));
  EXPECT_EQ(l.partitions[0].removing, (Ids{1}));

  // Broker 4 caught up: the leader's expansion completes the move, and the
  // leader (removed) hands over to the first target replica in the ISR; the
  // sender learns it was replaced.
  EXPECT_EQ(c.alter_isr({1, 2, 3, 4}), ErrorCode::NEW_LEADER_ELECTED);
  EXPECT_EQ(c.part().replicas, (Ids{2, 3, 4}));
  EXPECT_EQ(c.part().isr, (Ids{2, 3, 4}));
  EXPECT_TRUE(c.part().adding_replicas.empty());
  EXPECT_TRUE(c.part().removing_replicas.empty());
  EXPECT_EQ(c.part().leader, 2);
  EXPECT_EQ(c.part().leader_epoch, leader_epoch + 1);
  EXPECT_TRUE(c.list().partitions.empty());
}

TEST(ClusterReassign, LeaderKeptWhenItStays) {
  Four c;
  ASSERT_EQ(c.reassign_one(Ids{1, 2, 4}).error, ErrorCode::NONE);
  EXPECT_EQ(c.part().replicas, (Ids{1, 2, 4, 3}));
  // An ISR change that does not bring 4 in leaves the move in progress.
  EXPECT_EQ(c.alter_isr({1, 2}), ErrorCode::NONE);
  EXPECT_EQ(c.part().adding_replicas, (Ids{4}));
  EXPECT_EQ(c.alter_isr({1, 2, 4}), ErrorCode::NONE);
  EXPECT_EQ(c.part().replicas, (Ids{1, 2, 4}));
  EXPECT_EQ(c.part().isr, (Ids{1, 2, 4}));
  EXPECT_EQ(c.part().leader, 1);
}

TEST(ClusterReassign, RemovalAndReorderCompleteAtOnce) {
  Four c;
  const int32_t leader_epoch = c.part().leader_epoch;
  ASSERT_EQ(c.reassign_one(Ids{3, 2}).error, ErrorCode::NONE);
  EXPECT_EQ(c.part().replicas, (Ids{3, 2}));
  EXPECT_EQ(c.part().isr, (Ids{2, 3}));
  EXPECT_TRUE(c.part().removing_replicas.empty());
  EXPECT_EQ(c.part().leader, 3);  // the first target replica in the ISR
  EXPECT_EQ(c.part().leader_epoch, leader_epoch + 1);
  // The same assignment again writes nothing.
  const int appends = c.log.appends();
  EXPECT_EQ(c.reassign_one(Ids{3, 2}).error, ErrorCode::NONE);
  EXPECT_EQ(c.log.appends(), appends);
}

TEST(ClusterReassign, CancelRevertsToTheOriginalReplicas) {
  Four c;
  ASSERT_EQ(c.reassign_one(Ids{2, 3, 4}).error, ErrorCode::NONE);
  ASSERT_EQ(c.reassign_one(std::nullopt).error, ErrorCode::NONE);
  // The replicas without the adding ones, in the current order (target first,
  // then the removing ones), as Kafka's revert.
  EXPECT_EQ(c.part().replicas, (Ids{2, 3, 1}));
  EXPECT_EQ(c.part().isr, (Ids{1, 2, 3}));
  EXPECT_TRUE(c.part().adding_replicas.empty());
  EXPECT_TRUE(c.part().removing_replicas.empty());
  EXPECT_EQ(c.part().leader, 1);
  // Nothing left to cancel.
  auto again = c.reassign_one(std::nullopt);
  EXPECT_EQ(again.error, ErrorCode::NO_REASSIGNMENT_IN_PROGRESS);
  EXPECT_EQ(again.message, "No partition reassignment is in progress.");
}

TEST(ClusterReassign, ErrorsAsKafka) {
  Four c;
  EXPECT_EQ(c.reassign_one(Ids{1, 2}, "nope").error, ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
  EXPECT_EQ(c.reassign_one(Ids{1, 2}, "t", 5).error, ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
  EXPECT_EQ(c.reassign_one(Ids{1, 2}, "t", -1).error, ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
  EXPECT_EQ(c.reassign_one(Ids{2, 2, 3}).error, ErrorCode::INVALID_REPLICA_ASSIGNMENT);
  EXPECT_EQ(c.reassign_one(Ids{2, 3, 9}).error, ErrorCode::INVALID_REPLICA_ASSIGNMENT);
  EXPECT_EQ(c.reassign_one(Ids{}).error, ErrorCode::INVALID_REPLICA_ASSIGNMENT);
  EXPECT_EQ(c.reassign_one(Ids{1, 2, 3, 4, 5, 6}).error, ErrorCode::INVALID_REPLICA_ASSIGNMENT);
  EXPECT_EQ(c.part().replicas, (Ids{1, 2, 3}));
  EXPECT_FALSE(reassigning(c.part()));
  // Good and bad items in one request: the good one is applied.
  auto r = c.reassign({{"t", 0, Ids{2, 3, 4}}, {"t", 1, Ids{1}}});
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].error, ErrorCode::NONE);
  EXPECT_EQ(r[1].error, ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
  EXPECT_TRUE(reassigning(c.part()));
  // Listing names only what is being reassigned; unknown names are left out.
  auto l = c.list(std::vector<std::pair<std::string, std::vector<int32_t>>>{{"t", {0, 7}}, {"nope", {0}}});
  ASSERT_EQ(l.partitions.size(), 1u);
  EXPECT_EQ(l.partitions[0].partition, 0);
}

TEST(ClusterReassign, OnlyTheActiveControllerAnswers) {
  Four c;
  c.log.set_leader(NodeId(5), Epoch(3));
  EXPECT_EQ(c.reassign_one(Ids{2, 3, 4}).error, ErrorCode::NOT_CONTROLLER);
  EXPECT_EQ(c.list().error, ErrorCode::NOT_CONTROLLER);
}

// The pure rules: a second reassignment over one in progress starts from the
// whole current replica set (Kafka's), and a cancel when only adding replicas
// are in sync reverts uncleanly to the first original replica that may lead.
TEST(ClusterReassign, PureRules) {
  PartitionInfo p;
  p.partition = 0;
  p.leader = 4;
  p.replicas = {2, 3, 4, 1};
  p.adding_replicas = {4};
  p.removing_replicas = {1};
  p.isr = {4};
  MayLead all = [](int32_t) { return true; };
  Uuid id{};
  auto c = cancel_reassignment(id, p, all);
  EXPECT_EQ(*c.replicas, (Ids{2, 3, 1}));
  EXPECT_EQ(*c.isr, (Ids{2}));
  EXPECT_EQ(c.leader, 2);
  EXPECT_EQ(c.leader_recovery_state, kLeaderRecovering);

  p.isr = {2, 3};
  p.leader = 2;
  auto again = start_reassignment(id, p, {2, 3, 5}, all);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again->replicas, (Ids{2, 3, 5, 4, 1}));
  EXPECT_EQ(*again->adding_replicas, (Ids{5}));
  EXPECT_EQ(*again->removing_replicas, (Ids{4, 1}));
  EXPECT_EQ(again->leader, kNoLeaderChange);

  // An ISR change that leaves nobody but removed replicas does not complete.
  PartitionInfo q;
  q.leader = 1;
  q.replicas = {2, 1};
  q.removing_replicas = {1};
  q.isr = {1};
  EXPECT_FALSE(with_completed_reassignment(id, q, std::nullopt, all));
}

}  // namespace
}  // namespace samsa::cluster
