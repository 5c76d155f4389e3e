// The classic group state machine driven with a fake clock.
#include <gtest/gtest.h>

#include <deque>

#include "coordinator/group.h"
#include "coordinator/placement.h"

namespace samsa::coordinator {
namespace {

struct Joined {
  bool done = false;
  JoinResult r;
};
struct Synced {
  bool done = false;
  SyncResult r;
};

JoinParams params(const std::string& member_id, std::vector<std::string> protocols = {"range"}) {
  JoinParams p;
  p.member_id = member_id;
  p.client_id = "c";
  p.client_host = "/127.0.0.1";
  p.session_timeout_ms = 10000;
  p.rebalance_timeout_ms = 30000;
  p.protocol_type = "consumer";
  for (auto& n : protocols) p.protocols.emplace_back(n, Bytes{uint8_t(n.size())});
  p.require_known_member_id = true;
  return p;
}

class GroupTest : public ::testing::Test {
 protected:
  GroupConfig config() {
    GroupConfig c;
    c.initial_rebalance_delay_ms = 0;
    return c;
  }
  Group g{"g", config()};
  int64_t now = 1000;

  Joined* join(const JoinParams& p) {
    auto* j = &joins.emplace_back();
    g.join(p, now, [j](JoinResult r) {
      j->done = true;
      j->r = std::move(r);
    });
    return j;
  }
  // Two-step join of a new member (MEMBER_ID_REQUIRED, then with the id).
  Joined* join_new(std::vector<std::string> protocols = {"range"}) {
    auto* first = join(params("", protocols));
    EXPECT_TRUE(first->done);
    EXPECT_EQ(first->r.error, ErrorCode::MEMBER_ID_REQUIRED);
    return join(params(first->r.member_id, protocols));
  }
  Synced* sync(const std::string& id, int32_t gen, std::map<std::string, Bytes> a = {},
               std::optional<std::string> instance = std::nullopt) {
    auto* s = &syncs.emplace_back();
    g.sync(id, instance, gen, std::nullopt, std::nullopt, std::move(a), now, [s](SyncResult r) {
      s->done = true;
      s->r = std::move(r);
    });
    return s;
  }
  std::deque<Joined> joins;
  std::deque<Synced> syncs;
};

TEST(GroupPlacement, JavaHashCodeMatchesJava) {
  EXPECT_EQ(java_string_hashcode(""), 0);
  EXPECT_EQ(java_string_hashcode("a"), 97);
  EXPECT_EQ(java_string_hashcode("hello"), 99162322);
  EXPECT_EQ(java_string_hashcode("polygenelubricants"), INT32_MIN);
  EXPECT_EQ(offsets_partition_for("polygenelubricants", 50), 0);
  EXPECT_EQ(java_string_hashcode("\xc3\xa9"), 0xe9);                  // é: one UTF-16 unit
  EXPECT_EQ(java_string_hashcode("\xf0\x9f\x98\x80"), 0xd83d * 31 + 0xde00);  // U+1F600: a surrogate pair
  // A negative hash: abs before the modulo.
  ASSERT_LT(java_string_hashcode("my-group"), 0);
  EXPECT_EQ(offsets_partition_for("my-group", 50), -(java_string_hashcode("my-group") % 50));
}

TEST_F(GroupTest, SingleMemberJoinsSyncsAndHeartbeats) {
  auto* j = join_new();
  ASSERT_TRUE(j->done);
  EXPECT_EQ(j->r.error, ErrorCode::NONE);
  EXPECT_EQ(j->r.generation, 1);
  EXPECT_EQ(j->r.leader, j->r.member_id);
  EXPECT_EQ(j->r.protocol_name, "range");
  ASSERT_EQ(j->r.members.size(), 1u);
  EXPECT_EQ(g.state(), GroupState::CompletingRebalance);
  auto id = j->r.member_id;
  EXPECT_EQ(g.heartbeat(id, std::nullopt, 1, now), ErrorCode::NONE);
  EXPECT_EQ(g.heartbeat(id, std::nullopt, 0, now), ErrorCode::ILLEGAL_GENERATION);
  EXPECT_EQ(g.heartbeat("nobody", std::nullopt, 1, now), ErrorCode::UNKNOWN_MEMBER_ID);
  auto* s = sync(id, 1, {{id, Bytes{1, 2, 3}}});
  ASSERT_TRUE(s->done);
  EXPECT_EQ(s->r.error, ErrorCode::NONE);
  EXPECT_EQ(s->r.assignment, (Bytes{1, 2, 3}));
  EXPECT_EQ(g.state(), GroupState::Stable);
  EXPECT_EQ(g.validate_commit(id, std::nullopt, 1), ErrorCode::NONE);
  EXPECT_EQ(g.validate_commit("", std::nullopt, -1), ErrorCode::UNKNOWN_MEMBER_ID);
}

TEST_F(GroupTest, SecondMemberTriggersRebalanceAndFollowerWaitsForLeader) {
  auto* a = join_new();
  auto ida = a->r.member_id;
  sync(ida, 1, {{ida, Bytes{1}}});
  ASSERT_EQ(g.state(), GroupState::Stable);
  auto* b = join_new();
  EXPECT_FALSE(b->done);
  EXPECT_EQ(g.state(), GroupState::PreparingRebalance);
  EXPECT_EQ(g.heartbeat(ida, std::nullopt, 1, now), ErrorCode::REBALANCE_IN_PROGRESS);
  auto* a2 = join(params(ida));
  ASSERT_TRUE(a2->done && b->done);
  EXPECT_EQ(a2->r.generation, 2);
  EXPECT_EQ(a2->r.leader, ida);
  EXPECT_EQ(a2->r.members.size(), 2u);
  EXPECT_TRUE(b->r.members.empty());
  auto idb = b->r.member_id;
  auto* sb = sync(idb, 2);
  EXPECT_FALSE(sb->done);
  auto* sa = sync(ida, 2, {{ida, Bytes{1}}, {idb, Bytes{2}}});
  ASSERT_TRUE(sa->done && sb->done);
  EXPECT_EQ(sb->r.assignment, Bytes{2});
  EXPECT_EQ(g.state(), GroupState::Stable);
}

TEST_F(GroupTest, MemberMissingSessionTimeoutIsRemoved) {
  auto* a = join_new();
  auto ida = a->r.member_id;
  sync(ida, 1, {});
  auto* b = join_new();
  join(params(ida));
  auto idb = b->r.member_id;
  sync(ida, 2, {});
  sync(idb, 2, {});
  ASSERT_EQ(g.state(), GroupState::Stable);
  // Only a heartbeats; b goes silent past its 10 s session.
  for (int i = 0; i < 4; ++i) {
    now += 3000;
    EXPECT_EQ(g.heartbeat(ida, std::nullopt, 2, now), ErrorCode::NONE);
    g.tick(now);
  }
  EXPECT_FALSE(g.has_member(idb));
  EXPECT_EQ(g.state(), GroupState::PreparingRebalance);
  EXPECT_EQ(g.heartbeat(ida, std::nullopt, 2, now), ErrorCode::REBALANCE_IN_PROGRESS);
  auto* a3 = join(params(ida));
  ASSERT_TRUE(a3->done);
  EXPECT_EQ(a3->r.generation, 3);
  EXPECT_EQ(a3->r.members.size(), 1u);
}

TEST_F(GroupTest, MembersThatDoNotRejoinAreRemovedAfterRebalanceTimeout) {
  auto* a = join_new();
  auto ida = a->r.member_id;
  sync(ida, 1, {});
  auto* b = join_new();  // a must rejoin within its 30 s rebalance timeout
  EXPECT_FALSE(b->done);
  for (int i = 0; i < 31; ++i) {
    now += 1000;
    g.heartbeat(b->r.member_id, std::nullopt, 1, now);
    g.tick(now);
  }
  ASSERT_TRUE(b->done);
  EXPECT_EQ(b->r.error, ErrorCode::NONE);
  EXPECT_FALSE(g.has_member(ida));
  EXPECT_EQ(b->r.leader, b->r.member_id);
}

TEST_F(GroupTest, LeaderLeavingMidRebalance) {
  auto* a = join_new();
  auto ida = a->r.member_id;
  sync(ida, 1, {});
  auto* b = join_new();
  auto* a2 = join(params(ida));
  ASSERT_TRUE(a2->done && b->done);
  auto idb = b->r.member_id;
  auto* sb = sync(idb, 2);
  EXPECT_FALSE(sb->done);
  // The leader leaves before sending the assignment.
  EXPECT_EQ(g.leave(ida, std::nullopt, now), ErrorCode::NONE);
  ASSERT_TRUE(sb->done);
  EXPECT_EQ(sb->r.error, ErrorCode::REBALANCE_IN_PROGRESS);
  EXPECT_EQ(g.state(), GroupState::PreparingRebalance);
  auto* b2 = join(params(idb));
  ASSERT_TRUE(b2->done);
  EXPECT_EQ(b2->r.leader, idb);
  EXPECT_EQ(b2->r.generation, 3);
  EXPECT_EQ(g.leave(idb, std::nullopt, now), ErrorCode::NONE);
  EXPECT_EQ(g.state(), GroupState::Empty);
  EXPECT_EQ(g.leave(idb, std::nullopt, now), ErrorCode::UNKNOWN_MEMBER_ID);
  EXPECT_EQ(g.validate_commit("", std::nullopt, -1), ErrorCode::NONE);
  EXPECT_EQ(g.mark_dead(), ErrorCode::NONE);
}

TEST_F(GroupTest, ProtocolSelectionByVote) {
  auto* a = join_new({"roundrobin", "range"});
  auto ida = a->r.member_id;
  sync(ida, 1, {});
  auto* b = join_new({"range", "roundrobin"});
  auto* c = join_new({"range"});
  auto* a2 = join(params(ida, {"roundrobin", "range"}));
  ASSERT_TRUE(a2->done && b->done && c->done);
  EXPECT_EQ(a2->r.protocol_name, "range");  // the only protocol all support
  auto* d = join(params("", {"sticky"}));
  ASSERT_TRUE(d->done);
  EXPECT_EQ(d->r.error, ErrorCode::INCONSISTENT_GROUP_PROTOCOL);
}

TEST_F(GroupTest, InitialDelayWaitsForMoreMembers) {
  GroupConfig c;
  c.initial_rebalance_delay_ms = 3000;
  Group g2("g2", c);
  std::vector<JoinResult> results;
  auto cb = [&](JoinResult r) { results.push_back(std::move(r)); };
  auto p = params("");
  p.require_known_member_id = false;
  g2.join(p, now, cb);
  g2.join(p, now + 1000, cb);
  g2.tick(now + 3500);
  EXPECT_TRUE(results.empty());  // the second member pushed the deadline to now + 4000
  g2.tick(now + 4000);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].generation, 1);
}

TEST_F(GroupTest, StaticMemberRestartKeepsAssignmentWithoutRebalance) {
  auto p = params("");
  p.group_instance_id = "i1";
  auto* a = join(p);
  ASSERT_TRUE(a->done);
  auto ida = a->r.member_id;
  sync(ida, 1, {{ida, Bytes{7}}});
  ASSERT_EQ(g.state(), GroupState::Stable);
  auto* again = join(p);  // restarted without its member id
  ASSERT_TRUE(again->done);
  EXPECT_EQ(again->r.error, ErrorCode::NONE);
  EXPECT_EQ(again->r.generation, 1);
  EXPECT_NE(again->r.member_id, ida);
  EXPECT_EQ(g.state(), GroupState::Stable);
  EXPECT_EQ(g.heartbeat(ida, std::nullopt, 1, now), ErrorCode::UNKNOWN_MEMBER_ID);
  auto* s = sync(again->r.member_id, 1);
  ASSERT_TRUE(s->done);
  EXPECT_EQ(s->r.assignment, Bytes{7});
}

TEST_F(GroupTest, JoinStormOfHundredMembers) {
  std::vector<std::string> ids;
  for (int i = 0; i < 100; ++i) {
    auto* j = join(params(""));
    ids.push_back(j->r.member_id);
  }
  std::vector<Joined*> pending;
  for (auto& id : ids) pending.push_back(join(params(id)));
  for (auto* j : pending) ASSERT_TRUE(j->done);
  EXPECT_EQ(g.member_count(), 100u);
  EXPECT_EQ(g.generation(), 1);
  EXPECT_EQ(g.state(), GroupState::CompletingRebalance);
}

TEST_F(GroupTest, SessionTimeoutBoundsMaxSizeAndFencedInstances) {
  auto p = params("");
  p.session_timeout_ms = 1000;  // below group.min.session.timeout.ms (6000)
  EXPECT_EQ(join(p)->r.error, ErrorCode::INVALID_SESSION_TIMEOUT);
  GroupConfig c;
  c.initial_rebalance_delay_ms = 0;
  c.max_size = 1;
  Group small("small", c);
  std::vector<JoinResult> out;
  auto q = params("");
  q.require_known_member_id = false;
  small.join(q, now, [&](JoinResult r) { out.push_back(std::move(r)); });
  small.join(q, now, [&](JoinResult r) { out.push_back(std::move(r)); });
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].error, ErrorCode::NONE);
  EXPECT_EQ(out[1].error, ErrorCode::GROUP_MAX_SIZE_REACHED);
  auto s = params("");
  s.group_instance_id = "i1";
  auto* a = join(s);
  ASSERT_EQ(a->r.error, ErrorCode::NONE);
  // An instance id nobody holds: Kafka answers UNKNOWN_MEMBER_ID (the client resets and rejoins).
  EXPECT_EQ(g.heartbeat(a->r.member_id, std::string("other"), 1, now), ErrorCode::UNKNOWN_MEMBER_ID);
  EXPECT_EQ(g.leave("", std::string("i1"), now), ErrorCode::NONE);
  EXPECT_EQ(g.state(), GroupState::Empty);
}

// ---- static membership fencing (Kafka's validateCurrentMember) -------------------------------

// A static member (instance "i1") that another process replaced by joining
// with the same instance id and no member id.
class StaticFencingTest : public GroupTest {
 protected:
  void SetUp() override {
    auto p = params("");
    p.group_instance_id = "i1";
    auto* a = join(p);
    ASSERT_EQ(a->r.error, ErrorCode::NONE);
    old_id = a->r.member_id;
    sync(old_id, 1, {{old_id, Bytes{7}}}, i1);
    ASSERT_EQ(g.state(), GroupState::Stable);
    auto* b = join(p);  // the replacement
    ASSERT_EQ(b->r.error, ErrorCode::NONE);
    new_id = b->r.member_id;
    ASSERT_NE(new_id, old_id);
  }
  std::optional<std::string> i1 = std::string("i1");
  std::string old_id, new_id;
};

TEST_F(StaticFencingTest, ReplacedMemberIsFencedOnEveryApi) {
  EXPECT_EQ(g.heartbeat(old_id, i1, 1, now), ErrorCode::FENCED_INSTANCE_ID);
  auto* s = sync(old_id, 1, {}, i1);
  ASSERT_TRUE(s->done);
  EXPECT_EQ(s->r.error, ErrorCode::FENCED_INSTANCE_ID);
  EXPECT_EQ(g.validate_commit(old_id, i1, 1), ErrorCode::FENCED_INSTANCE_ID);
  EXPECT_EQ(g.validate_commit(old_id, i1, 1, /*transactional=*/true), ErrorCode::FENCED_INSTANCE_ID);
  auto rejoin = params(old_id);
  rejoin.group_instance_id = i1;
  auto* j = join(rejoin);
  ASSERT_TRUE(j->done);
  EXPECT_EQ(j->r.error, ErrorCode::FENCED_INSTANCE_ID);
  EXPECT_EQ(g.leave(old_id, i1, now), ErrorCode::FENCED_INSTANCE_ID);
  // None of that disturbed the replacement: same generation, no rebalance.
  EXPECT_EQ(g.state(), GroupState::Stable);
  EXPECT_EQ(g.member_count(), 1u);
  EXPECT_EQ(g.heartbeat(new_id, i1, 1, now), ErrorCode::NONE);
  EXPECT_EQ(g.validate_commit(new_id, i1, 1), ErrorCode::NONE);
  auto* ns = sync(new_id, 1, {}, i1);
  ASSERT_TRUE(ns->done);
  EXPECT_EQ(ns->r.error, ErrorCode::NONE);
  EXPECT_EQ(ns->r.assignment, Bytes{7});
}

TEST_F(StaticFencingTest, InstanceIdIsCheckedBeforeTheMemberId) {
  // Any member id other than the holder's, known or not, is fenced for that instance id.
  EXPECT_EQ(g.heartbeat("nobody", i1, 1, now), ErrorCode::FENCED_INSTANCE_ID);
  EXPECT_EQ(g.heartbeat("", i1, 1, now), ErrorCode::FENCED_INSTANCE_ID);
  EXPECT_EQ(g.validate_commit("nobody", i1, 99), ErrorCode::FENCED_INSTANCE_ID);  // before the generation
  // An instance id nobody holds: unknown member, whatever the member id.
  EXPECT_EQ(g.heartbeat(new_id, std::string("i2"), 1, now), ErrorCode::UNKNOWN_MEMBER_ID);
  // Without an instance id only the member id counts.
  EXPECT_EQ(g.heartbeat(old_id, std::nullopt, 1, now), ErrorCode::UNKNOWN_MEMBER_ID);
  EXPECT_EQ(g.heartbeat(new_id, std::nullopt, 1, now), ErrorCode::NONE);
  EXPECT_EQ(g.heartbeat(new_id, i1, 0, now), ErrorCode::ILLEGAL_GENERATION);
}

TEST_F(StaticFencingTest, LeaveByInstanceIdRemovesWhoeverHoldsIt) {
  // LeaveGroup v3+ members[] entry with only the instance id (an admin removing the member).
  EXPECT_EQ(g.leave("", i1, now), ErrorCode::NONE);
  EXPECT_EQ(g.member_count(), 0u);
  EXPECT_EQ(g.state(), GroupState::Empty);
  EXPECT_EQ(g.leave("", i1, now), ErrorCode::UNKNOWN_MEMBER_ID);
  EXPECT_EQ(g.leave("", std::nullopt, now), ErrorCode::UNKNOWN_MEMBER_ID);
  // The fenced member cannot commit into the emptied group under its old generation either.
  EXPECT_EQ(g.validate_commit(old_id, i1, 1), ErrorCode::UNKNOWN_MEMBER_ID);
}

TEST_F(GroupTest, StaticReplacementDuringRebalanceFencesTheWaitingSync) {
  auto* leader = join_new();  // a dynamic leader
  auto lid = leader->r.member_id;
  sync(lid, 1, {{lid, Bytes{1}}});
  auto p = params("");
  p.group_instance_id = "i1";
  auto* follower = join(p);  // a static follower starts a rebalance
  EXPECT_FALSE(follower->done);
  join(params(lid));
  ASSERT_TRUE(follower->done);
  ASSERT_EQ(g.state(), GroupState::CompletingRebalance);
  auto fid = follower->r.member_id;
  auto* waiting = sync(fid, 2, {}, std::string("i1"));
  EXPECT_FALSE(waiting->done);  // waits for the leader's assignment
  auto* third = join(p);         // another process takes the instance id over
  ASSERT_TRUE(waiting->done);
  EXPECT_EQ(waiting->r.error, ErrorCode::FENCED_INSTANCE_ID);
  EXPECT_EQ(g.heartbeat(fid, std::string("i1"), 2, now), ErrorCode::FENCED_INSTANCE_ID);
  EXPECT_FALSE(third->done);  // it joins the new rebalance
  EXPECT_EQ(g.state(), GroupState::PreparingRebalance);
}

TEST_F(GroupTest, PendingMemberCannotClaimAnInstanceId) {
  auto* first = join(params(""));
  ASSERT_EQ(first->r.error, ErrorCode::MEMBER_ID_REQUIRED);
  auto p = params(first->r.member_id);
  p.group_instance_id = "i1";
  auto* j = join(p);
  ASSERT_TRUE(j->done);
  EXPECT_EQ(j->r.error, ErrorCode::UNKNOWN_MEMBER_ID);
  EXPECT_EQ(g.member_count(), 0u);
  EXPECT_FALSE(g.has_pending_members());
}

TEST_F(GroupTest, CommitsWithoutGenerationFollowKafka) {
  // Generation -1 in an Empty group: an admin or a manual-assignment consumer, whatever ids it sends.
  EXPECT_EQ(g.validate_commit("", std::nullopt, -1), ErrorCode::NONE);
  EXPECT_EQ(g.validate_commit("m", std::string("i9"), -1), ErrorCode::NONE);
  auto* j = join_new();
  auto id = j->r.member_id;
  sync(id, 1, {{id, Bytes{1}}});
  ASSERT_EQ(g.state(), GroupState::Stable);
  EXPECT_EQ(g.validate_commit("", std::nullopt, -1), ErrorCode::UNKNOWN_MEMBER_ID);
  // TxnOffsetCommit before v3 names no member: not checked against the group.
  EXPECT_EQ(g.validate_commit("", std::nullopt, -1, /*transactional=*/true), ErrorCode::NONE);
  EXPECT_EQ(g.validate_commit("other", std::nullopt, 1, /*transactional=*/true), ErrorCode::UNKNOWN_MEMBER_ID);
}

}  // namespace
}  // namespace samsa::coordinator
