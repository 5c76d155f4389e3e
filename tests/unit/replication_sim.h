// A deterministic simulator for partition replication around ReplicaState
// (replication/replica_state.h): one partition on three brokers, a controller
// that decides the leader from the ISR and applies AlterPartition, followers
// fetching with random delays and losses, in one thread with simulated time.
// Logs are vectors of (epoch, value); offsets are positions. Every choice comes
// from one seeded Random, so a seed replays exactly.
//
// Faults in the chaos phase: message loss and long delays (reordering), frozen
// followers (past replica.lag.time.max.ms), crashes that lose the unsynced tail
// of a log, restarts (a new broker epoch), controller-moved leadership. Then
// the faults stop, every broker comes back, and the three logs must converge.
//
// The crash model is Kafka's guarantee: acks=all survives as long as one ISR
// member keeps its data. A crash loses the unsynced tail unless the broker is
// the last ISR member (then it keeps its log, as if it had synced), and the
// controller drops a crashed broker from the ISR at once (it re-registers with
// a new broker epoch before it can fetch; KIP-903 refuses its old positions).
//
// Invariants, checked after every event:
//  - a replica's high watermark never exceeds its log end, and the leader's
//    never exceeds the log end of any live member of the controller's ISR;
//  - committed entries (below any replica's high watermark) never change: each
//    replica's log below its HW equals the one committed prefix; an acks=all
//    produce answered NONE is in it; the leader holds all of it;
//  - a follower never truncates below its high watermark;
//  - after healing: all logs equal, every HW at the log end, nothing acked lost.
#pragma once
#include <fmt/format.h>

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/random.h"
#include "replication/replica_state.h"
#include "replication/replica_state_epochs.h"
#include "storage/leader_epoch_cache.h"

namespace samsa::replication::sim {

struct Entry {
  Epoch epoch{0};
  uint64_t value = 0;
  bool operator==(const Entry&) const = default;
};

struct Node {
  NodeId id{-1};
  bool alive = true;
  int64_t broker_epoch = 0;  // this incarnation
  std::vector<Entry> log;
  size_t durable = 0;  // entries below it are synced
  storage::LeaderEpochCache cache;
  std::unique_ptr<ReplicaState> state;
  size_t checked = 0;  // log[0, checked) was compared with the committed prefix
  bool fetching = false;
  uint64_t fetch_id = 0;  // the request in flight; a timed-out one is abandoned (its connection closed)
  int64_t fetch_sent_ms = 0;
  int64_t frozen_until_ms = 0;
  int64_t last_alter_sent_ms = 0;
  Offset leo() const { return Offset(static_cast<int64_t>(log.size())); }
};

struct Msg {
  enum class Kind { kFetch, kFetchResponse, kAlter, kAlterAnswer, kMetadata };
  Kind kind = Kind::kFetch;
  NodeId from{-1}, to{-1};
  int64_t incarnation = 0;  // the requester's broker epoch (responses to an older one are dropped)
  uint64_t request_id = 0;  // a fetch and its response
  Epoch epoch{-1};          // fetch: current leader epoch; response: the leader's
  Offset offset{0};         // fetch offset; response: first entry's offset
  Epoch last_epoch{-1};
  ErrorCode error = ErrorCode::NONE;
  std::optional<EpochEnd> diverging;
  std::vector<Entry> entries;
  Offset hw{0};
  IsrProposal proposal;
  IsrAnswer answer;
  LeaderAndIsr meta;
};

struct Controller {
  NodeId leader{-1};
  Epoch leader_epoch{0};
  PartitionEpoch partition_epoch{0};
  std::vector<NodeId> replicas;
  std::vector<NodeId> isr;
  std::map<NodeId, int64_t> registered;  // live brokers and their broker epochs
};

struct SimStats {
  size_t produced = 0, acked = 0, timed_out = 0, not_enough = 0, leader_changes = 0, crashes = 0,
         lossy_crashes = 0, truncations = 0, shrinks = 0, expands = 0, dropped = 0;
  SimStats& operator+=(const SimStats& o) {
    size_t SimStats::*fields[] = {&SimStats::produced,      &SimStats::acked,       &SimStats::timed_out,
                                  &SimStats::not_enough,    &SimStats::leader_changes, &SimStats::crashes,
                                  &SimStats::lossy_crashes, &SimStats::truncations, &SimStats::shrinks,
                                  &SimStats::expands,       &SimStats::dropped};
    for (auto f : fields) this->*f += o.*f;
    return *this;
  }
};

class Simulation {
 public:
  static constexpr int64_t kLagMs = 1000;  // replica.lag.time.max.ms, short to see shrinks
  static constexpr int64_t kAckTimeoutMs = 3000;
  static constexpr int kChaosSteps = 3000;
  static constexpr int kHealSteps = 20000;  // bound on convergence after the faults stop

  explicit Simulation(uint64_t seed);

  // "" when every invariant held, else the first violation.
  std::string run();
  const SimStats& stats() const { return stats_; }
  size_t committed_entries() const { return committed_.size(); }
  int64_t now() const { return now_; }
  std::string trace_tail() const;
  std::string summary() const;

 private:
  // events
  void step(bool chaos);
  void deliver(const Msg& m);
  void on_fetch(Node& leader, const Msg& m);
  void on_fetch_response(Node& f, const Msg& m);
  void on_alter(const Msg& m);
  void on_alter_answer(Node& leader, const Msg& m);
  void on_metadata(Node& n, const LeaderAndIsr& r);
  void produce(Node& leader);
  void send_fetch(Node& f);
  void leader_tick(Node& leader);
  void crash(Node& n);
  void restart(Node& n);
  void move_leadership();
  // the controller
  void publish();  // bumps the partition epoch and sends the registration to every live broker
  void elect_if_leaderless();
  LeaderAndIsr registration() const;
  // plumbing
  void send(Msg m, bool may_drop);
  void truncate(Node& n, size_t end);
  void append(Node& n, const Entry& e);
  void drain_acks(Node& n);
  void settle(Node& n);
  // invariants
  void observe(Node& n);
  void check();
  bool converged() const;
  void final_check();
  void fail(std::string what);
  void trace(std::string line);
  Node& node(NodeId id) { return nodes_[static_cast<size_t>(id.value - 1)]; }

  Random rng_;
  double loss_;
  int64_t max_delay_ms_;
  ReplicaConfig cfg_;
  int64_t now_ = 0;
  uint64_t next_seq_ = 0;
  uint64_t next_value_ = 1;
  int64_t next_broker_epoch_ = 1;
  std::vector<Node> nodes_;
  Controller ctl_;
  std::map<std::pair<int64_t, uint64_t>, Msg> queue_;  // (delivery time, seq)
  std::map<std::pair<int32_t, AckTicket>, std::pair<size_t, uint64_t>> waiting_;  // (node, ticket) -> (offset, value)
  std::vector<Entry> committed_;
  std::vector<std::pair<size_t, uint64_t>> acked_;
  std::deque<std::string> trace_;
  std::string violation_;
  SimStats stats_;
};

}  // namespace samsa::replication::sim
