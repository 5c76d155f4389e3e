// The Raft core's replication rules: the high watermark (a majority of
// durable fetch offsets, and only once an entry of the current epoch is among
// them), resignation with EndQuorumEpoch, a restarted leader never leading
// its old epoch, observers, and stale or malformed input.
#include <gtest/gtest.h>

#include "raft_test_util.h"

namespace samsa::raft {
namespace {

// The leader's fetch answer to `from` (a FetchRequest it was just handed).
FetchResponse fetch(TestNode& leader, int from, int64_t offset, int32_t last_epoch, uint64_t id = 7,
                    int64_t now = 5000, int64_t max_wait = 0) {
  leader.core->handle(msg(from, leader.core->local_id().value,
                          FetchRequest{NodeId(from), leader.core->epoch(), Offset(offset), Epoch(last_epoch), max_wait}, id),
                      now);
  leader.step();
  auto* r = find_sent<FetchResponse>(leader.out, from);
  return r ? *r : FetchResponse{ErrorCode::UNKNOWN_SERVER_ERROR};
}

TEST(RaftReplication, HighWatermarkNeedsAnEntryOfTheCurrentEpochOnAMajority) {
  // Leader of epoch 3 over two entries of epoch 1 (never known committed).
  TestNode leader(1, 3);
  ASSERT_TRUE(leader.log.append(entry(0, 1)));
  ASSERT_TRUE(leader.log.append(entry(1, 1)));
  leader.log.sync();
  elect(leader, 2);
  ASSERT_EQ(leader.core->role(), Role::kLeader);
  leader.log.sync();
  leader.core->on_log_synced(5000);
  leader.step();
  EXPECT_FALSE(leader.out.high_watermark) << "alone it is no majority";

  // Follower 2 has the old entries durably: a majority holds offset 2, but
  // those are epoch-1 entries: nothing commits yet.
  FetchResponse r = fetch(leader, 2, 2, 1);
  EXPECT_EQ(r.error, ErrorCode::NONE);
  EXPECT_FALSE(leader.core->high_watermark());
  EXPECT_EQ(r.high_watermark, Offset(-1));
  ASSERT_EQ(r.records.size(), 1u);  // the LeaderChange batch
  // Once it holds the LeaderChange batch too, everything up to it commits.
  r = fetch(leader, 2, 3, 3, 8);
  EXPECT_EQ(leader.core->high_watermark(), Offset(3));
  EXPECT_EQ(r.high_watermark, Offset(3)) << "the new high watermark travels in the response";

  // A duplicated, older fetch does not move the watermark back.
  fetch(leader, 2, 2, 1, 9);
  EXPECT_EQ(leader.core->high_watermark(), Offset(3));
  // Observers' fetches never count.
  auto p = leader.core->propose(bytes("a"), 1, 5001);
  ASSERT_EQ(p.error, ErrorCode::NONE);
  leader.log.sync();
  leader.core->on_log_synced(5001);
  leader.step();
  leader.core->handle(msg(9, 1, FetchRequest{NodeId(9), Epoch(3), Offset(4), Epoch(3), 0}, 10), 5002);
  leader.step();
  EXPECT_EQ(leader.core->high_watermark(), Offset(3));
  fetch(leader, 3, 4, 3, 11);
  EXPECT_EQ(leader.core->high_watermark(), Offset(4));
}

TEST(RaftReplication, FollowerHighWatermarkIsCappedByItsLog) {
  MemoryRaftLog log;
  Random rng(1);
  RaftCore f(config(2, 3), log, rng, QuorumStateData{Epoch(1), NodeId(1), std::nullopt, {}, "", 0, 0}, 0);
  Output out = f.take_output();
  ASSERT_EQ(out.messages.size(), 1u);
  FetchResponse r;
  r.leader_id = NodeId(1);
  r.leader_epoch = Epoch(1);
  r.high_watermark = Offset(10);
  r.records = {LogEntry{Offset(0), Epoch(1), 2, true, bytes("lc")}};
  f.handle(Message{NodeId(1), NodeId(2), out.messages[0].correlation_id, r}, 1);
  out = f.take_output();
  EXPECT_EQ(out.high_watermark, Offset(2));
  EXPECT_TRUE(out.sync_log);
  EXPECT_TRUE(out.messages.empty()) << "the next fetch waits for the sync: its offset claims durability";
  log.sync();
  f.on_log_synced(2);
  out = f.take_output();
  auto* next = find_sent<FetchRequest>(out, 1);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->fetch_offset, Offset(2));
}

TEST(RaftReplication, StaleDuplicatedAndMalformedResponsesAreDropped) {
  MemoryRaftLog log;
  Random rng(1);
  RaftCore f(config(2, 3), log, rng, QuorumStateData{Epoch(1), NodeId(1), std::nullopt, {}, "", 0, 0}, 0);
  Output out = f.take_output();
  uint64_t id = out.messages.at(0).correlation_id;
  FetchResponse r;
  r.leader_id = NodeId(1);
  r.leader_epoch = Epoch(1);
  r.high_watermark = Offset(0);
  // A gap (offset 1 without 0), an entry from a future epoch, a zero-record batch.
  int64_t t = 1;
  for (auto bad : {LogEntry{Offset(1), Epoch(1), 1, false, {}}, LogEntry{Offset(0), Epoch(2), 1, false, {}},
                   LogEntry{Offset(0), Epoch(1), 0, false, {}}}) {
    r.records = {bad};
    f.handle(Message{NodeId(1), NodeId(2), id, r}, t);
    out = f.take_output();
    EXPECT_EQ(log.end_offset(), Offset(0));
    t += 100;
    f.tick(t);  // retry after the backoff
    out = f.take_output();
    ASSERT_TRUE(find_sent<FetchRequest>(out, 1));
    id = out.messages.back().correlation_id;
  }
  // A good response under an old correlation id is ignored.
  r.records = {entry(0, 1)};
  f.handle(Message{NodeId(1), NodeId(2), id + 100, r}, t + 1);
  EXPECT_EQ(log.end_offset(), Offset(0));
  f.handle(Message{NodeId(1), NodeId(2), id, r}, t + 2);
  EXPECT_EQ(log.end_offset(), Offset(1));
  // Its duplicate changes nothing.
  f.handle(Message{NodeId(1), NodeId(2), id, r}, t + 3);
  EXPECT_EQ(log.end_offset(), Offset(1));
  // A response from someone who is not the leader is ignored.
  log.sync();
  f.on_log_synced(t + 4);
  out = f.take_output();
  id = out.messages.at(0).correlation_id;
  r.records = {entry(1, 1)};
  f.handle(Message{NodeId(3), NodeId(2), id, r}, t + 5);
  EXPECT_EQ(log.end_offset(), Offset(1));
}

TEST(RaftReplication, MalformedRequestsGetErrorsNotCrashes) {
  TestNode n(1, 3);
  elect(n, 0);
  ASSERT_EQ(n.core->role(), Role::kLeader);
  n.core->handle(msg(2, 1, FetchRequest{NodeId(3), Epoch(1), Offset(0), Epoch(0), 0}), 5001);  // spoofed id
  n.step();
  EXPECT_EQ(find_sent<FetchResponse>(n.out, 2)->error, ErrorCode::INVALID_REQUEST);
  n.core->handle(msg(2, 1, FetchRequest{NodeId(2), Epoch(1), Offset(-5), Epoch(0), 0}), 5002);
  n.step();
  EXPECT_EQ(find_sent<FetchResponse>(n.out, 2)->error, ErrorCode::INVALID_REQUEST);
  n.core->handle(msg(2, 1, VoteRequest{Epoch(1), NodeId(2), Epoch(9), Offset(0), false}), 5003);  // last epoch > epoch
  n.step();
  EXPECT_EQ(find_sent<VoteResponse>(n.out, 2)->error, ErrorCode::INVALID_REQUEST);
  n.core->handle(msg(7, 1, VoteRequest{Epoch(9), NodeId(7), Epoch(0), Offset(0), false}), 5004);  // not a voter
  n.step();
  EXPECT_EQ(find_sent<VoteResponse>(n.out, 7)->error, ErrorCode::INCONSISTENT_VOTER_SET);
  EXPECT_EQ(n.core->role(), Role::kLeader);
  EXPECT_EQ(n.core->propose(bytes("x"), 0, 5005).error, ErrorCode::INVALID_REQUEST);
  // A fetch from a stale epoch is fenced and names the leader.
  n.core->handle(msg(2, 1, FetchRequest{NodeId(2), Epoch(0), Offset(0), Epoch(0), 0}), 5006);
  n.step();
  auto* fenced = find_sent<FetchResponse>(n.out, 2);
  EXPECT_EQ(fenced->error, ErrorCode::FENCED_LEADER_EPOCH);
  EXPECT_EQ(fenced->leader_id, NodeId(1));
  EXPECT_EQ(fenced->leader_epoch, Epoch(1));
}

TEST(RaftReplication, GracefulResignationHandsLeadershipOver) {
  Cluster c(3);
  int leader = c.elect_leader();
  ASSERT_NE(leader, -1);
  Epoch epoch = c.n(leader).core->epoch();
  c.n(leader).core->resign(c.now);
  Output out = c.n(leader).core->take_output();
  EXPECT_EQ(c.n(leader).core->role(), Role::kResigned);
  EXPECT_EQ(c.n(leader).core->propose(bytes("x"), 1, c.now).error, ErrorCode::NOT_LEADER_OR_FOLLOWER);
  int end_requests = 0;
  for (auto& m : out.messages)
    if (std::holds_alternative<EndQuorumEpochRequest>(m.body)) ++end_requests;
  EXPECT_EQ(end_requests, 2);
  for (auto& m : out.messages) c.queue.push_back(m);
  c.settle();
  c.blocked.insert(leader);  // it shuts down
  c.run_for(1500);  // less than controller.quorum.fetch.timeout.ms: no follower timed out on its own
  int next = c.leader();
  ASSERT_NE(next, -1);
  EXPECT_NE(next, leader);
  EXPECT_EQ(c.n(next).core->epoch(), epoch + 1);
}

TEST(RaftReplication, ARestartedLeaderNeverLeadsItsOldEpochAgain) {
  QuorumStateData st{Epoch(4), NodeId(1), NodeId(1), {}, "", 0, 0};
  TestNode n(1, 3, st, 0);
  EXPECT_EQ(n.core->role(), Role::kResigned);
  EXPECT_EQ(n.core->epoch(), Epoch(4));
  EXPECT_FALSE(n.core->leader().leader);
  EXPECT_TRUE(find_sent<EndQuorumEpochRequest>(n.out, 2));
  EXPECT_EQ(n.core->propose(bytes("x"), 1, 1).error, ErrorCode::NOT_LEADER_OR_FOLLOWER);
  // It votes for nobody else in epoch 4 (it voted for itself).
  n.core->handle(msg(2, 1, VoteRequest{Epoch(4), NodeId(2), Epoch(4), Offset(100), false}), 2);
  n.step();
  EXPECT_FALSE(find_sent<VoteResponse>(n.out, 2)->vote_granted);
  // Its next candidacy is for epoch 5.
  n.core->tick(10000);
  n.step();
  ASSERT_EQ(n.core->role(), Role::kProspective);
  grant_votes(n, 10001);
  EXPECT_EQ(n.core->role(), Role::kCandidate);
  EXPECT_EQ(n.core->epoch(), Epoch(5));
}

TEST(RaftReplication, ObserversFindTheLeaderAndReplicateButNeverVote) {
  Cluster c(3);
  // Node 4: not in the voter set.
  c.nodes.push_back(std::make_unique<TestNode>(4, 3));
  int leader = c.elect_leader();
  ASSERT_NE(leader, -1);
  ASSERT_EQ(c.n(leader).core->propose(bytes("x"), 1, c.now).error, ErrorCode::NONE);
  c.run_for(1000);
  TestNode& obs = c.n(4);
  EXPECT_FALSE(obs.core->is_voter());
  EXPECT_EQ(obs.core->role(), Role::kFollower);
  EXPECT_EQ(obs.core->leader().leader, NodeId(leader));
  EXPECT_EQ(obs.log.end_offset(), c.n(leader).log.end_offset());
  EXPECT_EQ(obs.core->high_watermark(), c.n(leader).core->high_watermark());
  // It never stands, even when the leader goes silent.
  c.blocked.insert(leader);
  c.run_for(10000);
  EXPECT_NE(obs.core->role(), Role::kProspective);
  EXPECT_NE(obs.core->role(), Role::kCandidate);
  EXPECT_NE(obs.core->role(), Role::kLeader);
  obs.core->handle(msg(2, 4, VoteRequest{obs.core->epoch() + 1, NodeId(2), Epoch(9), Offset(99), false}), c.now);
  EXPECT_FALSE(find_sent<VoteResponse>(obs.core->take_output(), 2)->vote_granted);
}

TEST(RaftReplication, ALeaderCutOffFromTheMajorityResigns) {
  Cluster c(3);
  int leader = c.elect_leader();
  ASSERT_NE(leader, -1);
  for (int id = 1; id <= 3; ++id)
    if (id != leader) c.blocked.insert(id);
  c.run_for(3100);  // 1.5 x controller.quorum.fetch.timeout.ms
  EXPECT_EQ(c.n(leader).core->role(), Role::kResigned);
}

}  // namespace
}  // namespace samsa::raft
