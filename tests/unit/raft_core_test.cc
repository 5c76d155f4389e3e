// Focused tests of the Raft core's rules: elections (pre-vote, one vote per
// epoch, the log up-to-date check), stepping down on a higher epoch,
// divergence and truncation, the high watermark, resignation, restarts,
// observers, and malformed or stale input.
#include <gtest/gtest.h>

#include "raft_test_util.h"

namespace samsa::raft {
namespace {

TEST(RaftCore, SingleVoterElectsItselfAndCommitsOnSync) {
  TestNode n(1, 1);
  EXPECT_EQ(n.core->role(), Role::kUnattached);
  n.core->tick(2000);  // past any randomised election timeout
  n.step();
  EXPECT_EQ(n.core->role(), Role::kLeader);
  EXPECT_EQ(n.core->epoch(), Epoch(1));
  ASSERT_TRUE(n.out.persist);
  EXPECT_EQ(n.out.persist->leader_id, NodeId(1));
  EXPECT_TRUE(n.out.sync_log);
  ASSERT_EQ(n.log.entries().size(), 1u);
  EXPECT_TRUE(n.log.entries()[0].control);  // the LeaderChange batch
  EXPECT_FALSE(n.core->high_watermark());   // not durable yet
  n.log.sync();
  n.core->on_log_synced(2001);
  n.step();
  EXPECT_EQ(n.out.high_watermark, Offset(1));

  auto r = n.core->propose(bytes("a"), 3, 2002);
  EXPECT_EQ(r.error, ErrorCode::NONE);
  EXPECT_EQ(r.base_offset, Offset(1));
  EXPECT_EQ(r.last_offset, Offset(3));
  EXPECT_EQ(r.epoch, Epoch(1));
  n.step();
  EXPECT_TRUE(n.out.sync_log);
  EXPECT_FALSE(n.out.high_watermark);
  n.log.sync();
  n.core->on_log_synced(2003);
  n.step();
  EXPECT_EQ(n.out.high_watermark, Offset(4));
  auto committed = n.core->read_committed(Offset(0), 10);
  ASSERT_EQ(committed.size(), 2u);
  EXPECT_TRUE(committed[0].control);
  EXPECT_EQ(committed[1].data, bytes("a"));
  EXPECT_TRUE(n.core->read_committed(Offset(4), 10).empty());
  auto replicas = n.core->replica_states();
  ASSERT_EQ(replicas.size(), 1u);
  EXPECT_EQ(replicas[0].log_end_offset, Offset(4));
}

TEST(RaftCore, ThreeVotersElectOneLeaderThroughPreVote) {
  Cluster c(3);
  int leader = c.elect_leader();
  ASSERT_NE(leader, -1);
  for (auto& node : c.nodes) {
    EXPECT_EQ(node->core->epoch(), Epoch(1)) << "pre-vote rounds bump no epoch; the one real election does";
    EXPECT_EQ(node->core->leader().leader, NodeId(leader));
  }
  // The LeaderChange batch is on every node and committed.
  for (auto& node : c.nodes) {
    EXPECT_EQ(node->log.end_offset(), Offset(1));
  }
  EXPECT_EQ(c.n(leader).core->high_watermark(), Offset(1));
  auto r = c.n(leader).core->propose(bytes("v"), 1, c.now);
  ASSERT_EQ(r.error, ErrorCode::NONE);
  c.settle();
  EXPECT_EQ(c.n(leader).core->high_watermark(), Offset(2));
  // Followers learn the high watermark from the next fetch response.
  for (auto& node : c.nodes) EXPECT_EQ(node->core->high_watermark(), Offset(2)) << node->core->local_id();
  // Propose on a follower: not the leader.
  int follower = leader == 1 ? 2 : 1;
  EXPECT_EQ(c.n(follower).core->propose(bytes("w"), 1, c.now).error, ErrorCode::NOT_LEADER_OR_FOLLOWER);
}

TEST(RaftCore, OneVotePerEpochPersistedBeforeTheGrant) {
  TestNode n(1, 3);
  n.core->handle(msg(2, 1, VoteRequest{Epoch(1), NodeId(2), Epoch(0), Offset(0), false}), 10);
  n.step();
  ASSERT_TRUE(n.out.persist);
  EXPECT_EQ(n.out.persist->voted_id, NodeId(2));
  EXPECT_EQ(n.out.persist->leader_epoch, Epoch(1));
  auto* grant = find_sent<VoteResponse>(n.out, 2);
  ASSERT_TRUE(grant);
  EXPECT_TRUE(grant->vote_granted);
  QuorumStateData saved = *n.out.persist;

  n.core->handle(msg(3, 1, VoteRequest{Epoch(1), NodeId(3), Epoch(0), Offset(5), false}), 11);
  n.step();
  auto* second = find_sent<VoteResponse>(n.out, 3);
  ASSERT_TRUE(second);
  EXPECT_FALSE(second->vote_granted) << "a second candidate in the same epoch";
  EXPECT_FALSE(n.out.persist);

  n.core->handle(msg(2, 1, VoteRequest{Epoch(1), NodeId(2), Epoch(0), Offset(0), false}), 12);
  n.step();
  EXPECT_TRUE(find_sent<VoteResponse>(n.out, 2)->vote_granted) << "a retried request of the same candidate";

  // After a restart the vote is remembered.
  TestNode restarted(1, 3, saved, 20);
  restarted.core->handle(msg(3, 1, VoteRequest{Epoch(1), NodeId(3), Epoch(0), Offset(5), false}), 21);
  restarted.step();
  EXPECT_FALSE(find_sent<VoteResponse>(restarted.out, 3)->vote_granted);
}

TEST(RaftCore, VoteRequiresALogAtLeastAsUpToDate) {
  TestNode n(1, 3);
  ASSERT_TRUE(n.log.append(entry(0, 1)));
  ASSERT_TRUE(n.log.append(entry(1, 2)));
  // Same last epoch, shorter log: rejected (the epoch is adopted all the same).
  n.core->handle(msg(2, 1, VoteRequest{Epoch(3), NodeId(2), Epoch(2), Offset(1), false}), 1);
  n.step();
  EXPECT_FALSE(find_sent<VoteResponse>(n.out, 2)->vote_granted);
  EXPECT_EQ(n.core->epoch(), Epoch(3));
  EXPECT_FALSE(n.core->voted_id());
  // Older last epoch, longer log: rejected.
  n.core->handle(msg(3, 1, VoteRequest{Epoch(3), NodeId(3), Epoch(1), Offset(9), false}), 2);
  n.step();
  EXPECT_FALSE(find_sent<VoteResponse>(n.out, 3)->vote_granted);
  // Newer last epoch, shorter log: granted.
  n.core->handle(msg(3, 1, VoteRequest{Epoch(3), NodeId(3), Epoch(3), Offset(1), false}), 3);
  n.step();
  EXPECT_TRUE(find_sent<VoteResponse>(n.out, 3)->vote_granted);
  // A lower epoch is fenced.
  n.core->handle(msg(2, 1, VoteRequest{Epoch(2), NodeId(2), Epoch(2), Offset(9), false}), 4);
  n.step();
  EXPECT_EQ(find_sent<VoteResponse>(n.out, 2)->error, ErrorCode::FENCED_LEADER_EPOCH);
}

TEST(RaftCore, PreVoteChangesNothingOnTheVoter) {
  TestNode n(1, 3);
  n.core->handle(msg(2, 1, VoteRequest{Epoch(0), NodeId(2), Epoch(0), Offset(0), true}), 1);
  n.step();
  auto* r = find_sent<VoteResponse>(n.out, 2);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->vote_granted);
  EXPECT_TRUE(r->pre_vote);
  EXPECT_EQ(n.core->epoch(), Epoch(0));
  EXPECT_FALSE(n.core->voted_id());
  EXPECT_FALSE(n.out.persist);
  // A real vote is still free.
  n.core->handle(msg(3, 1, VoteRequest{Epoch(1), NodeId(3), Epoch(0), Offset(0), false}), 2);
  n.step();
  EXPECT_TRUE(find_sent<VoteResponse>(n.out, 3)->vote_granted);
}

TEST(RaftCore, AFollowerOfALiveLeaderRejectsPreVotesSoARejoiningNodeCannotDisrupt) {
  Cluster c(3);
  int leader = c.elect_leader();
  ASSERT_NE(leader, -1);
  Epoch epoch = c.n(leader).core->epoch();
  int rejoining = leader == 3 ? 2 : 3;
  // The rejoining node has been cut off long enough to time out: it becomes prospective.
  c.blocked.insert(rejoining);
  c.run_for(5000);
  EXPECT_EQ(c.n(rejoining).core->role(), Role::kProspective);
  c.blocked.clear();
  // Its next pre-vote round reaches voters that hear from the leader: they
  // refuse and name the leader, and it follows.
  c.run_for(5000);
  EXPECT_EQ(c.leader(), leader);
  EXPECT_EQ(c.n(leader).core->epoch(), epoch) << "the healthy leader keeps its epoch";
  EXPECT_EQ(c.n(rejoining).core->role(), Role::kFollower);
  EXPECT_EQ(c.n(rejoining).core->leader().leader, NodeId(leader));
}

TEST(RaftCore, LeaderStepsDownOnAHigherEpoch) {
  Cluster c(3);
  int leader = c.elect_leader();
  TestNode& l = c.n(leader);
  int other = leader == 1 ? 2 : 1;
  l.core->handle(msg(other, leader, VoteRequest{l.core->epoch() + 5, NodeId(other), Epoch(0), Offset(0), false}), c.now);
  l.step();
  EXPECT_EQ(l.core->role(), Role::kUnattached);
  EXPECT_EQ(l.core->epoch(), Epoch(6));
  ASSERT_TRUE(l.out.persist);
  EXPECT_EQ(l.out.persist->leader_epoch, Epoch(6));
  EXPECT_FALSE(find_sent<VoteResponse>(l.out, other)->vote_granted) << "its log is longer than the candidate's";
  EXPECT_EQ(l.core->propose(bytes("late"), 1, c.now).error, ErrorCode::NOT_LEADER_OR_FOLLOWER);

  // BeginQuorumEpoch of a higher epoch makes it a follower of that leader.
  l.core->handle(msg(other, leader, BeginQuorumEpochRequest{NodeId(other), Epoch(7)}), c.now);
  l.step();
  EXPECT_EQ(l.core->role(), Role::kFollower);
  EXPECT_EQ(l.core->leader().leader, NodeId(other));
  EXPECT_TRUE(find_sent<FetchRequest>(l.out, other));
}

TEST(RaftCore, DivergingFollowerTruncatesToTheLeadersEpochEnd) {
  // Leader 1 of epoch 3 over e1 [0,2); its LeaderChange lands at 2.
  TestNode leader(1, 3);
  ASSERT_TRUE(leader.log.append(entry(0, 1)));
  ASSERT_TRUE(leader.log.append(entry(1, 1)));
  leader.log.sync();
  elect(leader, 2);
  ASSERT_EQ(leader.core->role(), Role::kLeader);
  ASSERT_EQ(leader.core->epoch(), Epoch(3));
  EXPECT_EQ(leader.log.end_offset(), Offset(3));

  // The follower has e1 [0,2) and two e2 entries the leader never had.
  MemoryRaftLog flog;
  ASSERT_TRUE(flog.append(entry(0, 1)));
  ASSERT_TRUE(flog.append(entry(1, 1)));
  ASSERT_TRUE(flog.append(entry(2, 2, "stale")));
  ASSERT_TRUE(flog.append(entry(3, 2, "stale")));
  flog.sync();
  leader.core->handle(msg(2, 1, FetchRequest{NodeId(2), Epoch(3), Offset(4), Epoch(2), 0}, 9), 5003);
  leader.step();
  auto* resp = find_sent<FetchResponse>(leader.out, 2);
  ASSERT_TRUE(resp);
  ASSERT_TRUE(resp->diverging_epoch);
  EXPECT_EQ(resp->diverging_epoch->epoch, Epoch(1));
  EXPECT_EQ(resp->diverging_epoch->end_offset, Offset(2));
  EXPECT_EQ(leader.core->high_watermark(), std::nullopt) << "a diverging fetch acknowledges nothing";

  // The follower side: it truncates and fetches again from the common point.
  Random frng(2);
  RaftCore follower(config(2, 3), flog, frng, QuorumStateData{Epoch(3), NodeId(1), std::nullopt, {}, "", 0, 0}, 5000);
  Output fo = follower.take_output();
  auto* first = find_sent<FetchRequest>(fo, 1);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->fetch_offset, Offset(4));
  EXPECT_EQ(first->last_fetched_epoch, Epoch(2));
  follower.handle(Message{NodeId(1), NodeId(2), fo.messages[0].correlation_id, *resp}, 5004);
  fo = follower.take_output();
  EXPECT_EQ(flog.end_offset(), Offset(2));
  auto* again = find_sent<FetchRequest>(fo, 1);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->fetch_offset, Offset(2));
  EXPECT_EQ(again->last_fetched_epoch, Epoch(1));

  leader.core->handle(Message{NodeId(2), NodeId(1), fo.messages[0].correlation_id, *again}, 5005);
  leader.step();
  auto* data = find_sent<FetchResponse>(leader.out, 2);
  ASSERT_TRUE(data);
  ASSERT_EQ(data->records.size(), 1u);
  EXPECT_TRUE(data->records[0].control);
  EXPECT_EQ(data->records[0].epoch, Epoch(3));
}


TEST(RaftCore, AConflictingLeaderClaimIsRefusedAndChangesNothing) {
  Cluster c(3);
  int leader = c.elect_leader();
  ASSERT_NE(leader, -1);
  int other = leader == 1 ? 2 : 1;
  Epoch e = c.n(leader).core->epoch();
  // `other` claims the same epoch: the leader and the third node refuse it.
  for (int to = 1; to <= 3; ++to) {
    if (to == other) continue;
    TestNode& n = c.n(to);
    n.core->handle(msg(other, to, BeginQuorumEpochRequest{NodeId(other), e}), c.now);
    n.step();
    auto* r = find_sent<QuorumEpochResponse>(n.out, other);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->error, ErrorCode::INVALID_REQUEST);
    EXPECT_EQ(n.core->leader().leader, NodeId(leader));
    EXPECT_FALSE(n.core->failed());
  }
}

TEST(RaftCore, LeaderChangesAreNotifiedOnceAndTimeNeverGoesBack) {
  TestNode n(1, 3);
  n.core->handle(msg(2, 1, BeginQuorumEpochRequest{NodeId(2), Epoch(4)}), 100);
  n.step();
  ASSERT_TRUE(n.out.leader);
  EXPECT_EQ(*n.out.leader, (LeaderAndEpoch{NodeId(2), Epoch(4)}));
  n.core->handle(msg(2, 1, BeginQuorumEpochRequest{NodeId(2), Epoch(4)}), 101);  // a duplicate
  n.step();
  EXPECT_FALSE(n.out.leader);
  EXPECT_FALSE(n.out.persist);
  // A clock reading from the past counts as no time passing: no timeout fires.
  n.core->tick(50);
  n.step();
  EXPECT_EQ(n.core->role(), Role::kFollower);
  n.core->tick(100 + 2000);  // controller.quorum.fetch.timeout.ms without a word from the leader
  n.step();
  EXPECT_EQ(n.core->role(), Role::kProspective);
  ASSERT_TRUE(n.out.leader);
  EXPECT_EQ(*n.out.leader, (LeaderAndEpoch{std::nullopt, Epoch(4)}));
}

}  // namespace
}  // namespace samsa::raft
