// The group coordinator's records and offset expiry, driven with a fake clock:
// which group metadata records are due, replay of them, and Kafka's
// offsets.retention.minutes rules.
#include <gtest/gtest.h>

#include <deque>

#include "coordinator/consumer_group.h"
#include "coordinator/group_coordinator.h"

namespace samsa::coordinator {
namespace {

constexpr int64_t kRetention = 60000;

// ConsumerProtocolSubscription v0 naming `topics`.
Bytes subscription(std::vector<std::string> topics) {
  Bytes b{0, 0, 0, 0, 0, uint8_t(topics.size())};
  for (auto& t : topics) {
    b.push_back(0);
    b.push_back(uint8_t(t.size()));
    b.insert(b.end(), t.begin(), t.end());
  }
  return b;
}

class GroupPersistenceTest : public ::testing::Test {
 protected:
  GroupPersistenceTest() {
    GroupConfig cfg;
    cfg.initial_rebalance_delay_ms = 0;
    c = std::make_unique<GroupCoordinator>(io, cfg, [this] { return clock; });
    GroupPersistence p;
    p.write_group = [this](const std::string& g) { written.push_back(g); };
    p.expire = [this](std::vector<ExpiredOffsets> e) { expired.push_back(std::move(e)); };
    p.retention_ms = kRetention;
    p.check_interval_ms = 1000;
    c->set_persistence(std::move(p));
  }

  // One member joins (v4+ two-step) and the group completes its rebalance
  // with `assignment`; returns the member id.
  std::string join_and_sync(const std::string& group, Bytes sub, Bytes assignment,
                            std::optional<std::string> instance = std::nullopt) {
    auto& g = c->get_or_create(group);
    JoinParams p;
    p.client_id = "c";
    p.client_host = "/127.0.0.1";
    p.session_timeout_ms = 10000;
    p.rebalance_timeout_ms = 20000;
    p.protocol_type = "consumer";
    p.protocols.emplace_back("range", std::move(sub));
    p.require_known_member_id = true;
    p.group_instance_id = instance;
    JoinResult first;
    g.join(p, clock, [&](JoinResult r) { first = std::move(r); });
    JoinResult joined = first;
    if (first.error == ErrorCode::MEMBER_ID_REQUIRED) {
      p.member_id = first.member_id;
      g.join(p, clock, [&](JoinResult r) { joined = std::move(r); });
    }
    EXPECT_EQ(joined.error, ErrorCode::NONE);
    SyncResult synced;
    synced.error = ErrorCode::UNKNOWN_SERVER_ERROR;
    g.sync(joined.member_id, instance, joined.generation, std::nullopt, std::nullopt, {{joined.member_id, assignment}},
           clock, [&](SyncResult r) { synced = std::move(r); });
    EXPECT_EQ(synced.error, ErrorCode::NONE);
    return joined.member_id;
  }

  void commit(const std::string& group, const std::string& topic, int32_t partition,
              std::optional<int64_t> expire = std::nullopt) {
    c->apply_commit(group, topic, partition, {10, -1, "", clock, expire});
  }

  // Runs the timer's work at `t` and returns what expiry found (empty if none).
  std::vector<ExpiredOffsets> tick_at(int64_t t) {
    clock = t;
    size_t before = expired.size();
    c->tick();
    if (expired.size() == before) return {};
    c->expiry_done();
    return expired.back();
  }

  asio::io_context io;
  int64_t clock = 1'000'000;
  std::unique_ptr<GroupCoordinator> c;
  std::vector<std::string> written;
  std::vector<std::vector<ExpiredOffsets>> expired;
};

TEST_F(GroupPersistenceTest, RecordIsDueWhenARebalanceCompletesAndWhenTheGroupEmpties) {
  auto id = join_and_sync("g", subscription({"t"}), Bytes{7, 7});
  // The leader's SyncGroup takes the record (it answers once it is durable)...
  EXPECT_TRUE(c->take_changed("g"));
  EXPECT_FALSE(c->take_changed("g"));
  auto rec = c->group_record("g");
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->protocol_type, "consumer");
  EXPECT_EQ(rec->generation, 1);
  EXPECT_EQ(rec->protocol, "range");
  EXPECT_EQ(rec->leader, id);
  EXPECT_EQ(rec->current_state_timestamp, clock);
  ASSERT_EQ(rec->members.size(), 1u);
  EXPECT_EQ(rec->members[0].member_id, id);
  EXPECT_EQ(rec->members[0].session_timeout_ms, 10000);
  EXPECT_EQ(rec->members[0].rebalance_timeout_ms, 20000);
  EXPECT_EQ(rec->members[0].subscription, subscription({"t"}));
  EXPECT_EQ(rec->members[0].assignment, (Bytes{7, 7}));
  // ...so the timer does not write it again.
  tick_at(clock + 100);
  EXPECT_TRUE(written.empty());
  // The member leaves: the group is Empty, and the timer writes that record.
  EXPECT_EQ(c->find("g")->leave(id, std::nullopt, clock), ErrorCode::NONE);
  tick_at(clock + 100);
  ASSERT_EQ(written, std::vector<std::string>{"g"});
  rec = c->group_record("g");
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->generation, 2);
  EXPECT_FALSE(rec->protocol);
  EXPECT_FALSE(rec->leader);
  EXPECT_TRUE(rec->members.empty());
  EXPECT_EQ(rec->protocol_type, "consumer");
  tick_at(clock + 100);
  EXPECT_EQ(written.size(), 1u);
}

TEST_F(GroupPersistenceTest, ReplayRestoresGenerationLeaderAndMembers) {
  auto id = join_and_sync("g", subscription({"t"}), Bytes{1, 2});
  auto sid = join_and_sync("s", subscription({"t"}), Bytes{3}, "instance-1");
  auto rec = decode_group_value(encode_group_value(*c->group_record("g")));
  auto srec = decode_group_value(encode_group_value(*c->group_record("s")));
  ASSERT_TRUE(rec && srec);

  // A new coordinator (a restarted broker) replays the records much later.
  clock += 3'600'000;
  GroupCoordinator d(io, GroupConfig{}, [this] { return clock; });
  d.apply_commit("g", "t", 0, {5, -1, "", clock, {}});
  d.apply_group_record("g", *rec);
  d.apply_group_record("s", *srec);
  auto* g = d.find("g");
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->state(), GroupState::Stable);
  EXPECT_EQ(g->generation(), 1);
  EXPECT_EQ(g->leader(), id);
  EXPECT_EQ(g->protocol_name(), "range");
  ASSERT_EQ(g->describe().size(), 1u);
  EXPECT_EQ(g->describe()[0].assignment, (Bytes{1, 2}));
  EXPECT_EQ(d.offsets("g")->at({"t", 0}).offset, 5);
  EXPECT_FALSE(d.take_changed("g"));  // replay is not a change to record
  // The member goes on heartbeating and committing without rejoining: its
  // session restarted at the replay.
  clock += 9000;
  d.tick();
  EXPECT_EQ(g->heartbeat(id, std::nullopt, 1, clock), ErrorCode::NONE);
  EXPECT_EQ(g->validate_commit(id, std::nullopt, 1), ErrorCode::NONE);
  // A restarted static member gets its old assignment back without a rebalance.
  JoinParams p;
  p.client_id = "c";
  p.session_timeout_ms = 10000;
  p.protocol_type = "consumer";
  p.protocols.emplace_back("range", subscription({"t"}));
  p.group_instance_id = "instance-1";
  JoinResult jr;
  d.find("s")->join(p, clock, [&](JoinResult r) { jr = std::move(r); });
  EXPECT_EQ(jr.error, ErrorCode::NONE);
  EXPECT_EQ(jr.generation, 1);
  EXPECT_NE(jr.member_id, sid);
  EXPECT_EQ(d.find("s")->state(), GroupState::Stable);
  EXPECT_TRUE(d.take_changed("s"));  // its new member id is recorded
  EXPECT_EQ(d.group_record("s")->members.at(0).member_id, jr.member_id);
  // A member that never comes back is dropped after its session timeout.
  clock += 20000;
  d.tick();
  EXPECT_EQ(g->state(), GroupState::Empty);
  EXPECT_EQ(g->generation(), 2);
  // A tombstone forgets the group.
  d.apply_group_record("s", std::nullopt);
  EXPECT_EQ(d.find("s"), nullptr);
}

TEST_F(GroupPersistenceTest, EmptyGroupOffsetsExpireRetentionAfterTheGroupEmptied) {
  auto id = join_and_sync("g", subscription({"t"}), {});
  commit("g", "t", 0);
  commit("g", "t", 1);
  int64_t committed = clock;
  // Active member (subscribed to t): nothing expires however old the commit.
  EXPECT_TRUE(c->find_expired(committed + 10 * kRetention, kRetention).empty());
  // The member leaves later; retention counts from then, not from the commit.
  clock += kRetention / 2;
  ASSERT_EQ(c->find("g")->heartbeat(id, std::nullopt, 1, clock), ErrorCode::NONE);
  int64_t emptied = clock;
  ASSERT_EQ(c->find("g")->leave(id, std::nullopt, clock), ErrorCode::NONE);
  EXPECT_TRUE(c->find_expired(emptied + kRetention - 1, kRetention).empty());
  auto e = tick_at(emptied + kRetention);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].group, "g");
  EXPECT_EQ(e[0].partitions.size(), 2u);
  EXPECT_TRUE(e[0].group_dead);
  // Nothing is forgotten until the tombstones are durable (apply_expired).
  ASSERT_NE(c->offsets("g"), nullptr);
  c->apply_expired(e[0]);
  EXPECT_EQ(c->offsets("g"), nullptr);
  EXPECT_EQ(c->find("g"), nullptr);
  EXPECT_TRUE(c->groups().empty());
}

// A KIP-848 member "m" joining with a subscription to "t" (two partitions).
TopicCatalog one_topic_catalog() {
  TopicId id{};
  id[15] = 1;
  return TopicCatalog{{"t", TopicMeta{id, "t", 2}}};
}

ConsumerHeartbeat joining_member() {
  ConsumerHeartbeat h;
  h.member_id = "m";
  h.member_epoch = 0;
  h.rebalance_timeout_ms = 30000;
  h.subscribed_topic_names = std::vector<std::string>{"t"};
  return h;
}

// KIP-848 groups: an offset of a topic no member subscribes to expires
// retention after its commit (Kafka's rule for consumer groups).
TEST_F(GroupPersistenceTest, ConsumerGroupOffsetsOfUnsubscribedTopicsExpire) {
  auto& g = c->get_or_create_consumer("cg");
  const TopicCatalog topics = one_topic_catalog();
  const ConsumerHeartbeat h = joining_member();
  ASSERT_EQ(g.heartbeat(h, topics, clock).error, ErrorCode::NONE);
  commit("cg", "t", 0);
  commit("cg", "u", 0);
  int64_t committed = clock;
  EXPECT_TRUE(c->find_expired(committed + kRetention - 1, kRetention).empty());
  auto e = c->find_expired(committed + kRetention, kRetention);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].group, "cg");
  EXPECT_EQ(e[0].partitions, (std::vector<std::pair<std::string, int32_t>>{{"u", 0}})) << "t is subscribed";
  EXPECT_FALSE(e[0].group_dead);
  c->apply_expired(e[0]);
  ASSERT_NE(c->offsets("cg"), nullptr);
  EXPECT_EQ(c->offsets("cg")->size(), 1u);
  EXPECT_NE(c->find_consumer("cg"), nullptr);
}

// An empty KIP-848 group dies with its last offsets (Kafka's cleanupGroupMetadata): the expiry
// says so, so its records are tombstoned, and applying it forgets the group.
TEST_F(GroupPersistenceTest, AnEmptyConsumerGroupDiesWithItsLastOffsets) {
  auto& g = c->get_or_create_consumer("cg");
  const TopicCatalog topics = one_topic_catalog();
  const ConsumerHeartbeat h = joining_member();
  auto joined = g.heartbeat(h, topics, clock);
  ASSERT_EQ(joined.error, ErrorCode::NONE);
  commit("cg", "t", 0);
  const int64_t committed = clock;
  // A member: its subscribed topic's offset stays, the group lives.
  for (auto& e : c->find_expired(committed + kRetention, kRetention)) EXPECT_FALSE(e.group_dead);
  ConsumerHeartbeat leave;
  leave.member_id = "m";
  leave.member_epoch = -1;
  ASSERT_EQ(g.heartbeat(leave, topics, clock).error, ErrorCode::NONE);
  ASSERT_TRUE(g.empty());
  EXPECT_TRUE(c->find_expired(committed + kRetention - 1, kRetention).empty());
  auto e = c->find_expired(committed + kRetention, kRetention);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_TRUE(e[0].consumer_group);
  EXPECT_TRUE(e[0].group_dead);
  EXPECT_EQ(e[0].partitions, (std::vector<std::pair<std::string, int32_t>>{{"t", 0}}));
  c->apply_expired(e[0]);
  EXPECT_EQ(c->offsets("cg"), nullptr);
  EXPECT_EQ(c->find_consumer("cg"), nullptr);
}

TEST_F(GroupPersistenceTest, ExpiryRunsOnlyEveryCheckIntervalAndOneAtATime) {
  commit("simple", "t", 0);
  int64_t t0 = clock;
  EXPECT_TRUE(tick_at(t0 + kRetention - 1).empty());
  size_t n = expired.size();
  clock = t0 + kRetention;
  c->tick();  // the check is not due yet (interval 1000 ms after the last)
  EXPECT_EQ(expired.size(), n);
  clock = t0 + kRetention + 1000;
  c->tick();
  ASSERT_EQ(expired.size(), n + 1);
  // While tombstones are written, no second expiry starts.
  clock += 5000;
  c->tick();
  EXPECT_EQ(expired.size(), n + 1);
  c->apply_expired(expired.back()[0]);
  c->expiry_done();
  EXPECT_EQ(c->offsets("simple"), nullptr);
}

TEST_F(GroupPersistenceTest, CommitTimestampRules) {
  // A simple consumer's group (never changed state): its commit time is the base.
  commit("simple", "t", 0);
  clock += 30000;
  commit("simple", "t", 1);
  auto e = c->find_expired(clock - 30000 + kRetention, kRetention);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].partitions, (std::vector<std::pair<std::string, int32_t>>{{"t", 0}}));
  EXPECT_FALSE(e[0].group_dead);  // t-1 stays
  // An expire timestamp (OffsetCommit v2-v4 retention time) overrides retention.
  commit("short", "t", 0, clock + 500);
  EXPECT_TRUE(c->find_expired(clock + 499, kRetention).empty());
  e = c->find_expired(clock + 500, kRetention);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].group, "short");
  EXPECT_TRUE(e[0].group_dead);
  // A Stable consumer group: offsets of topics nobody subscribes to expire
  // after their commit; subscribed ones do not.
  join_and_sync("stable", subscription({"a"}), {});
  commit("stable", "a", 0);
  commit("stable", "b", 0);
  e = c->find_expired(clock + kRetention, kRetention);
  std::vector<std::pair<std::string, int32_t>> stable_expired;
  for (auto& x : e)
    if (x.group == "stable") {
      stable_expired = x.partitions;
      EXPECT_FALSE(x.group_dead);
    }
  EXPECT_EQ(stable_expired, (std::vector<std::pair<std::string, int32_t>>{{"b", 0}}));
  // Offsets a transaction holds are kept.
  c->add_pending(42, 0, "simple", "t", 1, {11, -1, "", clock, {}});
  e = c->find_expired(clock + 10 * kRetention, kRetention);
  for (auto& x : e)
    if (x.group == "simple") {
      EXPECT_EQ(x.partitions, (std::vector<std::pair<std::string, int32_t>>{{"t", 0}}));
      EXPECT_FALSE(x.group_dead);
    }
}

TEST_F(GroupPersistenceTest, ARejoinDuringExpiryKeepsTheGroup) {
  commit("g", "t", 0);
  auto e = c->find_expired(clock + kRetention, kRetention);
  ASSERT_EQ(e.size(), 1u);
  ASSERT_TRUE(e[0].group_dead);
  join_and_sync("g", subscription({"t"}), {});
  c->apply_expired(e[0]);
  ASSERT_NE(c->find("g"), nullptr);
  EXPECT_EQ(c->find("g")->state(), GroupState::Stable);
  EXPECT_EQ(c->offsets("g"), nullptr);
}

}  // namespace
}  // namespace samsa::coordinator
