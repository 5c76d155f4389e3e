// Voter changes in the Raft core (KIP-853): the voter set follows the newest
// VotersRecord of the log from the moment it is appended, the leader changes
// it one voter at a time once it committed in its epoch, a removed leader
// resigns after the commit, and a static quorum refuses changes. The seeded
// simulator (raft_sim.h) runs the same changes under faults.
#include <gtest/gtest.h>

#include "raft/metadata_batches.h"
#include "raft/raft_wire.h"
#include "raft/voter_history.h"
#include "raft_test_util.h"

namespace samsa::raft {
namespace {

protocol::Uuid dir_of(int id) {
  protocol::Uuid u{};
  u[0] = 0xab;
  u[15] = static_cast<uint8_t>(id);
  return u;
}

protocol::kraft::VotersRecord::Voter voter(int id) {
  protocol::kraft::VotersRecord::Voter v;
  v.voter_id = id;
  v.voter_directory_id = dir_of(id);
  v.endpoints.push_back({"CONTROLLER", "host" + std::to_string(id), static_cast<uint16_t>(9090 + id)});
  v.k_raft_version_feature.max_supported_version = 1;
  return v;
}

protocol::kraft::VotersRecord record(std::initializer_list<int> ids) {
  protocol::kraft::VotersRecord r;
  for (int id : ids) r.voters.push_back(voter(id));
  return r;
}

// A dynamic quorum of `nodes` nodes whose bootstrap voter set is `voters`.
std::function<void(RaftConfig&)> dynamic(protocol::kraft::VotersRecord voters) {
  return [voters](RaftConfig& c) {
    c.dynamic = true;
    c.voters_record = voters;
    c.directory_id = dir_of(c.local_id.value);
  };
}

std::vector<NodeId> ids(std::initializer_list<int> l) {
  std::vector<NodeId> out;
  for (int i : l) out.push_back(NodeId(i));
  return out;
}

TEST(RaftCoreVoters, AStaticQuorumRefusesVoterChanges) {
  Cluster c(3);
  int l = c.elect_leader();
  ASSERT_NE(l, -1);
  c.run_for(200);
  std::string why;
  EXPECT_EQ(c.n(l).core->voter_change_error(&why), ErrorCode::UNSUPPORTED_VERSION) << why;
  int other = l == 1 ? 2 : 1;
  EXPECT_EQ(c.n(other).core->voter_change_error(&why), ErrorCode::NOT_LEADER_OR_FOLLOWER);
}

TEST(RaftCoreVoters, AnObserverCatchesUpIsAddedAndEveryNodeUsesTheNewSet) {
  Cluster c(4, dynamic(record({1, 2, 3})));  // node 4 is an observer
  int l = c.elect_leader();
  ASSERT_NE(l, -1);
  ASSERT_NE(l, 4);
  // The observer's first Fetch left before the harness listened: it retries
  // after controller.quorum.request.timeout.ms.
  c.run_for(2500);
  // The leader wrote the bootstrap set into its log: every node has it there.
  for (auto& n : c.nodes) EXPECT_EQ(n->core->voter_set().ids, ids({1, 2, 3}));
  EXPECT_FALSE(c.n(4).core->is_voter());
  TestNode& leader = c.n(l);
  ASSERT_TRUE(leader.core->replica_caught_up(NodeId(4), dir_of(4)));
  EXPECT_FALSE(leader.core->replica_caught_up(NodeId(4), dir_of(5))) << "another directory is another replica";

  ProposeResult r = leader.core->propose_voters(record({1, 2, 3, 4}), c.now);
  ASSERT_EQ(r.error, ErrorCode::NONE);
  // From the append on, the leader counts majorities over four voters.
  EXPECT_EQ(leader.core->voter_set().ids, ids({1, 2, 3, 4}));
  std::string why;
  EXPECT_EQ(leader.core->voter_change_error(&why), ErrorCode::REQUEST_TIMED_OUT) << "one change at a time";
  EXPECT_EQ(leader.core->propose_voters(record({1, 2, 3}), c.now).error, ErrorCode::REQUEST_TIMED_OUT);
  c.run_for(300);
  ASSERT_TRUE(leader.core->high_watermark() && *leader.core->high_watermark() > r.last_offset);
  for (auto& n : c.nodes) EXPECT_EQ(n->core->voter_set().ids, ids({1, 2, 3, 4}));
  EXPECT_TRUE(c.n(4).core->is_voter());
  EXPECT_EQ(leader.core->voter_change_error(&why), ErrorCode::NONE) << why;
  // Four voters: the commit needs three of them; with two cut off nothing commits.
  int a = l == 1 ? 2 : 1, b = (l == 3 || a == 3) ? 4 : 3;
  c.blocked = {a, b};
  Offset hw = *leader.core->high_watermark();
  ProposeResult p = leader.core->propose(bytes("held"), 1, c.now);
  ASSERT_EQ(p.error, ErrorCode::NONE);
  c.run_for(200);
  EXPECT_EQ(*leader.core->high_watermark(), hw);
  c.blocked.clear();
  c.run_for(2500);  // the dropped fetches are retried after the request timeout
  int now_leader = c.leader();
  ASSERT_NE(now_leader, -1);
  EXPECT_GT(*c.n(now_leader).core->high_watermark(), hw);
}

TEST(RaftCoreVoters, ARemovedLeaderResignsOnceTheNewSetCommits) {
  Cluster c(3, dynamic(record({1, 2, 3})));
  int l = c.elect_leader();
  ASSERT_NE(l, -1);
  c.run_for(300);
  TestNode& leader = c.n(l);
  Epoch old_epoch = leader.core->epoch();
  protocol::kraft::VotersRecord without;
  for (int id : {1, 2, 3})
    if (id != l) without.voters.push_back(voter(id));
  ASSERT_EQ(leader.core->propose_voters(without, c.now).error, ErrorCode::NONE);
  EXPECT_FALSE(leader.core->is_voter());
  EXPECT_EQ(leader.core->role(), Role::kLeader) << "it leads until the removal commits";
  c.run_for(3000);
  EXPECT_NE(leader.core->role(), Role::kLeader);
  int next = c.leader();
  ASSERT_NE(next, -1);
  EXPECT_NE(next, l);
  EXPECT_GT(c.n(next).core->epoch(), old_epoch);
  Offset hw = *c.n(next).core->high_watermark();
  ASSERT_EQ(c.n(next).core->propose(bytes("after"), 1, c.now).error, ErrorCode::NONE);
  c.run_for(300);
  EXPECT_GT(*c.n(next).core->high_watermark(), hw) << "two voters commit";
  // The removed node follows as an observer.
  EXPECT_FALSE(leader.core->is_voter());
  EXPECT_EQ(leader.core->voter_set().ids, c.n(next).core->voter_set().ids);
}

TEST(RaftCoreVoters, ANodeWithoutVotersFindsTheLeaderThroughABootstrapServer) {
  // Node 3 was formatted without a voter set: it knows only the bootstrap
  // server -2 (node 1 here: the test network maps it below).
  Cluster c(3, [](RaftConfig& cfg) {
    cfg.dynamic = true;
    cfg.directory_id = dir_of(cfg.local_id.value);
    if (cfg.local_id.value != 3) cfg.voters_record = record({1, 2});
    else cfg.bootstrap = {NodeId(-2)};
  });
  c.aliases[-2] = 1;  // the driver's address map
  int l = c.elect_leader();
  ASSERT_NE(l, -1);
  c.run_for(1000);
  EXPECT_EQ(c.n(3).core->role(), Role::kFollower);
  EXPECT_EQ(c.n(3).core->leader().leader, NodeId(l));
  EXPECT_EQ(c.n(3).core->voter_set().ids, ids({1, 2})) << "learned from the leader's log";
  EXPECT_TRUE(c.n(l).core->replica_caught_up(NodeId(3), dir_of(3)));
}

TEST(RaftCoreVoters, HistoryFollowsAppendsTruncationsAndSnapshots) {
  VoterHistory h;
  h.reset(VoterSet::from_record(record({1})));
  h.add(Offset(5), VoterSet::from_record(record({1, 2})));
  h.add(Offset(9), VoterSet::from_record(record({1, 2, 3})));
  EXPECT_EQ(h.latest().ids, ids({1, 2, 3}));
  EXPECT_EQ(h.at(Offset(9)).ids, ids({1, 2}));
  EXPECT_EQ(h.at(Offset(5)).ids, ids({1}));
  h.truncate_from(Offset(9));
  EXPECT_EQ(h.latest().ids, ids({1, 2})) << "a truncated record brings the previous set back";
  h.compact_below(Offset(7));
  EXPECT_FALSE(h.latest_offset());
  EXPECT_EQ(h.latest().ids, ids({1, 2}));
  h.truncate_from(Offset(0));
  EXPECT_EQ(h.latest().ids, ids({1, 2})) << "what a snapshot covers stays";
}

TEST(RaftCoreVoters, FetchCarriesTheDirectoryIdAndTheLeadersEndpoint) {
  const WireContext ctx{"c1", kMetadataTopicId};
  FetchRequest f{NodeId(4), Epoch(2), Offset(7), Epoch(1), 100, dir_of(4)};
  auto w = encode_raft_request(ctx, MessageBody{f}, 17);
  auto d = decode_raft_request(ctx, 1, 17, w.body);
  ASSERT_TRUE(d.body);
  EXPECT_EQ(std::get<FetchRequest>(*d.body).replica_directory_id, dir_of(4));
  FetchResponse resp;
  resp.leader_id = NodeId(1);
  resp.leader_epoch = Epoch(2);
  resp.leader_endpoint = FetchResponse::Endpoint{"h1", 9093};
  for (int16_t v : {15, 16, 17}) {
    auto bytes = encode_raft_response(ctx, 1, v, MessageBody{resp});
    auto back = decode_raft_response_to(MessageBody{f}, v, bytes);
    ASSERT_TRUE(back) << v;
    auto& r = std::get<FetchResponse>(*back);
    if (v >= 16) {
      ASSERT_TRUE(r.leader_endpoint) << v;
      EXPECT_EQ(*r.leader_endpoint, (FetchResponse::Endpoint{"h1", 9093}));
    } else {
      EXPECT_FALSE(r.leader_endpoint) << "NodeEndpoints start at v16";
    }
  }
}

}  // namespace
}  // namespace samsa::raft
