// Helpers for the Raft core tests: a node (core + in-memory log), a small
// cluster on an in-order network, message builders.
#pragma once
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>

#include "raft/raft_core.h"

namespace samsa::raft {

inline protocol::Bytes bytes(const std::string& s) { return protocol::Bytes(s.begin(), s.end()); }

inline RaftConfig config(int id, int voters) {
  RaftConfig c;
  c.local_id = NodeId(id);
  for (int i = 1; i <= voters; ++i) c.voters.push_back(NodeId(i));
  return c;
}

inline LogEntry entry(int64_t offset, int32_t epoch, const std::string& data = "x") {
  return LogEntry{Offset(offset), Epoch(epoch), 1, false, bytes(data)};
}

// One node: a core over an in-memory log, with its last output kept.
struct TestNode {
  TestNode(int id, int voters, std::optional<QuorumStateData> restored = std::nullopt, int64_t now = 0,
           const std::function<void(RaftConfig&)>& tweak = {})
      : rng(static_cast<uint64_t>(id)) {
    RaftConfig cfg = config(id, voters);
    if (tweak) tweak(cfg);
    core = std::make_unique<RaftCore>(cfg, log, rng, restored, now);
    out = core->take_output();
  }
  Output step() {
    out = core->take_output();
    return out;
  }
  MemoryRaftLog log;
  Random rng;
  std::unique_ptr<RaftCore> core;
  Output out;
};

// A few nodes and an in-order network that delivers everything at once;
// syncs complete immediately.
struct Cluster {
  explicit Cluster(int voters, const std::function<void(RaftConfig&)>& tweak = {}) {
    for (int i = 1; i <= voters; ++i) nodes.push_back(std::make_unique<TestNode>(i, voters, std::nullopt, 0, tweak));
  }
  TestNode& n(int id) { return *nodes[static_cast<size_t>(id - 1)]; }
  void take(TestNode& node) {
    Output out = node.core->take_output();
    if (out.sync_log) {
      node.log.sync();
      node.core->on_log_synced(now);
      Output more = node.core->take_output();
      for (auto& m : more.messages) out.messages.push_back(m);
      if (more.high_watermark) out.high_watermark = more.high_watermark;
    }
    for (auto& m : out.messages) queue.push_back(m);
  }
  // Delivers until nothing is in flight (bounded).
  void settle() {
    for (auto& node : nodes) take(*node);
    for (int i = 0; i < 10000 && !queue.empty(); ++i) {
      Message m = queue.front();
      queue.pop_front();
      if (auto alias = aliases.find(m.to.value); alias != aliases.end()) m.to = NodeId(alias->second);
      if (blocked.count(m.to.value) || blocked.count(m.from.value)) continue;
      if (m.to.value < 1 || m.to.value > static_cast<int32_t>(nodes.size())) continue;  // nobody there
      TestNode& to = n(m.to.value);
      to.core->handle(m, now);
      take(to);
    }
  }
  void tick_all(int64_t at) {
    now = at;
    for (auto& node : nodes) node->core->tick(now);
    settle();
  }
  // Advances time in small steps until a leader is elected (bounded), the way
  // randomised timeouts let one voter stand first.
  int elect_leader(int64_t limit_ms = 60000) {
    for (int64_t t = 0; t < limit_ms && leader() == -1; t += 10) tick_all(now + 10);
    return leader();
  }
  void run_for(int64_t ms) {
    for (int64_t t = 0; t < ms; t += 10) tick_all(now + 10);
  }
  int leader() {
    for (auto& node : nodes)
      if (node->core->role() == Role::kLeader) return node->core->local_id().value;
    return -1;
  }
  std::vector<std::unique_ptr<TestNode>> nodes;
  std::deque<Message> queue;
  std::set<int32_t> blocked;
  std::map<int32_t, int32_t> aliases;  // a bootstrap server's id (-2, ...) -> the node it reaches
  int64_t now = 0;
};

inline Message msg(int from, int to, MessageBody body, uint64_t id = 1) { return Message{NodeId(from), NodeId(to), id, std::move(body)}; }

template <typename T>
const T* find_sent(const Output& out, int to) {
  for (auto& m : out.messages)
    if (m.to == NodeId(to))
      if (auto* b = std::get_if<T>(&m.body)) return b;
  return nullptr;
}


// Makes `n` (a voter of 3) the leader of epoch `before + 1` over whatever its
// log holds: a pre-vote round and a vote round, every request granted.
inline void grant_votes(TestNode& n, int64_t now) {
  std::vector<Message> sent = n.out.messages;
  for (auto& m : sent)
    if (auto* v = std::get_if<VoteRequest>(&m.body))
      n.core->handle(Message{m.to, m.from, m.correlation_id, VoteResponse{ErrorCode::NONE, std::nullopt, v->replica_epoch, true, v->pre_vote}}, now);
  n.step();
}
inline void elect(TestNode& n, int32_t before, int64_t now = 5000) {
  n.core = std::make_unique<RaftCore>(config(n.core->local_id().value, 3), n.log, n.rng,
                                      QuorumStateData{Epoch(before), std::nullopt, std::nullopt, {}, "", 0, 0}, 0);
  n.core->tick(now);
  n.step();
  grant_votes(n, now);  // pre-votes: now a candidate
  grant_votes(n, now);  // votes: now the leader
}

}  // namespace samsa::raft
