// The controller's side of replication (issue 13): AlterPartition's checks in
// Kafka's order and the PartitionChangeRecord an accepted ISR change writes
// (partition epoch bumped, leader epoch kept), leader recovery after an
// unclean election, and the elections: fencing, controlled shutdown and
// unfencing move leaders within the ISR, `unclean.leader.election.enable`
// (topic, dynamic broker, static) allows a live out-of-sync replica, and
// ElectLeaders' preferred and unclean elections. Time is a ManualClock; the
// metadata log is in memory.
#include <gtest/gtest.h>

#include <algorithm>

#include "cluster/partition_changes.h"
#include "cluster_test_cluster.h"

namespace samsa::cluster {
namespace {

using samsa::testing::run;
using test_support::Cluster;

bool has(const std::vector<int32_t>& v, int32_t x) { return std::find(v.begin(), v.end(), x) != v.end(); }

// Three brokers and one partition of "t" with replicas 1, 2, 3 led by 1.
struct Three : Cluster {
  explicit Three(const std::function<void(ControllerSettings&)>& tune = {}) : Cluster(tune) {
    for (int id : {1, 2, 3}) join(id);
    TopicSpec s;
    s.name = "t";
    s.assignments[0] = {1, 2, 3};
    EXPECT_EQ(run(io, controller->create_topic(s, false)).error, ErrorCode::NONE);
  }
  const PartitionInfo& part() const { return topic("t").partitions[0]; }

  // An AlterPartition for partition 0 of "t" from its leader, at the current epochs.
  AlterPartitionItem item(std::vector<int32_t> isr) const {
    AlterPartitionItem it;
    it.partition = 0;
    it.leader_epoch = part().leader_epoch;
    it.partition_epoch = part().partition_epoch;
    it.leader_recovery_state = part().leader_recovery_state;
    for (auto b : isr) it.new_isr.push_back({b, -1});
    return it;
  }
  AlterPartitionResponse alter(std::vector<AlterPartitionItem> items, int16_t version = 3, int32_t from = -1,
                               std::optional<int64_t> broker_epoch = std::nullopt) {
    AlterPartitionRequest req;
    req.broker = NodeId(from == -1 ? part().leader : from);
    req.broker_epoch = broker_epoch ? *broker_epoch : epoch(req.broker.value);
    req.version = version;
    auto& t = req.topics.emplace_back();
    t.name = "t";
    t.id = topic("t").id;
    t.partitions = std::move(items);
    return run(io, controller->alter_partition(std::move(req)));
  }
  // The error of one item sent alone.
  ErrorCode alter_error(AlterPartitionItem it, int16_t version = 3, int32_t from = -1) {
    auto r = alter({std::move(it)}, version, from);
    EXPECT_EQ(r.error, ErrorCode::NONE) << r.message;
    if (r.topics.size() != 1 || r.topics[0].partitions.size() != 1) return ErrorCode::UNKNOWN_SERVER_ERROR;
    return r.topics[0].partitions[0].error;
  }
  void set_topic_config(const std::string& key, std::optional<std::string> value) {
    auto r = run(io, controller->alter_configs(kTopicResource, "t", {{key, std::move(value)}}, false));
    EXPECT_EQ(r.error, ErrorCode::NONE) << r.message;
  }
};

TEST(ClusterAlterPartition, ShrinkAndExpandBumpOnlyThePartitionEpoch) {
  Three c;
  const PartitionInfo before = c.part();
  ASSERT_EQ(before.leader, 1);
  ASSERT_EQ(before.isr, (std::vector<int32_t>{1, 2, 3}));

  auto r = c.alter({c.item({1, 2})});
  ASSERT_EQ(r.error, ErrorCode::NONE);
  ASSERT_EQ(r.topics.size(), 1u);
  EXPECT_EQ(r.topics[0].id, c.topic("t").id);
  ASSERT_EQ(r.topics[0].partitions.size(), 1u);
  const auto& p = r.topics[0].partitions[0];
  EXPECT_EQ(p.error, ErrorCode::NONE);
  EXPECT_EQ(c.part().isr, (std::vector<int32_t>{1, 2}));
  EXPECT_EQ(c.part().leader, 1);
  EXPECT_EQ(c.part().leader_epoch, before.leader_epoch);  // an ISR change keeps the leader epoch
  EXPECT_EQ(c.part().partition_epoch, before.partition_epoch + 1);
  // The answer is the state after the change, as the image has it.
  EXPECT_EQ(p.leader, 1);
  EXPECT_EQ(p.leader_epoch, c.part().leader_epoch);
  EXPECT_EQ(p.partition_epoch, c.part().partition_epoch);
  EXPECT_EQ(p.isr, c.part().isr);
  EXPECT_EQ(p.leader_recovery_state, 0);

  // Expanding with v3's broker epochs.
  auto grow = c.item({1, 2, 3});
  for (auto& m : grow.new_isr) m.broker_epoch = c.epoch(m.broker);
  EXPECT_EQ(c.alter_error(grow), ErrorCode::NONE);
  EXPECT_EQ(c.part().isr, (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(c.part().leader_epoch, before.leader_epoch);
  EXPECT_EQ(c.part().partition_epoch, before.partition_epoch + 2);

  // The same ISR again: nothing written, the current state answered.
  int appends = c.log.appends();
  auto same = c.alter({c.item({1, 2, 3})});
  EXPECT_EQ(c.log.appends(), appends);
  EXPECT_EQ(same.topics[0].partitions[0].error, ErrorCode::NONE);
  EXPECT_EQ(same.topics[0].partitions[0].partition_epoch, c.part().partition_epoch);
}

TEST(ClusterAlterPartition, SenderMustHoldItsBrokerEpoch) {
  Three c;
  auto stale = c.alter({c.item({1, 2})}, 3, 1, c.epoch(1) - 1);
  EXPECT_EQ(stale.error, ErrorCode::STALE_BROKER_EPOCH);
  EXPECT_EQ(stale.message, "Expected broker epoch " + std::to_string(c.epoch(1)) + ", but got broker epoch " +
                               std::to_string(c.epoch(1) - 1));
  EXPECT_TRUE(stale.topics.empty());
  auto unknown = c.alter({c.item({1, 2})}, 3, 9, 5);
  EXPECT_EQ(unknown.error, ErrorCode::STALE_BROKER_EPOCH);
  EXPECT_EQ(unknown.message, "No broker registration found for broker 9");
  EXPECT_EQ(c.part().isr.size(), 3u);

  c.log.set_leader(NodeId(5), Epoch(3));
  EXPECT_EQ(c.alter({c.item({1, 2})}).error, ErrorCode::NOT_CONTROLLER);
}

TEST(ClusterAlterPartition, UnknownTopicsAndPartitions) {
  Three c;
  AlterPartitionRequest req;
  req.broker = NodeId(1);
  req.broker_epoch = c.epoch(1);
  req.version = 2;
  auto& by_id = req.topics.emplace_back();
  by_id.id[0] = 0x42;
  by_id.partitions.push_back(c.item({1, 2}));
  auto& zero = req.topics.emplace_back();  // the zero id is no topic
  zero.partitions.push_back(c.item({1, 2}));
  auto r = run(c.io, c.controller->alter_partition(req));
  ASSERT_EQ(r.topics.size(), 2u);
  EXPECT_EQ(r.topics[0].partitions[0].error, ErrorCode::UNKNOWN_TOPIC_ID);
  EXPECT_EQ(r.topics[1].partitions[0].error, ErrorCode::UNKNOWN_TOPIC_ID);

  // Versions 0-1 name topics.
  req.version = 1;
  req.topics.resize(1);
  req.topics[0].name = "nope";
  EXPECT_EQ(run(c.io, c.controller->alter_partition(req)).topics[0].partitions[0].error,
            ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
  req.topics[0].name = "t";
  EXPECT_EQ(run(c.io, c.controller->alter_partition(req)).topics[0].partitions[0].error, ErrorCode::NONE);

  auto missing = c.item({1});
  missing.partition = 7;
  EXPECT_EQ(c.alter_error(missing), ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
  missing.partition = -1;
  EXPECT_EQ(c.alter_error(missing), ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
}

TEST(ClusterAlterPartition, EpochsAndLeadershipCheckedInKafkasOrder) {
  Three c;
  auto older = c.item({1, 2});
  older.leader_epoch -= 1;
  EXPECT_EQ(c.alter_error(older), ErrorCode::FENCED_LEADER_EPOCH);
  // An older leader epoch wins over not being the leader (Kafka checks it first).
  EXPECT_EQ(c.alter_error(older, 3, 2), ErrorCode::FENCED_LEADER_EPOCH);
  auto newer = c.item({1, 2});
  newer.leader_epoch += 1;
  EXPECT_EQ(c.alter_error(newer), ErrorCode::NOT_CONTROLLER);
  auto newer_partition = c.item({1, 2});
  newer_partition.partition_epoch += 1;
  EXPECT_EQ(c.alter_error(newer_partition), ErrorCode::NOT_CONTROLLER);
  // A follower may not change the ISR.
  EXPECT_EQ(c.alter_error(c.item({2, 3}), 3, 2), ErrorCode::INVALID_REQUEST);

  auto stale = c.item({1, 2});
  ASSERT_EQ(c.alter_error(c.item({1, 3})), ErrorCode::NONE);  // moves the partition epoch on
  EXPECT_EQ(c.alter_error(stale), ErrorCode::INVALID_UPDATE_VERSION);
  EXPECT_EQ(c.part().isr, (std::vector<int32_t>{1, 3}));

  // The same partition twice in one request: the second sees the first.
  auto r = c.alter({c.item({1}), c.item({1, 3})});
  ASSERT_EQ(r.topics[0].partitions.size(), 2u);
  EXPECT_EQ(r.topics[0].partitions[0].error, ErrorCode::NONE);
  EXPECT_EQ(r.topics[0].partitions[1].error, ErrorCode::INVALID_UPDATE_VERSION);
  EXPECT_EQ(c.part().isr, std::vector<int32_t>{1});
}

TEST(ClusterAlterPartition, TheIsrMustBeReplicasWithTheLeader) {
  Three c;
  EXPECT_EQ(c.alter_error(c.item({2, 3})), ErrorCode::INVALID_REQUEST);  // without the leader
  EXPECT_EQ(c.alter_error(c.item({})), ErrorCode::INVALID_REQUEST);
  EXPECT_EQ(c.alter_error(c.item({1, 4})), ErrorCode::INVALID_REQUEST);  // not a replica
  EXPECT_EQ(c.alter_error(c.item({1, 2, 2})), ErrorCode::INVALID_REQUEST);
  EXPECT_EQ(c.alter_error(c.item({1, -1})), ErrorCode::INVALID_REQUEST);
  auto bad_state = c.item({1});
  bad_state.leader_recovery_state = 5;
  EXPECT_EQ(c.alter_error(bad_state), ErrorCode::INVALID_REQUEST);
  // RECOVERED never goes back to RECOVERING.
  auto back = c.item({1});
  back.leader_recovery_state = kLeaderRecovering;
  EXPECT_EQ(c.alter_error(back), ErrorCode::INVALID_REQUEST);
  EXPECT_EQ(c.part().isr.size(), 3u);
}

TEST(ClusterAlterPartition, EveryNewMemberMustBeEligible) {
  Three c;
  ASSERT_EQ(c.alter_error(c.item({1, 2})), ErrorCode::NONE);
  // Fenced (it asks to be): its ISR places go, and it may not come back.
  ASSERT_TRUE(c.beat(3, c.epoch(3), c.image->last_offset, true).is_fenced);
  EXPECT_EQ(c.alter_error(c.item({1, 2, 3})), ErrorCode::INELIGIBLE_REPLICA);
  EXPECT_EQ(c.alter_error(c.item({1, 2, 3}), 1), ErrorCode::OPERATION_NOT_ATTEMPTED);  // before KIP-841's code
  ASSERT_FALSE(c.beat(3, c.epoch(3), c.image->last_offset).is_fenced);

  // v3: the broker epoch given must be the registration's (-1: not checked).
  auto wrong = c.item({1, 2, 3});
  wrong.new_isr[2].broker_epoch = c.epoch(3) + 100;
  EXPECT_EQ(c.alter_error(wrong), ErrorCode::INELIGIBLE_REPLICA);
  auto right = c.item({1, 2, 3});
  right.new_isr[2].broker_epoch = c.epoch(3);
  EXPECT_EQ(c.alter_error(right), ErrorCode::NONE);

  // In controlled shutdown (it still leads "u" while it waits): leaves the ISR
  // and may not rejoin it.
  TopicSpec u;
  u.name = "u";
  u.assignments[0] = {2};
  ASSERT_EQ(run(c.io, c.controller->create_topic(u, false)).error, ErrorCode::NONE);
  c.beat_all({1, 3});
  ASSERT_FALSE(c.beat(2, c.epoch(2), c.image->last_offset, false, true).should_shutdown);
  ASSERT_TRUE(c.broker(2).in_controlled_shutdown);
  ASSERT_FALSE(c.broker(2).fenced);
  EXPECT_FALSE(has(c.part().isr, 2));
  EXPECT_EQ(c.alter_error(c.item({1, 2, 3})), ErrorCode::INELIGIBLE_REPLICA);

  // Unregistered: still a replica, no longer a broker.
  ASSERT_EQ(run(c.io, c.controller->unregister_broker(NodeId(3))).error, ErrorCode::NONE);
  EXPECT_FALSE(has(c.part().isr, 3));
  EXPECT_EQ(c.alter_error(c.item({1, 3})), ErrorCode::INELIGIBLE_REPLICA);
}

TEST(ClusterElection, FencedLeaderMovesToALiveIsrMember) {
  Three c;
  ASSERT_EQ(c.alter_error(c.item({1, 3})), ErrorCode::NONE);  // 2 fell behind
  const PartitionInfo before = c.part();
  ASSERT_TRUE(c.beat(1, c.epoch(1), c.image->last_offset, true).is_fenced);
  // 2 is alive and a replica but not in sync: 3 leads.
  EXPECT_EQ(c.part().leader, 3);
  EXPECT_EQ(c.part().isr, std::vector<int32_t>{3});
  EXPECT_EQ(c.part().leader_epoch, before.leader_epoch + 1);
  EXPECT_EQ(c.part().partition_epoch, before.partition_epoch + 1);
  EXPECT_EQ(c.part().leader_recovery_state, 0);

  // The last ISR member fenced too: it stays in the ISR and the partition is
  // offline (no unclean election by default), though 2 is alive.
  ASSERT_TRUE(c.beat(3, c.epoch(3), c.image->last_offset, true).is_fenced);
  EXPECT_EQ(c.part().leader, -1);
  EXPECT_EQ(c.part().isr, std::vector<int32_t>{3});

  // 1 comes back: not in the ISR, so nothing changes.
  ASSERT_FALSE(c.beat(1, c.epoch(1), c.image->last_offset).is_fenced);
  EXPECT_EQ(c.part().leader, -1);
  // 3 comes back: its ISR place makes it the leader again.
  const int32_t offline_epoch = c.part().leader_epoch;
  ASSERT_FALSE(c.beat(3, c.epoch(3), c.image->last_offset).is_fenced);
  EXPECT_EQ(c.part().leader, 3);
  EXPECT_EQ(c.part().leader_epoch, offline_epoch + 1);
  EXPECT_EQ(c.part().isr, std::vector<int32_t>{3});
}

TEST(ClusterElection, ControlledShutdownMovesLeadershipWithinTheIsr) {
  Three c;
  ASSERT_EQ(c.alter_error(c.item({1, 3})), ErrorCode::NONE);
  c.beat_all({2, 3});
  auto r = c.beat(1, c.epoch(1), c.image->last_offset, false, true);
  EXPECT_FALSE(r.should_shutdown);
  EXPECT_EQ(c.part().leader, 3);
  EXPECT_EQ(c.part().isr, std::vector<int32_t>{3});
}

TEST(ClusterElection, UncleanElectionPicksALiveReplicaWhenEnabled) {
  Three c;
  ASSERT_EQ(c.alter_error(c.item({1})), ErrorCode::NONE);  // only the leader in sync
  c.set_topic_config("unclean.leader.election.enable", "true");
  const PartitionInfo before = c.part();
  ASSERT_TRUE(c.beat(1, c.epoch(1), c.image->last_offset, true).is_fenced);
  EXPECT_EQ(c.part().leader, 2);  // the first live replica
  EXPECT_EQ(c.part().isr, std::vector<int32_t>{2});
  EXPECT_EQ(c.part().leader_recovery_state, kLeaderRecovering);
  EXPECT_EQ(c.part().leader_epoch, before.leader_epoch + 1);

  // While recovering, the ISR is the leader alone; it then reports RECOVERED.
  auto grow = c.item({2, 3});
  EXPECT_EQ(c.alter_error(grow), ErrorCode::INVALID_REQUEST);
  auto recovered = c.item({2});
  recovered.leader_recovery_state = kLeaderRecovered;
  const int32_t leader_epoch = c.part().leader_epoch;
  EXPECT_EQ(c.alter_error(recovered), ErrorCode::NONE);
  EXPECT_EQ(c.part().leader_recovery_state, kLeaderRecovered);
  EXPECT_EQ(c.part().leader_epoch, leader_epoch);
  EXPECT_EQ(c.alter_error(c.item({2, 3})), ErrorCode::NONE);
  EXPECT_EQ(c.part().isr, (std::vector<int32_t>{2, 3}));
}

TEST(ClusterElection, UncleanSettingComesFromTopicThenBrokerThenStaticConfig) {
  // The static config of the controller.
  Three s([](ControllerSettings& cs) { cs.unclean_leader_election_enable = true; });
  ASSERT_EQ(s.alter_error(s.item({1})), ErrorCode::NONE);
  ASSERT_TRUE(s.beat(1, s.epoch(1), s.image->last_offset, true).is_fenced);
  EXPECT_EQ(s.part().leader, 2);

  // A topic override of false wins over the static true.
  Three t([](ControllerSettings& cs) { cs.unclean_leader_election_enable = true; });
  t.set_topic_config("unclean.leader.election.enable", "false");
  ASSERT_EQ(t.alter_error(t.item({1})), ErrorCode::NONE);
  ASSERT_TRUE(t.beat(1, t.epoch(1), t.image->last_offset, true).is_fenced);
  EXPECT_EQ(t.part().leader, -1);

  // The cluster-wide dynamic default, and the controller node's own.
  for (const char* resource : {"", "1"}) {
    Three d;
    ASSERT_EQ(run(d.io, d.controller->alter_configs(kBrokerResource, resource,
                                                     {{"unclean.leader.election.enable", "true"}}, false))
                  .error,
              ErrorCode::NONE);
    ASSERT_EQ(d.alter_error(d.item({1})), ErrorCode::NONE);
    ASSERT_TRUE(d.beat(1, d.epoch(1), d.image->last_offset, true).is_fenced);
    EXPECT_EQ(d.part().leader, 2) << "resource '" << resource << "'";
  }
}

TEST(ClusterElection, UnfencedReplicaLeadsAnOfflinePartitionOnlyWhenUnclean) {
  Three c;
  ASSERT_EQ(c.alter_error(c.item({1})), ErrorCode::NONE);
  for (int id : {2, 3}) ASSERT_TRUE(c.beat(id, c.epoch(id), c.image->last_offset, true).is_fenced);
  ASSERT_TRUE(c.beat(1, c.epoch(1), c.image->last_offset, true).is_fenced);
  ASSERT_EQ(c.part().leader, -1);
  ASSERT_EQ(c.part().isr, std::vector<int32_t>{1});
  ASSERT_FALSE(c.beat(2, c.epoch(2), c.image->last_offset).is_fenced);
  EXPECT_EQ(c.part().leader, -1);  // clean: waits for 1
  c.set_topic_config("unclean.leader.election.enable", "true");
  ASSERT_FALSE(c.beat(3, c.epoch(3), c.image->last_offset).is_fenced);
  // Any leaderless partition is elected when a broker returns: 2 is the first live replica.
  EXPECT_EQ(c.part().leader, 2);
  EXPECT_EQ(c.part().isr, std::vector<int32_t>{2});
  EXPECT_EQ(c.part().leader_recovery_state, kLeaderRecovering);
}

TEST(ClusterElection, ElectLeadersPreferredAndUnclean) {
  Three c;
  using Parts = std::vector<std::pair<std::string, std::vector<int32_t>>>;
  auto elect = [&](ElectionType type, std::optional<Parts> parts) {
    return run(c.io, c.controller->elect_leaders(type, std::move(parts)));
  };
  auto one = elect(ElectionType::preferred, Parts{{"t", {0}}});
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].error, ErrorCode::ELECTION_NOT_NEEDED);
  EXPECT_EQ(one[0].message, "Leader election not needed for topic partition.");

  // 1 leaves and comes back; it rejoins the ISR, then the preferred election gives it back the lead.
  ASSERT_TRUE(c.beat(1, c.epoch(1), c.image->last_offset, true).is_fenced);
  ASSERT_EQ(c.part().leader, 2);
  ASSERT_FALSE(c.beat(1, c.epoch(1), c.image->last_offset).is_fenced);
  auto not_in_sync = elect(ElectionType::preferred, Parts{{"t", {0}}});
  EXPECT_EQ(not_in_sync[0].error, ErrorCode::PREFERRED_LEADER_NOT_AVAILABLE);
  EXPECT_EQ(not_in_sync[0].message, "The preferred leader was not available.");
  ASSERT_EQ(c.alter_error(c.item({2, 3, 1})), ErrorCode::NONE);
  EXPECT_TRUE(elect(ElectionType::preferred, std::nullopt).size() == 1u);
  EXPECT_EQ(c.part().leader, 1);
  EXPECT_TRUE(elect(ElectionType::preferred, std::nullopt).empty());  // nothing needed: nothing reported

  auto unknown = elect(ElectionType::preferred, Parts{{"nope", {0}}, {"t", {5}}});
  ASSERT_EQ(unknown.size(), 2u);
  EXPECT_EQ(unknown[0].error, ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
  EXPECT_EQ(unknown[0].message, "No such topic as nope");
  EXPECT_EQ(unknown[1].message, "No such partition as t-5");

  // Unclean: only for a partition without a leader, on a live replica.
  EXPECT_EQ(elect(ElectionType::unclean, Parts{{"t", {0}}})[0].error, ErrorCode::ELECTION_NOT_NEEDED);
  ASSERT_EQ(c.alter_error(c.item({1})), ErrorCode::NONE);
  ASSERT_TRUE(c.beat(1, c.epoch(1), c.image->last_offset, true).is_fenced);
  ASSERT_EQ(c.part().leader, -1);
  for (int id : {2, 3}) ASSERT_TRUE(c.beat(id, c.epoch(id), c.image->last_offset, true).is_fenced);
  auto none = elect(ElectionType::unclean, Parts{{"t", {0}}});
  EXPECT_EQ(none[0].error, ErrorCode::ELIGIBLE_LEADERS_NOT_AVAILABLE);
  EXPECT_EQ(none[0].message, "Eligible topic partition leaders are not available.");
  ASSERT_FALSE(c.beat(3, c.epoch(3), c.image->last_offset).is_fenced);
  EXPECT_EQ(c.part().leader, -1);  // clean by default
  auto forced = elect(ElectionType::unclean, Parts{{"t", {0}}});
  EXPECT_EQ(forced[0].error, ErrorCode::NONE);
  EXPECT_EQ(forced[0].message, "");
  EXPECT_EQ(c.part().leader, 3);
  EXPECT_EQ(c.part().isr, std::vector<int32_t>{3});
  EXPECT_EQ(c.part().leader_recovery_state, kLeaderRecovering);
}

TEST(ClusterElection, BuilderFollowsKafkasRules) {
  PartitionInfo p;
  p.partition = 4;
  p.replicas = {1, 2, 3};
  p.isr = {1, 2, 3};
  p.leader = 1;
  const Uuid id{};
  auto all = [](int32_t) { return true; };
  auto only = [](std::vector<int32_t> ok) { return [ok](int32_t b) { return has(ok, b); }; };
  // Nothing asked: nothing written.
  EXPECT_FALSE(build_partition_change(id, p, {}, all));
  // An empty target ISR keeps the current one (KIP-841).
  PartitionTarget empty;
  empty.isr.emplace();
  EXPECT_FALSE(build_partition_change(id, p, empty, all));
  // The leader stays while valid; an ISR change alone names no leader.
  PartitionTarget shrink;
  shrink.isr = std::vector<int32_t>{1, 3};
  auto c = build_partition_change(id, p, shrink, all);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->partition_id, 4);
  EXPECT_EQ(c->leader, kNoLeaderChange);
  EXPECT_EQ(c->isr, (std::vector<int32_t>{1, 3}));
  EXPECT_FALSE(is_unclean_election(*c));
  // An invalid leader gives way to the first valid replica in replica order.
  PartitionTarget keep;
  auto moved = build_partition_change(id, p, keep, only({3, 2}));
  ASSERT_TRUE(moved);
  EXPECT_EQ(moved->leader, 2);
  EXPECT_FALSE(moved->isr);
  // Preferred: the first replica when valid, else a valid current leader.
  p.leader = 3;
  PartitionTarget preferred;
  preferred.election = Election::preferred;
  auto back = build_partition_change(id, p, preferred, all);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->leader, 1);
  EXPECT_FALSE(build_partition_change(id, p, preferred, only({2, 3})));
  // Unclean: the first live replica, the ISR reset to it, RECOVERING.
  p.isr = {1};
  p.leader = 1;
  PartitionTarget unclean;
  unclean.election = Election::unclean;
  auto u = build_partition_change(id, p, unclean, only({3}));
  ASSERT_TRUE(u);
  EXPECT_EQ(u->leader, 3);
  EXPECT_EQ(u->isr, std::vector<int32_t>{3});
  EXPECT_EQ(u->leader_recovery_state, kLeaderRecovering);
  EXPECT_TRUE(is_unclean_election(*u));
  // Clean with nobody valid: offline, the ISR kept.
  auto off = build_partition_change(id, p, keep, only({3}));
  ASSERT_TRUE(off);
  EXPECT_EQ(off->leader, -1);
  EXPECT_FALSE(off->isr);
}

}  // namespace
}  // namespace samsa::cluster
