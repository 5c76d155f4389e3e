// QuorumMetadataLog (src/quorum/): the Raft core's driver on a real event
// loop. Three or five drivers share one io_context and talk through a loopback
// QuorumPeers (the decoded messages, no wire), each with a MemoryRaftLog and an
// in-memory quorum-state store. Every wait is bounded.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>

#include "base/clock.h"
#include "net/transport.h"
#include "protocol/messages/create_topics.h"
#include "quorum/network_controller_channel.h"
#include "quorum/quorum_metadata_log.h"
#include "raft/flush_thread.h"

namespace samsa::quorum {
namespace {

using namespace std::chrono_literals;

class MemoryStateStore final : public raft::QuorumStateStore {
 public:
  storage::Result<std::optional<raft::QuorumStateData>> read() override { return data; }
  storage::Status write(const raft::QuorumStateData& state) override {
    if (fail_writes) return storage::Status::io_error("injected quorum-state failure", 5);
    ++writes;
    data = state;
    return storage::Status::ok();
  }
  std::optional<raft::QuorumStateData> data;
  std::atomic<int> writes{0};
  std::atomic<bool> fail_writes{false};
};

struct Cluster;

class LoopbackPeers final : public QuorumPeers {
 public:
  LoopbackPeers(Cluster& c, NodeId self) : cluster_(c), self_(self) {}
  asio::awaitable<std::optional<raft::MessageBody>> request(NodeId to, raft::MessageBody request,
                                                           std::chrono::milliseconds timeout) override;

 private:
  Cluster& cluster_;
  NodeId self_;
};

struct Node {
  raft::MemoryRaftLog log;
  std::unique_ptr<MemoryLogSyncer> syncer;
  MemoryStateStore state;
  std::unique_ptr<LoopbackPeers> peers;
  std::unique_ptr<QuorumMetadataLog> mlog;
  std::vector<std::string> applied;  // values the commit listener saw, in order
  bool up = true;
};

struct Cluster {
  explicit Cluster(int n) {
    std::vector<NodeId> voters;
    for (int i = 1; i <= n; ++i) voters.push_back(NodeId(i));
    for (int i = 1; i <= n; ++i) {
      auto node = std::make_unique<Node>();
      raft::RaftConfig cfg;
      cfg.local_id = NodeId(i);
      cfg.voters = voters;
      cfg.election_timeout_ms = 100;
      cfg.fetch_timeout_ms = 200;
      cfg.election_backoff_max_ms = 100;
      cfg.request_timeout_ms = 200;
      cfg.fetch_max_wait_ms = 50;
      node->syncer = std::make_unique<MemoryLogSyncer>(node->log);
      node->peers = std::make_unique<LoopbackPeers>(*this, NodeId(i));
      node->mlog = std::make_unique<QuorumMetadataLog>(io.get_executor(), cfg, node->log, *node->syncer, node->state,
                                                       flush, *node->peers, SystemClock::instance(), 1000 + i);
      Node* np = node.get();
      node->mlog->set_commit_listener([np](Offset, Epoch, std::span<const protocol::Bytes> values) {
        for (auto& v : values) np->applied.emplace_back(v.begin(), v.end());
      });
      nodes[i] = std::move(node);
    }
    for (auto& [id, n] : nodes) EXPECT_EQ(n->mlog->start(), "");
  }
  ~Cluster() {
    for (auto& [id, n] : nodes) {
      bool done = false;
      asio::co_spawn(io, n->mlog->stop(0ms), [&done](std::exception_ptr) { done = true; });
      run_until([&] { return done; }, 2s);
    }
    io.run_for(20ms);
    nodes.clear();
    io.poll();
  }

  // Runs the loop until `pred` holds or `limit` passes; returns pred().
  bool run_until(const std::function<bool()>& pred, std::chrono::milliseconds limit) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (!pred() && std::chrono::steady_clock::now() < end) io.run_for(5ms);
    return pred();
  }

  // The one ready leader among the nodes that are up, if exactly one.
  std::optional<int> leader() {
    std::optional<int> found;
    for (auto& [id, n] : nodes) {
      if (!n->up || !n->mlog->is_leader()) continue;
      if (found) return std::nullopt;
      found = id;
    }
    return found;
  }

  raft::AppendResult append(int id, std::vector<std::string> values) {
    std::vector<protocol::Bytes> vs;
    for (auto& v : values) vs.emplace_back(v.begin(), v.end());
    std::optional<raft::AppendResult> result;
    asio::co_spawn(io, nodes[id]->mlog->append(std::move(vs)),
                   [&result](std::exception_ptr, raft::AppendResult r) { result = r; });
    run_until([&] { return result.has_value(); }, 5s);
    return result.value_or(raft::AppendResult{ErrorCode::REQUEST_TIMED_OUT});
  }

  asio::io_context io;
  raft::FlushThread flush;
  std::map<int, std::unique_ptr<Node>> nodes;
};

asio::awaitable<std::optional<raft::MessageBody>> LoopbackPeers::request(NodeId to, raft::MessageBody request,
                                                                        std::chrono::milliseconds timeout) {
  auto it = cluster_.nodes.find(to.value);
  // A node that is down (or a sender that is) answers nothing: the caller sees a timeout.
  if (it == cluster_.nodes.end() || !it->second->up || !cluster_.nodes[self_.value]->up) co_return std::nullopt;
  co_return co_await it->second->mlog->handle_message(std::move(request), timeout);
}

TEST(QuorumMetadataLog, ThreeVotersElectOneLeaderAndCommitOnEveryNode) {
  Cluster c(3);
  ASSERT_TRUE(c.run_until([&] { return c.leader().has_value(); }, 10s));
  int leader = *c.leader();
  auto r = c.append(leader, {"a", "b"});
  ASSERT_EQ(r.error, ErrorCode::NONE) << r.message;
  EXPECT_GE(r.offset.value, 1);  // after the LeaderChange batch
  // Every node applies the values, and only the values (no control batch).
  ASSERT_TRUE(c.run_until(
      [&] {
        for (auto& [id, n] : c.nodes)
          if (n->applied.size() < 2) return false;
        return true;
      },
      5s));
  for (auto& [id, n] : c.nodes) EXPECT_EQ(n->applied, (std::vector<std::string>{"a", "b"})) << "node " << id;
  // The leader's listener ran before its append completed.
  EXPECT_EQ(c.nodes[leader]->applied.size(), 2u);
  // Followers know the leader; an append there is refused.
  for (auto& [id, n] : c.nodes) {
    EXPECT_EQ(n->mlog->leader().leader, NodeId(leader));
    if (id == leader) continue;
    EXPECT_EQ(c.append(id, {"x"}).error, ErrorCode::NOT_LEADER_OR_FOLLOWER);
  }
  // Every voter persisted the epoch it acts in.
  for (auto& [id, n] : c.nodes) {
    ASSERT_TRUE(n->state.data.has_value());
    EXPECT_EQ(n->state.data->leader_epoch, n->mlog->core().epoch());
  }
}

TEST(QuorumMetadataLog, ANewLeaderIsElectedWhenTheLeaderGoesSilentAndKeepsCommitted) {
  Cluster c(3);
  ASSERT_TRUE(c.run_until([&] { return c.leader().has_value(); }, 10s));
  int old_leader = *c.leader();
  ASSERT_EQ(c.append(old_leader, {"one"}).error, ErrorCode::NONE);
  c.nodes[old_leader]->up = false;
  std::optional<int> next;
  ASSERT_TRUE(c.run_until(
      [&] {
        next = c.leader();
        return next && *next != old_leader;
      },
      10s));
  auto r = c.append(*next, {"two"});
  ASSERT_EQ(r.error, ErrorCode::NONE) << r.message;
  EXPECT_EQ(c.nodes[*next]->applied, (std::vector<std::string>{"one", "two"}));
  // The old leader returns, follows, and catches up.
  c.nodes[old_leader]->up = true;
  ASSERT_TRUE(c.run_until([&] { return c.nodes[old_leader]->applied.size() == 2; }, 10s));
  EXPECT_EQ(c.nodes[old_leader]->applied, (std::vector<std::string>{"one", "two"}));
  EXPECT_EQ(c.nodes[old_leader]->mlog->leader().leader, NodeId(*next));
}

TEST(QuorumMetadataLog, AnAppendPendingWhenLeadershipIsLostFailsWithNotLeader) {
  Cluster c(3);
  ASSERT_TRUE(c.run_until([&] { return c.leader().has_value(); }, 10s));
  int leader = *c.leader();
  // Both followers go silent: the proposal cannot commit, and check-quorum
  // makes the leader resign.
  for (auto& [id, n] : c.nodes)
    if (id != leader) n->up = false;
  auto r = c.append(leader, {"lost"});
  EXPECT_EQ(r.error, ErrorCode::NOT_LEADER_OR_FOLLOWER);
  EXPECT_TRUE(c.nodes[leader]->applied.empty());
}

TEST(QuorumMetadataLog, AResigningLeaderHandsOverWithoutWaitingForATimeout) {
  Cluster c(3);
  ASSERT_TRUE(c.run_until([&] { return c.leader().has_value(); }, 10s));
  int leader = *c.leader();
  bool stopped = false;
  asio::co_spawn(c.io, c.nodes[leader]->mlog->stop(500ms), [&](std::exception_ptr) { stopped = true; });
  ASSERT_TRUE(c.run_until([&] { return stopped; }, 5s));
  c.nodes[leader]->up = false;
  ASSERT_TRUE(c.run_until([&] { return c.leader().has_value(); }, 10s));
  EXPECT_NE(*c.leader(), leader);
  EXPECT_EQ(c.append(*c.leader(), {"after"}).error, ErrorCode::NONE);
}

TEST(QuorumMetadataLog, FiveVotersCommitWithTwoSilentAndNotWithThree) {
  Cluster c(5);
  ASSERT_TRUE(c.run_until([&] { return c.leader().has_value(); }, 10s));
  int leader = *c.leader();
  std::vector<int> others;
  for (auto& [id, n] : c.nodes)
    if (id != leader) others.push_back(id);
  c.nodes[others[0]]->up = false;
  c.nodes[others[1]]->up = false;
  ASSERT_EQ(c.append(leader, {"with-three"}).error, ErrorCode::NONE);
  c.nodes[others[2]]->up = false;
  EXPECT_NE(c.append(leader, {"with-two"}).error, ErrorCode::NONE);
  for (int id : others) c.nodes[id]->up = true;
  std::optional<int> l;
  ASSERT_TRUE(c.run_until([&] { return (l = c.leader()).has_value(); }, 10s));
  EXPECT_EQ(c.append(*l, {"healed"}).error, ErrorCode::NONE);
}

TEST(QuorumMetadataLog, AFailedQuorumStateWriteStopsTheNodeBeforeItActs) {
  Cluster c(3);
  for (auto& [id, n] : c.nodes) n->state.fail_writes = true;
  // Nobody can persist a vote or an epoch: a node that tries stops, and
  // nobody is elected (the last one standing never gets a pre-vote majority).
  auto failed = [&] {
    int n = 0;
    for (auto& [id, node] : c.nodes) n += node->mlog->failed() ? 1 : 0;
    return n;
  };
  ASSERT_TRUE(c.run_until([&] { return failed() >= 2; }, 10s));
  c.run_until([] { return false; }, 500ms);
  EXPECT_FALSE(c.leader().has_value());
  for (auto& [id, n] : c.nodes) {
    EXPECT_FALSE(n->mlog->core().role() == raft::Role::kLeader) << "node " << id;
    if (n->mlog->failed()) {
      EXPECT_EQ(c.append(id, {"x"}).error, ErrorCode::KAFKA_STORAGE_ERROR);
    }
  }
}

cluster::ChannelResponse call_channel(Cluster& c, NetworkControllerChannel& ch, int16_t api_key,
                                      std::chrono::milliseconds timeout) {
  std::optional<cluster::ChannelResponse> out;
  std::vector<uint8_t> body{1, 2, 3};
  asio::co_spawn(c.io, ch.call(api_key, 0, body, timeout),
                 [&out](std::exception_ptr, cluster::ChannelResponse r) { out = std::move(r); });
  c.run_until([&] { return out.has_value(); }, timeout + 5s);
  return out.value_or(cluster::ChannelResponse{});
}

TEST(QuorumControllerChannel, TheLeaderAnswersLocallyAndNotControllerIsRetriedUntilTheDeadline) {
  Cluster c(1);  // one voter: it elects itself
  ASSERT_TRUE(c.run_until([&] { return c.leader() == 1; }, 10s));
  net::TcpTransport transport(c.io.get_executor(), 200);
  // Node 1's address is never dialled: it is this node, answered by the local handler.
  NetworkControllerChannel ch(c.io.get_executor(), transport, SystemClock::instance(), 7,
                              {{NodeId(1), PeerAddress{"127.0.0.1", 1}}}, *c.nodes[1]->mlog, 20);
  EXPECT_EQ(ch.active_controller(), NodeId(1));
  int calls = 0;
  int16_t answer = 0;
  ch.set_local_handler([&](int16_t, int16_t, std::vector<uint8_t> body) -> asio::awaitable<std::optional<protocol::Bytes>> {
    ++calls;
    EXPECT_EQ(body, (std::vector<uint8_t>{1, 2, 3}));
    // BrokerHeartbeat's layout: ThrottleTimeMs, then ErrorCode.
    co_return protocol::Bytes{0, 0, 0, 0, uint8_t(answer >> 8), uint8_t(answer & 0xff)};
  });
  auto ok = call_channel(c, ch, 63, 2s);
  EXPECT_TRUE(ok.ok);
  EXPECT_EQ(ok.controller, NodeId(1));
  EXPECT_EQ(calls, 1);
  answer = 41;  // NOT_CONTROLLER: retried after the backoff, until the deadline
  auto refused = call_channel(c, ch, 63, 300ms);
  EXPECT_FALSE(refused.ok);
  EXPECT_GT(calls, 2);
  EXPECT_EQ(controller_response_error(63, protocol::Bytes{0, 0, 0, 0, 0, 41}), ErrorCode::NOT_CONTROLLER);
  EXPECT_EQ(controller_response_error(19, protocol::Bytes{0, 0, 0, 0, 0, 41}), std::nullopt);
  EXPECT_EQ(controller_response_error(62, protocol::Bytes{0, 0}), std::nullopt);
}

TEST(QuorumControllerChannel, NotControllerPerTopicIsRetriedUntilAnAnswerSaysOtherwise) {
  Cluster c(1);
  ASSERT_TRUE(c.run_until([&] { return c.leader() == 1; }, 10s));
  net::TcpTransport transport(c.io.get_executor(), 200);
  NetworkControllerChannel ch(c.io.get_executor(), transport, SystemClock::instance(), 7,
                              {{NodeId(1), PeerAddress{"127.0.0.1", 1}}}, *c.nodes[1]->mlog, 20);
  // CreateTopics v0 answers: NOT_CONTROLLER for the topic twice (a node that
  // does not lead), then TOPIC_ALREADY_EXISTS (an answer to keep).
  auto answer = [](int16_t code) {
    protocol::CreateTopicsResponse resp;
    auto& t = resp.topics.emplace_back();
    t.name = "t";
    t.error_code = code;
    protocol::Writer w;
    resp.encode(w, 0);
    return std::move(w.buffer());
  };
  int calls = 0;
  ch.set_local_handler([&](int16_t, int16_t, std::vector<uint8_t>) -> asio::awaitable<std::optional<protocol::Bytes>> {
    ++calls;
    co_return answer(calls <= 2 ? to_int(ErrorCode::NOT_CONTROLLER) : to_int(ErrorCode::TOPIC_ALREADY_EXISTS));
  });
  auto r = call_channel(c, ch, 19, 5s);
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(r.body, answer(to_int(ErrorCode::TOPIC_ALREADY_EXISTS)));
  EXPECT_TRUE(answers_not_controller(19, 0, answer(to_int(ErrorCode::NOT_CONTROLLER))));
  EXPECT_FALSE(answers_not_controller(19, 0, answer(0)));
  EXPECT_FALSE(answers_not_controller(19, 0, protocol::Bytes{0, 0, 0, 0, 0, 41}));  // does not parse
  EXPECT_FALSE(answers_not_controller(19, 99, answer(to_int(ErrorCode::NOT_CONTROLLER))));  // no such version
  EXPECT_TRUE(answers_not_controller(67, 0, protocol::Bytes{0, 0, 0, 0, 0, 41}));  // top-level error
  EXPECT_FALSE(answers_not_controller(67, 0, protocol::Bytes{0, 0, 0, 0, 0, 0}));
}

TEST(QuorumControllerChannel, NoReachableControllerFailsAtTheDeadline) {
  Cluster c(1);
  net::TcpTransport transport(c.io.get_executor(), 200);
  // Before any election: no leader known; the only voter's port refuses connections.
  NetworkControllerChannel ch(c.io.get_executor(), transport, SystemClock::instance(), 7,
                              {{NodeId(9), PeerAddress{"127.0.0.1", 1}}}, *c.nodes[1]->mlog, 20);
  auto r = call_channel(c, ch, 62, 300ms);
  EXPECT_FALSE(r.ok);
}

TEST(QuorumMetadataLog, ResponsesAreToldFromRequests) {
  EXPECT_TRUE(is_response(raft::FetchResponse{}));
  EXPECT_FALSE(is_response(raft::FetchRequest{}));
}

}  // namespace
}  // namespace samsa::quorum
