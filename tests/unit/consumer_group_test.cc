// KIP-848 consumer groups: the server-side assignors and the member
// reconciliation state machine (coordinator/assignors.*, consumer_group.*).
#include <gtest/gtest.h>

#include "coordinator/assignors.h"
#include "coordinator/consumer_group.h"
#include "coordinator/consumer_group_records.h"
#include "protocol/messages/consumer_group_heartbeat.h"

namespace samsa::coordinator {
namespace {

TopicId tid(uint8_t n) {
  TopicId t{};
  t[15] = n;
  return t;
}

std::map<TopicId, TopicMeta> topics_of(std::initializer_list<std::pair<uint8_t, int32_t>> ts) {
  std::map<TopicId, TopicMeta> out;
  for (auto [n, p] : ts) out[tid(n)] = TopicMeta{tid(n), "t" + std::to_string(n), p};
  return out;
}

AssignorMember member(std::string id, std::set<TopicId> subs, Assignment cur = {}) {
  return AssignorMember{std::move(id), std::move(subs), std::move(cur)};
}

// Every partition of every subscribed topic is assigned exactly once.
void expect_complete(const GroupAssignment& a, const std::map<TopicId, TopicMeta>& topics) {
  std::map<std::pair<TopicId, int32_t>, int> seen;
  for (auto& [_, as] : a)
    for (auto& [t, ps] : as)
      for (int32_t p : ps) ++seen[{t, p}];
  size_t total = 0;
  for (auto& [t, m] : topics) total += static_cast<size_t>(m.partitions);
  EXPECT_EQ(seen.size(), total);
  for (auto& [tp, n] : seen) EXPECT_EQ(n, 1);
}

TEST(ConsumerGroupAssignors, UniformBalancesHomogeneous) {
  auto topics = topics_of({{1, 7}, {2, 3}});
  std::vector<AssignorMember> ms = {member("a", {tid(1), tid(2)}), member("b", {tid(1), tid(2)}),
                                    member("c", {tid(1), tid(2)})};
  auto a = assign_uniform(ms, topics);
  expect_complete(a, topics);
  for (auto& [id, as] : a) {
    EXPECT_GE(partition_count(as), 3u) << id;
    EXPECT_LE(partition_count(as), 4u) << id;
  }
}

TEST(ConsumerGroupAssignors, UniformIsStickyWhenAMemberJoins) {
  auto topics = topics_of({{1, 6}});
  std::vector<AssignorMember> two = {member("a", {tid(1)}), member("b", {tid(1)})};
  auto before = assign_uniform(two, topics);
  std::vector<AssignorMember> three = {member("a", {tid(1)}, before["a"]), member("b", {tid(1)}, before["b"]),
                                       member("c", {tid(1)})};
  auto after = assign_uniform(three, topics);
  expect_complete(after, topics);
  EXPECT_EQ(partition_count(after["c"]), 2u);
  // a and b each give up exactly one partition and keep the other two.
  for (auto id : {"a", "b"}) {
    size_t kept = 0;
    for (int32_t p : after[id][tid(1)]) kept += before[id][tid(1)].count(p);
    EXPECT_EQ(kept, 2u) << id;
  }
}

TEST(ConsumerGroupAssignors, UniformHeterogeneousOnlySubscribed) {
  auto topics = topics_of({{1, 4}, {2, 2}});
  std::vector<AssignorMember> ms = {member("a", {tid(1)}), member("b", {tid(1), tid(2)})};
  auto a = assign_uniform(ms, topics);
  expect_complete(a, topics);
  EXPECT_EQ(a["a"].count(tid(2)), 0u);
  EXPECT_EQ(partition_count(a["a"]), 3u);
  EXPECT_EQ(partition_count(a["b"]), 3u);
}

TEST(ConsumerGroupAssignors, RangeGivesContiguousRanges) {
  auto topics = topics_of({{1, 5}});
  std::vector<AssignorMember> ms = {member("b", {tid(1)}), member("a", {tid(1)})};
  auto a = assign_range(ms, topics);
  EXPECT_EQ(a["a"][tid(1)], (std::set<int32_t>{0, 1, 2}));
  EXPECT_EQ(a["b"][tid(1)], (std::set<int32_t>{3, 4}));
  EXPECT_TRUE(known_assignor("range"));
  EXPECT_TRUE(known_assignor("uniform"));
  EXPECT_FALSE(known_assignor("sticky"));
}

// ---- the reconciliation state machine ---------------------------------------------

TopicCatalog catalog(int32_t partitions) { return {{"t1", TopicMeta{tid(1), "t1", partitions}}}; }

ConsumerHeartbeat join_hb(const std::string& id, std::optional<std::string> instance = std::nullopt) {
  ConsumerHeartbeat h;
  h.member_id = id;
  h.member_epoch = 0;
  h.instance_id = std::move(instance);
  h.rebalance_timeout_ms = 30000;
  h.subscribed_topic_names = std::vector<std::string>{"t1"};
  return h;
}

ConsumerHeartbeat hb(const std::string& id, int32_t epoch, std::optional<Assignment> owned) {
  ConsumerHeartbeat h;
  h.member_id = id;
  h.member_epoch = epoch;
  h.owned = std::move(owned);
  return h;
}

TEST(ConsumerGroupReconcile, FirstMemberGetsEverything) {
  ConsumerGroup g("g", ConsumerGroupConfig{});
  auto r = g.heartbeat(join_hb("a"), catalog(4), 0);
  ASSERT_EQ(r.error, ErrorCode::NONE);
  EXPECT_EQ(r.member_epoch, 1);
  ASSERT_TRUE(r.assignment);
  EXPECT_EQ(partition_count(*r.assignment), 4u);
  EXPECT_EQ(r.heartbeat_interval_ms, 5000);
  EXPECT_STREQ(g.state_name(), "Stable");
}

TEST(ConsumerGroupReconcile, RevocationBeforeAssignment) {
  ConsumerGroup g("g", ConsumerGroupConfig{});
  auto ra = g.heartbeat(join_hb("a"), catalog(4), 0);
  Assignment a_owned = *ra.assignment;
  // b joins: epoch 2 target splits 2/2, but a still owns everything, so b gets nothing yet.
  auto rb = g.heartbeat(join_hb("b"), catalog(4), 10);
  ASSERT_EQ(rb.error, ErrorCode::NONE);
  EXPECT_EQ(rb.member_epoch, 2);
  EXPECT_EQ(partition_count(*rb.assignment), 0u);
  EXPECT_STREQ(g.state_name(), "Reconciling");
  // a heartbeats: it must revoke two partitions and stays at epoch 1 until it does.
  auto r1 = g.heartbeat(hb("a", 1, a_owned), catalog(4), 20);
  ASSERT_EQ(r1.error, ErrorCode::NONE);
  EXPECT_EQ(r1.member_epoch, 1);
  ASSERT_TRUE(r1.assignment);
  EXPECT_EQ(partition_count(*r1.assignment), 2u);
  EXPECT_EQ(g.member("a")->state, MemberState::UnrevokedPartitions);
  // b still cannot get the partitions a has not released.
  auto rb2 = g.heartbeat(hb("b", 2, Assignment{}), catalog(4), 25);
  EXPECT_FALSE(rb2.assignment && partition_count(*rb2.assignment) > 0);
  // a acknowledges the revocation: it moves to epoch 2.
  auto r2 = g.heartbeat(hb("a", 1, *r1.assignment), catalog(4), 30);
  EXPECT_EQ(r2.member_epoch, 2);
  EXPECT_EQ(g.member("a")->state, MemberState::Stable);
  // Now b gets the released partitions.
  auto rb3 = g.heartbeat(hb("b", 2, Assignment{}), catalog(4), 40);
  ASSERT_TRUE(rb3.assignment);
  EXPECT_EQ(partition_count(*rb3.assignment), 2u);
  EXPECT_STREQ(g.state_name(), "Stable");
  // No overlap.
  for (auto& [t, ps] : *rb3.assignment)
    for (int32_t p : ps) EXPECT_EQ(g.member("a")->assigned.at(t).count(p), 0u);
}

TEST(ConsumerGroupReconcile, FencingAndUnknownMember) {
  ConsumerGroup g("g", ConsumerGroupConfig{});
  g.heartbeat(join_hb("a"), catalog(2), 0);
  EXPECT_EQ(g.heartbeat(hb("a", 5, std::nullopt), catalog(2), 1).error, ErrorCode::FENCED_MEMBER_EPOCH);
  EXPECT_EQ(g.heartbeat(hb("zz", 1, std::nullopt), catalog(2), 1).error, ErrorCode::UNKNOWN_MEMBER_ID);
  EXPECT_EQ(g.validate_commit("a", 1), ErrorCode::NONE);
  EXPECT_EQ(g.validate_commit("a", 0), ErrorCode::STALE_MEMBER_EPOCH);
  EXPECT_EQ(g.validate_commit("", -1), ErrorCode::NONE);
  EXPECT_EQ(g.validate_commit("zz", 1), ErrorCode::UNKNOWN_MEMBER_ID);
}

TEST(ConsumerGroupReconcile, AssignorAndSizeErrors) {
  ConsumerGroupConfig cfg;
  cfg.max_size = 1;
  ConsumerGroup g("g", cfg);
  auto bad = join_hb("a");
  bad.server_assignor = "sticky";
  EXPECT_EQ(g.heartbeat(bad, catalog(2), 0).error, ErrorCode::UNSUPPORTED_ASSIGNOR);
  EXPECT_EQ(g.heartbeat(join_hb("a"), catalog(2), 0).error, ErrorCode::NONE);
  EXPECT_EQ(g.heartbeat(join_hb("b"), catalog(2), 0).error, ErrorCode::GROUP_MAX_SIZE_REACHED);
  auto range = join_hb("a");
  range.member_epoch = 1;
  range.server_assignor = "range";
  EXPECT_EQ(g.heartbeat(range, catalog(2), 1).error, ErrorCode::NONE);
  EXPECT_EQ(g.assignor(), "range");
}

TEST(ConsumerGroupReconcile, LeaveAndSessionExpiryFreePartitions) {
  ConsumerGroup g("g", ConsumerGroupConfig{});
  auto ra = g.heartbeat(join_hb("a"), catalog(4), 0);
  g.heartbeat(join_hb("b"), catalog(4), 0);
  auto r1 = g.heartbeat(hb("a", 1, *ra.assignment), catalog(4), 1);
  g.heartbeat(hb("a", 1, *r1.assignment), catalog(4), 2);
  g.heartbeat(hb("b", 2, Assignment{}), catalog(4), 3);
  EXPECT_STREQ(g.state_name(), "Stable");
  int32_t epoch = g.group_epoch();
  // a's session expires (45 s default): b gets all four partitions at its next heartbeat.
  g.heartbeat(hb("b", 2, g.member("b")->assigned), catalog(4), 40000);
  EXPECT_TRUE(g.tick(45010));
  EXPECT_EQ(g.member("a"), nullptr);
  EXPECT_GT(g.group_epoch(), epoch);
  auto rb = g.heartbeat(hb("b", 2, g.member("b")->assigned), catalog(4), 45011);
  ASSERT_TRUE(rb.assignment);
  EXPECT_EQ(partition_count(*rb.assignment), 4u);
  // b leaves: the group is empty.
  auto left = g.heartbeat(hb("b", -1, std::nullopt), catalog(4), 45012);
  EXPECT_EQ(left.member_epoch, -1);
  EXPECT_TRUE(g.empty());
}

TEST(ConsumerGroupReconcile, StaticMemberRejoinsWithoutRebalance) {
  ConsumerGroup g("g", ConsumerGroupConfig{});
  auto ra = g.heartbeat(join_hb("a", "inst-a"), catalog(4), 0);
  g.heartbeat(join_hb("b"), catalog(4), 0);
  auto r1 = g.heartbeat(hb("a", 1, *ra.assignment), catalog(4), 1);
  g.heartbeat(hb("a", 1, *r1.assignment), catalog(4), 2);
  g.heartbeat(hb("b", 2, Assignment{}), catalog(4), 3);
  ASSERT_STREQ(g.state_name(), "Stable");
  Assignment a_had = g.member("a")->assigned;
  int32_t epoch = g.group_epoch();
  auto b_before = *g.member("b");
  // a leaves as a static member (-2) and comes back under a new member id.
  auto l = g.heartbeat(hb("a", -2, std::nullopt), catalog(4), 10);
  EXPECT_EQ(l.member_epoch, -2);
  EXPECT_EQ(g.group_epoch(), epoch);
  // Another instance cannot take the id while it is held... (same instance id, new member id is fine)
  auto back = g.heartbeat(join_hb("a2", "inst-a"), catalog(4), 20);
  ASSERT_EQ(back.error, ErrorCode::NONE);
  EXPECT_EQ(back.member_epoch, 2);
  ASSERT_TRUE(back.assignment);
  EXPECT_EQ(*back.assignment, a_had);
  EXPECT_EQ(g.group_epoch(), epoch);
  EXPECT_EQ(g.member("a"), nullptr);
  EXPECT_EQ(g.member("b")->member_epoch, b_before.member_epoch);
  EXPECT_EQ(g.member("b")->assigned, b_before.assigned);
  // While a2 is active, a third process with the same instance id is refused.
  EXPECT_EQ(g.heartbeat(join_hb("a3", "inst-a"), catalog(4), 30).error, ErrorCode::UNRELEASED_INSTANCE_ID);
}

TEST(ConsumerGroupReconcile, PartitionCountChangeBumpsEpoch) {
  ConsumerGroup g("g", ConsumerGroupConfig{});
  auto r = g.heartbeat(join_hb("a"), catalog(2), 0);
  auto r2 = g.heartbeat(hb("a", 1, *r.assignment), catalog(3), 1);
  EXPECT_EQ(r2.member_epoch, 2);
  ASSERT_TRUE(r2.assignment);
  EXPECT_EQ(partition_count(*r2.assignment), 3u);
}

TEST(ConsumerGroupReconcile, RegexSubscription) {
  TopicCatalog cat = {{"orders-1", TopicMeta{tid(1), "orders-1", 2}},
                      {"orders-2", TopicMeta{tid(2), "orders-2", 1}},
                      {"other", TopicMeta{tid(3), "other", 5}},
                      {"__consumer_offsets", TopicMeta{tid(4), "__consumer_offsets", 50}}};
  ConsumerGroup g("g", ConsumerGroupConfig{});
  auto h = join_hb("a");
  h.subscribed_topic_names.reset();
  h.subscribed_topic_regex = "orders-.*";
  auto r = g.heartbeat(h, cat, 0);
  ASSERT_EQ(r.error, ErrorCode::NONE);
  EXPECT_EQ(partition_count(*r.assignment), 3u);
  EXPECT_FALSE(match_topic_regex("(unclosed", cat));
  EXPECT_EQ(match_topic_regex(".*", cat)->size(), 3u);  // never internal topics
  h.subscribed_topic_regex = "(unclosed";
  EXPECT_EQ(g.heartbeat(h, cat, 1).error, ErrorCode::INVALID_REGULAR_EXPRESSION);
}

TEST(ConsumerGroupRecords, ReplayRestoresTheGroup) {
  ConsumerGroup g("g", ConsumerGroupConfig{});
  auto ra = g.heartbeat(join_hb("a", "inst-a"), catalog(4), 0);
  g.heartbeat(join_hb("b"), catalog(4), 0);
  g.heartbeat(hb("a", 1, *ra.assignment), catalog(4), 1);  // a now revokes two partitions
  auto recs = consumer_group_records(g, {"gone"});
  // Tombstones for the member that left, then members, target, epochs.
  ASSERT_FALSE(recs.empty());
  EXPECT_FALSE(recs[0].value);
  auto k = decode_consumer_key(recs[0].key);
  ASSERT_TRUE(k);
  EXPECT_EQ(k->type, 8);
  EXPECT_EQ(k->member, "gone");
  // Key layout: int16 type, then int16-length strings (Kafka's coordinator keys).
  auto k3 = recs.back().key;
  EXPECT_EQ(k3, (std::vector<uint8_t>{0, 3, 0, 1, 'g'}));
  ConsumerGroup back("g", ConsumerGroupConfig{});
  for (auto& r : recs) {
    auto key = decode_consumer_key(r.key);
    ASSERT_TRUE(key);
    std::optional<std::span<const uint8_t>> v;
    if (r.value) v = std::span<const uint8_t>(*r.value);
    ASSERT_TRUE(apply_consumer_record(back, *key, v, 100)) << key->type;
  }
  EXPECT_EQ(back.group_epoch(), g.group_epoch());
  EXPECT_EQ(back.assignment_epoch(), g.assignment_epoch());
  EXPECT_EQ(back.target(), g.target());
  EXPECT_EQ(back.subscribed_topics(), g.subscribed_topics());
  ASSERT_EQ(back.members().size(), 2u);
  for (auto& [id, m] : g.members()) {
    auto* r = back.member(id);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->member_epoch, m.member_epoch);
    EXPECT_EQ(r->previous_member_epoch, m.previous_member_epoch);
    EXPECT_EQ(r->state, m.state);
    EXPECT_EQ(r->assigned, m.assigned);
    EXPECT_EQ(r->pending_revocation, m.pending_revocation);
    EXPECT_EQ(r->instance_id, m.instance_id);
    EXPECT_EQ(r->subscribed_topic_names, m.subscribed_topic_names);
  }
  // The restored group goes on: a heartbeat at the recorded epoch is accepted.
  EXPECT_EQ(back.heartbeat(hb("b", g.member("b")->member_epoch, std::nullopt), catalog(4), 200).error, ErrorCode::NONE);
  // Truncated values are refused, not crashed on.
  for (auto& r : recs)
    if (r.value && r.value->size() > 3) {
      std::vector<uint8_t> cut(r.value->begin(), r.value->begin() + 3);
      ConsumerGroup x("g", ConsumerGroupConfig{});
      auto key = decode_consumer_key(r.key);
      EXPECT_FALSE(apply_consumer_record(x, *key, std::span<const uint8_t>(cut), 0)) << key->type;
    }
}

// The heartbeat response's assignment is a nullable struct: int8 -1 (null, "unchanged") or 1
// followed by the struct (Kafka's encoding of nullable structs).
TEST(ConsumerGroupWire, NullableAssignment) {
  protocol::ConsumerGroupHeartbeatResponse r;
  r.member_id = "m";
  r.member_epoch = 3;
  r.heartbeat_interval_ms = 5000;
  protocol::Writer w;
  r.encode(w, 0);
  // throttle(4) error(2) message(1: null) member id(2) epoch(4) interval(4), then the marker
  ASSERT_GE(w.size(), 18u);
  EXPECT_EQ(w.buffer()[17], 0xff);
  protocol::ConsumerGroupHeartbeatResponse back;
  protocol::Reader rd(w.buffer());
  back.decode(rd, 0);
  ASSERT_TRUE(rd.ok());
  EXPECT_EQ(back, r);
  auto& a = r.assignment.emplace();
  auto& tp = a.topic_partitions.emplace_back();
  tp.topic_id = tid(7);
  tp.partitions = {0, 2};
  protocol::Writer w2;
  r.encode(w2, 1);
  EXPECT_EQ(w2.buffer()[17], 1);
  protocol::ConsumerGroupHeartbeatResponse back2;
  protocol::Reader rd2(w2.buffer());
  back2.decode(rd2, 1);
  ASSERT_TRUE(rd2.ok());
  EXPECT_EQ(back2, r);
  EXPECT_EQ(rd2.remaining(), 0u);
}

}  // namespace
}  // namespace samsa::coordinator
