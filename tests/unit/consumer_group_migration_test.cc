// KIP-848 online migration: a classic group upgraded to a consumer group by a
// ConsumerGroupHeartbeat, classic members reconciling inside the consumer group
// (JoinGroup / SyncGroup / Heartbeat), the downgrade when the last
// consumer-protocol member leaves, the ConsumerProtocol codecs and the
// ClassicMemberMetadata tag of the member record.
#include <gtest/gtest.h>

#include <asio.hpp>

#include "coordinator/consumer_group.h"
#include "coordinator/consumer_group_records.h"
#include "coordinator/consumer_protocol.h"
#include "coordinator/group.h"
#include "coordinator/group_coordinator.h"

namespace samsa::coordinator {
namespace {

constexpr int kPartitions = 4;

TopicId topic_t() {
  TopicId t{};
  t[15] = 9;
  return t;
}

TopicCatalog migration_topics() { return {{"t", TopicMeta{topic_t(), "t", kPartitions}}}; }

Bytes subscription(const std::set<int32_t>& owned = {}, int16_t version = 1) {
  ConsumerSubscription s;
  s.version = version;
  s.topics = {"t"};
  if (!owned.empty()) s.owned["t"] = owned;
  return encode_consumer_subscription(s);
}

JoinParams classic_params(const std::string& id, const std::set<int32_t>& owned = {}) {
  JoinParams p;
  p.member_id = id;
  p.client_id = "classic";
  p.client_host = "/10.0.0.2";
  p.session_timeout_ms = 10000;
  p.rebalance_timeout_ms = 20000;
  p.protocol_type = "consumer";
  p.protocols.emplace_back("range", subscription(owned));
  p.protocols.emplace_back("roundrobin", subscription(owned));
  return p;
}

std::set<int32_t> partitions_of(const Assignment& a) {
  auto it = a.find(topic_t());
  return it == a.end() ? std::set<int32_t>{} : it->second;
}

std::set<int32_t> decoded(const Bytes& assignment) {
  auto named = decode_consumer_assignment(assignment);
  EXPECT_TRUE(named);
  return named && named->count("t") ? named->at("t") : std::set<int32_t>{};
}

ConsumerHeartbeat consumer_join(const std::string& id) {
  ConsumerHeartbeat h;
  h.member_id = id;
  h.member_epoch = 0;
  h.rebalance_timeout_ms = 30000;
  h.subscribed_topic_names = std::vector<std::string>{"t"};
  return h;
}

ConsumerHeartbeat consumer_hb(const std::string& id, int32_t epoch, const std::set<int32_t>& owned) {
  ConsumerHeartbeat h;
  h.member_id = id;
  h.member_epoch = epoch;
  h.owned = Assignment{};
  if (!owned.empty()) (*h.owned)[topic_t()] = owned;
  return h;
}

// A coordinator (never run: the tests call tick() themselves) holding classic
// group "g" with members a and b, Stable at generation 2: a owns 0,1 and b 2,3.
class MigrationTest : public ::testing::Test {
 protected:
  MigrationTest() { make_coordinator(MigrationPolicy::Bidirectional); }

  void make_coordinator(MigrationPolicy policy) {
    GroupConfig cfg;
    cfg.initial_rebalance_delay_ms = 0;
    cfg.migration = policy;
    coord = std::make_unique<GroupCoordinator>(io, cfg, [this] { return now; });
    auto& g = coord->get_or_create("g");
    JoinResult ra, rb, ra2;
    g.join(classic_params(""), now, [&](JoinResult r) { ra = std::move(r); });
    ASSERT_EQ(ra.error, ErrorCode::NONE);
    a = ra.member_id;
    g.join(classic_params(""), now, [&](JoinResult r) { rb = std::move(r); });
    g.join(classic_params(a), now, [&](JoinResult r) { ra2 = std::move(r); });
    ASSERT_EQ(rb.error, ErrorCode::NONE);
    b = rb.member_id;
    ASSERT_EQ(rb.generation, 2);
    std::map<std::string, Bytes> assignments{{a, encode_consumer_assignment({{"t", {0, 1}}}, 1)},
                                             {b, encode_consumer_assignment({{"t", {2, 3}}}, 1)}};
    const std::string& leader = ra2.leader;
    const std::string& follower = leader == a ? b : a;
    SyncResult s1, s2;
    g.sync(follower, std::nullopt, 2, std::nullopt, std::nullopt, {}, now, [&](SyncResult r) { s1 = std::move(r); });
    g.sync(leader, std::nullopt, 2, std::nullopt, std::nullopt, assignments, now, [&](SyncResult r) { s2 = std::move(r); });
    ASSERT_EQ(g.state(), GroupState::Stable);
  }

  ConsumerGroup& upgrade_with_c() {
    auto res = coord->upgrade_and_join("g", consumer_join("c"), migration_topics());
    EXPECT_TRUE(res);
    EXPECT_EQ(res ? res->error : ErrorCode::UNKNOWN_SERVER_ERROR, ErrorCode::NONE);
    auto* cg = coord->find_consumer("g");
    EXPECT_NE(cg, nullptr);
    return *cg;
  }

  // A classic client: heartbeats, and rejoins (listing what it owns) and syncs when told.
  void serve_classic(ConsumerGroup& cg, const std::string& id) {
    const ConsumerMember* m = cg.member(id);
    if (!m || cg.classic_heartbeat(id, std::nullopt, m->member_epoch, now) != ErrorCode::REBALANCE_IN_PROGRESS) return;
    auto j = cg.classic_join(classic_params(id, partitions_of(m->assigned)), migration_topics(), now);
    ASSERT_EQ(j.error, ErrorCode::NONE);
    ASSERT_EQ(cg.classic_sync(id, std::nullopt, j.generation, std::nullopt, std::nullopt, now), ErrorCode::NONE);
  }

  asio::io_context io;
  int64_t now = 1000;
  std::unique_ptr<GroupCoordinator> coord;
  std::string a, b;
};

TEST_F(MigrationTest, UpgradeKeepsClassicMembersWithTheirAssignmentAtTheGeneration) {
  ConsumerGroup& cg = upgrade_with_c();
  EXPECT_EQ(coord->find("g"), nullptr) << "the classic group is gone";
  EXPECT_TRUE(coord->conversion_due("g")) << "the conversion's records are to be written";
  ASSERT_EQ(cg.members().size(), 3u);
  const ConsumerMember& ma = *cg.member(a);
  ASSERT_TRUE(ma.classic);
  EXPECT_EQ(ma.classic->session_timeout_ms, 10000);
  EXPECT_EQ(ma.classic->protocols.size(), 2u);
  EXPECT_EQ(ma.member_epoch, 2);
  EXPECT_EQ(ma.subscribed_topic_names, std::vector<std::string>{"t"});
  EXPECT_EQ(partitions_of(ma.assigned), (std::set<int32_t>{0, 1}));
  EXPECT_EQ(partitions_of(cg.member(b)->assigned), (std::set<int32_t>{2, 3}));
  ASSERT_NE(cg.member("c"), nullptr);
  EXPECT_FALSE(cg.member("c")->classic);
  // c joined: epoch 3, but every partition is still owned by a classic member.
  EXPECT_EQ(cg.group_epoch(), 3);
  EXPECT_EQ(cg.member("c")->member_epoch, 3);
  EXPECT_TRUE(partitions_of(cg.member("c")->assigned).empty());
  // The classic members are told to rejoin; a stale generation is refused.
  EXPECT_EQ(cg.classic_heartbeat(a, std::nullopt, 2, now), ErrorCode::REBALANCE_IN_PROGRESS);
  EXPECT_EQ(cg.classic_heartbeat(a, std::nullopt, 1, now), ErrorCode::ILLEGAL_GENERATION);
  EXPECT_EQ(cg.classic_heartbeat("nobody", std::nullopt, 2, now), ErrorCode::UNKNOWN_MEMBER_ID);
  // The consumer member's heartbeat must not pass as a classic one (and the reverse).
  EXPECT_EQ(cg.classic_heartbeat("c", std::nullopt, 3, now), ErrorCode::UNKNOWN_MEMBER_ID);
  EXPECT_EQ(cg.heartbeat(consumer_hb(a, 2, {0, 1}), migration_topics(), now).error, ErrorCode::UNKNOWN_MEMBER_ID);
}

TEST_F(MigrationTest, UpgradeRefusedKeepsTheClassicGroup) {
  make_coordinator(MigrationPolicy::Downgrade);
  EXPECT_FALSE(coord->upgrade_and_join("g", consumer_join("c"), migration_topics()));
  ASSERT_NE(coord->find("g"), nullptr);
  EXPECT_EQ(coord->find("g")->member_count(), 2u);
  EXPECT_EQ(coord->find_consumer("g"), nullptr);
  // Malformed metadata from a classic member: no conversion, no crash.
  make_coordinator(MigrationPolicy::Bidirectional);
  auto& g = *coord->find("g");
  JoinParams bad = classic_params(a);
  bad.protocols = {{"range", Bytes{0, 1, 0x7f, 0xff, 0xff, 0xff}}};  // v1, 2^31-1 topics in 2 bytes
  JoinResult r;
  g.join(bad, now, [&](JoinResult x) { r = std::move(x); });  // a rejoins: a rebalance with its new metadata
  g.tick(now + 60000);
  EXPECT_FALSE(coord->upgrade_and_join("g", consumer_join("c"), migration_topics()));
  EXPECT_NE(coord->find("g"), nullptr);
  // A heartbeat that fails (unknown assignor) converts nothing either.
  make_coordinator(MigrationPolicy::Bidirectional);
  auto h = consumer_join("c");
  h.server_assignor = "nope";
  auto res = coord->upgrade_and_join("g", h, migration_topics());
  ASSERT_TRUE(res);
  EXPECT_EQ(res->error, ErrorCode::UNSUPPORTED_ASSIGNOR);
  EXPECT_NE(coord->find("g"), nullptr);
  EXPECT_EQ(coord->find_consumer("g"), nullptr);
  EXPECT_FALSE(coord->conversion_due("g"));
}

// The classic members and the consumer member converge to the target through
// rejoins (classic) and heartbeats (consumer); at no step do two members own
// the same partition.
TEST_F(MigrationTest, ClassicMembersReconcileThroughJoinAndSync) {
  ConsumerGroup& cg = upgrade_with_c();
  std::map<std::string, std::set<int32_t>> owned{{a, {0, 1}}, {b, {2, 3}}, {"c", {}}};
  std::map<std::string, int32_t> generation{{a, 2}, {b, 2}};
  int32_t c_epoch = cg.member("c")->member_epoch;
  auto check_exclusive = [&] {
    std::map<int32_t, int> n;
    for (auto& [_, ps] : owned)
      for (int32_t p : ps) ASSERT_EQ(++n[p], 1) << "partition " << p << " owned twice";
  };
  for (int round = 0; round < 10; ++round) {
    for (const std::string& id : {a, b}) {
      if (cg.classic_heartbeat(id, std::nullopt, generation[id], now) != ErrorCode::REBALANCE_IN_PROGRESS) continue;
      // Rejoin (a cooperative client lists what it owns), then sync.
      auto joined = cg.classic_join(classic_params(id, owned[id]), migration_topics(), now);
      ASSERT_EQ(joined.error, ErrorCode::NONE);
      EXPECT_EQ(joined.member_id, id);
      EXPECT_EQ(joined.protocol_name, "range");
      EXPECT_EQ(joined.generation, cg.member(id)->member_epoch);
      generation[id] = joined.generation;
      ASSERT_EQ(cg.classic_sync(id, std::nullopt, joined.generation, std::string("consumer"), std::string("range"), now),
                ErrorCode::NONE);
      owned[id] = partitions_of(cg.member(id)->assigned);
      check_exclusive();
    }
    auto r = cg.heartbeat(consumer_hb("c", c_epoch, owned["c"]), migration_topics(), now);
    ASSERT_EQ(r.error, ErrorCode::NONE);
    c_epoch = r.member_epoch;
    if (r.assignment) owned["c"] = partitions_of(*r.assignment);
    check_exclusive();
    now += 100;
  }
  EXPECT_STREQ(cg.state_name(), "Stable");
  std::set<int32_t> all;
  for (auto& [id, ps] : owned) {
    EXPECT_FALSE(ps.empty()) << id;
    all.insert(ps.begin(), ps.end());
  }
  EXPECT_EQ(all.size(), size_t(kPartitions));
  EXPECT_EQ(generation[a], cg.group_epoch());
  // SyncGroup checks: a wrong generation or protocol, an unknown member.
  EXPECT_EQ(cg.classic_sync(a, std::nullopt, generation[a] - 1, std::nullopt, std::nullopt, now),
            ErrorCode::ILLEGAL_GENERATION);
  EXPECT_EQ(cg.classic_sync(a, std::nullopt, generation[a], std::nullopt, std::string("roundrobin"), now),
            ErrorCode::INCONSISTENT_GROUP_PROTOCOL);
  EXPECT_EQ(cg.classic_sync("x", std::nullopt, 1, std::nullopt, std::nullopt, now), ErrorCode::UNKNOWN_MEMBER_ID);
  // Offsets: a classic member commits with its generation.
  EXPECT_EQ(cg.validate_commit(a, generation[a]), ErrorCode::NONE);
  EXPECT_EQ(cg.validate_commit(a, generation[a] - 1), ErrorCode::ILLEGAL_GENERATION);
  EXPECT_EQ(cg.validate_commit("c", c_epoch - 1), ErrorCode::STALE_MEMBER_EPOCH);
  // A protocol the classic members do not all support is refused.
  JoinParams other = classic_params("");
  other.protocols = {{"sticky", subscription()}};
  EXPECT_EQ(cg.classic_join(other, migration_topics(), now).error, ErrorCode::INCONSISTENT_GROUP_PROTOCOL);
  other = classic_params("");
  other.protocol_type = "connect";
  EXPECT_EQ(cg.classic_join(other, migration_topics(), now).error, ErrorCode::INCONSISTENT_GROUP_PROTOCOL);
}

TEST_F(MigrationTest, ClassicMemberSessionAndJoinDeadlines) {
  ConsumerGroup& cg = upgrade_with_c();
  // a is told to rejoin and never does (it goes on heartbeating): out after its rebalance
  // timeout (20 s); b rejoins whenever told.
  EXPECT_EQ(cg.classic_heartbeat(a, std::nullopt, 2, now), ErrorCode::REBALANCE_IN_PROGRESS);
  for (int i = 1; i <= 25; ++i) {
    now += 1000;
    cg.heartbeat(consumer_hb("c", cg.member("c")->member_epoch, partitions_of(cg.member("c")->assigned)),
                 migration_topics(), now);
    if (cg.member(a)) {
      EXPECT_EQ(cg.classic_heartbeat(a, std::nullopt, 2, now), ErrorCode::REBALANCE_IN_PROGRESS);
    }
    serve_classic(cg, b);
    cg.tick(now);
    if (i < 20) {
      ASSERT_NE(cg.member(a), nullptr) << i;
    }
  }
  EXPECT_EQ(cg.member(a), nullptr) << "a did not rejoin within its rebalance timeout";
  EXPECT_NE(cg.member(b), nullptr);
  // b stops heartbeating: gone after its own session timeout (10 s), not the group's (45 s).
  for (int i = 0; i < 11; ++i) {
    now += 1000;
    cg.heartbeat(consumer_hb("c", cg.member("c")->member_epoch, partitions_of(cg.member("c")->assigned)),
                 migration_topics(), now);
    cg.tick(now);
  }
  EXPECT_EQ(cg.member(b), nullptr);
  // A classic LeaveGroup removes the member; a consumer member cannot leave that way.
  auto jd = cg.classic_join(classic_params(""), migration_topics(), now);
  ASSERT_EQ(jd.error, ErrorCode::NONE);
  EXPECT_EQ(cg.classic_leave("c", std::nullopt), ErrorCode::UNKNOWN_MEMBER_ID);
  const int32_t before = cg.group_epoch();
  EXPECT_EQ(cg.classic_leave(jd.member_id, std::nullopt), ErrorCode::NONE);
  EXPECT_EQ(cg.member(jd.member_id), nullptr);
  EXPECT_GT(cg.group_epoch(), before);
}

TEST_F(MigrationTest, DowngradeWhenTheLastConsumerMemberLeaves) {
  ConsumerGroup& cg = upgrade_with_c();
  ASSERT_FALSE(coord->maybe_downgrade("g")) << "nobody left yet";
  ConsumerHeartbeat leave;
  leave.member_id = "c";
  leave.member_epoch = -1;
  ASSERT_EQ(cg.heartbeat(leave, migration_topics(), now).error, ErrorCode::NONE);
  const int32_t epoch = cg.group_epoch();
  ASSERT_TRUE(coord->maybe_downgrade("g"));
  EXPECT_EQ(coord->find_consumer("g"), nullptr);
  EXPECT_TRUE(coord->conversion_due("g"));
  Group* g = coord->find("g");
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->generation(), epoch);
  EXPECT_EQ(g->protocol_type(), "consumer");
  EXPECT_EQ(g->state(), GroupState::PreparingRebalance) << "its members rejoin as a classic group";
  // The record keeps each member's current assignment.
  auto rec = coord->group_record("g");
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->generation, epoch);
  EXPECT_EQ(rec->protocol, "range");
  ASSERT_EQ(rec->members.size(), 2u);
  for (auto& m : rec->members)
    EXPECT_EQ(decoded(m.assignment), (m.member_id == a ? std::set<int32_t>{0, 1} : std::set<int32_t>{2, 3}));
  // Both rejoin: a new generation, the leader assigns.
  JoinResult ja, jb;
  g->join(classic_params(a, {0, 1}), now, [&](JoinResult r) { ja = std::move(r); });
  g->join(classic_params(b, {2, 3}), now, [&](JoinResult r) { jb = std::move(r); });
  EXPECT_EQ(ja.error, ErrorCode::NONE);
  EXPECT_EQ(ja.generation, epoch + 1);
  EXPECT_EQ(g->state(), GroupState::CompletingRebalance);
}

TEST_F(MigrationTest, DowngradeFollowsThePolicyAndSessionExpiry) {
  make_coordinator(MigrationPolicy::Upgrade);
  ConsumerGroup& cg = upgrade_with_c();
  ConsumerHeartbeat leave;
  leave.member_id = "c";
  leave.member_epoch = -1;
  ASSERT_EQ(cg.heartbeat(leave, migration_topics(), now).error, ErrorCode::NONE);
  EXPECT_FALSE(coord->maybe_downgrade("g")) << "policy upgrade: no downgrade";
  EXPECT_NE(coord->find_consumer("g"), nullptr);
  // Bidirectional: c's session expires (the classic members keep theirs alive): the tick downgrades.
  make_coordinator(MigrationPolicy::Bidirectional);
  ConsumerGroup& cg2 = upgrade_with_c();
  for (int i = 0; i < 50 && coord->find_consumer("g"); ++i) {
    now += 1000;
    serve_classic(cg2, a);
    serve_classic(cg2, b);
    coord->tick();
  }
  ASSERT_EQ(coord->find_consumer("g"), nullptr);
  ASSERT_NE(coord->find("g"), nullptr);
  EXPECT_EQ(coord->find("g")->member_count(), 2u);
}

// Kafka's replacement downgrade: a classic static member restarting with the
// instance id of the last consumer-protocol member takes over its partitions,
// and the group is classic again, Stable, with no rebalance.
TEST_F(MigrationTest, AClassicStaticMemberReplacingTheLastConsumerMemberDowngrades) {
  auto h = consumer_join("s");
  h.instance_id = "inst";
  ASSERT_TRUE(coord->upgrade_and_join("g", h, migration_topics()));
  ConsumerGroup& cg = *coord->find_consumer("g");
  // Everybody reconciles: s gets its share.
  for (int i = 0; i < 6; ++i) {
    serve_classic(cg, a);
    serve_classic(cg, b);
    auto r = cg.heartbeat(consumer_hb("s", cg.member("s")->member_epoch, partitions_of(cg.member("s")->assigned)),
                          migration_topics(), now);
    ASSERT_EQ(r.error, ErrorCode::NONE);
  }
  ASSERT_STREQ(cg.state_name(), "Stable");
  const std::set<int32_t> s_parts = partitions_of(cg.member("s")->assigned);
  ASSERT_FALSE(s_parts.empty());
  JoinParams p = classic_params("", s_parts);
  p.group_instance_id = "inst";
  auto joined = cg.classic_join(p, migration_topics(), now);
  ASSERT_EQ(joined.error, ErrorCode::NONE);
  EXPECT_NE(joined.member_id, "s");
  EXPECT_EQ(cg.member("s"), nullptr);
  EXPECT_EQ(partitions_of(cg.member(joined.member_id)->assigned), s_parts) << "it took s's partitions";
  ASSERT_TRUE(coord->maybe_downgrade("g", /*rebalance=*/false));
  Group* g = coord->find("g");
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->state(), GroupState::Stable);
  EXPECT_EQ(g->member_count(), 3u);
  EXPECT_EQ(g->generation(), joined.generation) << "its SyncGroup at the answered generation is served";
  SyncResult synced;
  g->sync(joined.member_id, std::string("inst"), joined.generation, std::nullopt, std::nullopt, {}, now,
          [&](SyncResult r) { synced = std::move(r); });
  EXPECT_EQ(synced.error, ErrorCode::NONE);
  EXPECT_EQ(decoded(synced.assignment), s_parts);
}

TEST(ConsumerProtocolCodec, SubscriptionAndAssignmentRoundTripAndRefuseGarbage) {
  ConsumerSubscription s;
  s.version = 3;
  s.topics = {"a", "b"};
  s.owned["a"] = {1, 5};
  s.generation = 7;
  s.rack_id = "r1";
  auto back = decode_consumer_subscription(encode_consumer_subscription(s));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->topics, s.topics);
  EXPECT_EQ(back->owned, s.owned);
  EXPECT_EQ(back->generation, 7);
  EXPECT_EQ(back->rack_id, "r1");
  // Version 0 has no owned partitions; what follows the topics may be missing.
  Bytes v0{0, 0, 0, 0, 0, 1, 0, 1, 'x'};
  auto s0 = decode_consumer_subscription(v0);
  ASSERT_TRUE(s0);
  EXPECT_EQ(s0->topics, std::vector<std::string>{"x"});
  // Assignment layout: version, [topic, [partition]], user data -1.
  auto enc = encode_consumer_assignment({{"t", {2}}}, 9);  // clamped to 3
  EXPECT_EQ(enc, (Bytes{0, 3, 0, 0, 0, 1, 0, 1, 't', 0, 0, 0, 1, 0, 0, 0, 2, 0xff, 0xff, 0xff, 0xff}));
  EXPECT_EQ(decoded(enc), std::set<int32_t>{2});
  // Garbage: huge counts, truncation, negative versions.
  EXPECT_FALSE(decode_consumer_subscription(Bytes{0, 1, 0x7f, 0xff, 0xff, 0xff}));
  EXPECT_FALSE(decode_consumer_subscription(Bytes{0xff, 0xff, 0, 0, 0, 0}));
  EXPECT_FALSE(decode_consumer_subscription(Bytes{0}));
  EXPECT_FALSE(decode_consumer_assignment(Bytes{0, 0, 0, 0, 0, 1, 0, 5, 't'}));
  EXPECT_FALSE(decode_consumer_assignment(Bytes{0, 0, 0, 0, 0, 1, 0, 1, 't', 0x7f, 0, 0, 0}));
  for (size_t cut = 0; cut + 1 < enc.size(); ++cut)
    EXPECT_FALSE(decode_consumer_assignment(std::span<const uint8_t>(enc.data(), cut)) && cut < 17) << cut;
}

// The member record carries ClassicMemberMetadata as tag 0 (Kafka's layout)
// and a replay of the records brings the classic members back as they were.
TEST_F(MigrationTest, ClassicMembersSurviveAReplayOfTheRecords) {
  ConsumerGroup& cg = upgrade_with_c();
  auto recs = consumer_group_records(cg, {});
  ConsumerGroup back("g", ConsumerGroupConfig{});
  const Bytes* a_record = nullptr;
  for (auto& r : recs) {
    auto key = decode_consumer_key(r.key);
    ASSERT_TRUE(key);
    if (key->type == 5 && key->member == a) a_record = &*r.value;
    std::optional<std::span<const uint8_t>> v;
    if (r.value) v = std::span<const uint8_t>(*r.value);
    ASSERT_TRUE(apply_consumer_record(back, *key, v, now)) << key->type;
  }
  ASSERT_NE(a_record, nullptr);
  // The tag section: one field, tag 0, then its size and the present marker (uvarint 1).
  const auto& protocols = cg.member(a)->classic->protocols;
  size_t body = 1 + 4 + 1;
  for (auto& [name, meta] : protocols) body += 1 + name.size() + 1 + meta.size() + 1;
  body += 1;
  ASSERT_GT(a_record->size(), body + 3);
  const size_t tags = a_record->size() - body - 3;
  EXPECT_EQ((*a_record)[tags], 1);
  EXPECT_EQ((*a_record)[tags + 1], 0);
  EXPECT_EQ((*a_record)[tags + 2], body);
  EXPECT_EQ((*a_record)[tags + 3], 1);
  for (auto& [id, m] : cg.members()) {
    auto* r = back.member(id);
    ASSERT_NE(r, nullptr) << id;
    EXPECT_EQ(r->classic, m.classic) << id;
    EXPECT_EQ(r->assigned, m.assigned) << id;
    EXPECT_EQ(r->member_epoch, m.member_epoch) << id;
  }
  EXPECT_EQ(back.group_epoch(), cg.group_epoch());
  // The replayed group serves its classic members at their generation.
  EXPECT_EQ(back.classic_heartbeat(a, std::nullopt, 2, now), ErrorCode::REBALANCE_IN_PROGRESS);
  // A damaged tag is refused, not crashed on.
  Bytes damaged(*a_record);
  damaged[tags + 2] = 0x7f;
  ConsumerGroup x("g", ConsumerGroupConfig{});
  ConsumerRecordKey k{5, "g", a};
  EXPECT_FALSE(apply_consumer_record(x, k, std::span<const uint8_t>(damaged), now));
}

}  // namespace
}  // namespace samsa::coordinator
