// A deterministic simulator for the Raft core: N nodes (voters, sometimes an
// observer) on a simulated network, in one thread, with simulated time. Every
// choice — message loss, duplication, delay (hence reordering), partitions,
// crashes that lose unsynced log entries, graceful leader shutdowns, clock jumps,
// proposals — is drawn from one seeded Random, so a seed replays exactly.
//
// Half the schedules run a dynamic quorum (KIP-853): the voters start from a
// bootstrap VotersRecord, one or two spare nodes (formatted without one) find
// the leader through bootstrap servers and replicate as observers, and now and
// then the leader adds a caught-up node or removes a voter (itself included)
// with a VotersRecord, under the same faults and invariants.
//
// A run has a chaos phase, then the faults stop (network healed, every node
// up) and the run must show a leader committing a new proposal within a bound.
// Invariants are checked as the run goes:
//  - at most one leader per epoch (over the whole run, restarts included);
//  - a committed entry (below any node's high watermark) never changes: every
//    node's log below its high watermark equals the one committed prefix;
//  - a node that becomes leader holds the whole committed prefix;
//  - each node's applied state is a prefix of the committed payloads; a
//    proposal acknowledged with (offset, epoch) commits there if it commits;
//  - no node stops with a fatal error (two leaders announced, truncation below
//    the high watermark).
#pragma once
#include <fmt/format.h>

#include <cstdlib>
#include <deque>
#include <map>
#include <memory>
#include <queue>
#include <set>
#include <tuple>
#include <string>
#include <vector>

#include "raft/metadata_batches.h"
#include "raft/raft_core.h"

namespace samsa::raft::sim {

struct SimParams {
  int voters = 3;
  int observers = 0;
  double loss = 0;       // probability a message is dropped
  double duplicate = 0;  // probability it is delivered twice
  int64_t max_delay_ms = 20;
  int64_t max_sync_ms = 10;
  int64_t chaos_ms = 8000;
  int64_t liveness_bound_ms = 30000;  // after the faults stop
  bool storm = false;
  bool snapshots = false;
  bool dynamic = false;  // voters from VotersRecords, changed during the run
  int spares = 0;        // dynamic: nodes that start with no voter set
};

class Simulation {
 public:
  static constexpr int64_t kNever = RaftCore::kNever;

  explicit Simulation(uint64_t seed) : rng_(seed) {
    p_.voters = rng_.uniform(0, 1) ? 5 : 3;
    p_.observers = rng_.uniform(0, 3) == 0 ? 1 : 0;
    p_.loss = static_cast<double>(rng_.uniform(0, 20)) / 100;
    p_.duplicate = static_cast<double>(rng_.uniform(0, 10)) / 100;
    p_.max_delay_ms = rng_.uniform(1, 60);
    // Some disks are slow to sync: a wide window in which a crash loses data.
    p_.max_sync_ms = rng_.uniform(0, 3) == 0 ? rng_.uniform(50, 400) : rng_.uniform(0, 20);
    p_.chaos_ms = rng_.uniform(3000, 12000);
    // A third of the schedules are storms: faults every few hundred ms, most
    // of them aimed at whoever leads.
    p_.storm = rng_.uniform(0, 2) == 0;
    p_.snapshots = rng_.uniform(0, 1) == 0;  // half the schedules take snapshots
    p_.dynamic = rng_.uniform(0, 1) == 0 && !std::getenv("SAMSA_RAFT_SIM_STATIC");
    p_.spares = p_.dynamic ? static_cast<int>(rng_.uniform(1, 2)) : 0;
    for (int i = 0; i < p_.voters; ++i) cfg_.voters.push_back(NodeId(i + 1));
    if (p_.dynamic) {
      cfg_.dynamic = true;
      protocol::kraft::VotersRecord rec;
      for (int i = 0; i < p_.voters; ++i) rec.voters.push_back(voter_entry(NodeId(i + 1)));
      initial_voters_ = rec;
      // controller.quorum.bootstrap.servers: the initial voters, as negative ids.
      for (int i = 0; i < p_.voters; ++i) cfg_.bootstrap.push_back(NodeId(-(i + 2)));
    }
    for (int i = 0; i < p_.voters + p_.observers + p_.spares; ++i) {
      auto n = std::make_unique<Node>();
      n->id = NodeId(i + 1);
      n->rng = std::make_unique<Random>(rng_.next_u64());
      nodes_.push_back(std::move(n));
    }
    for (size_t i = 0; i < nodes_.size(); ++i) start(i);
  }

  const SimParams& params() const { return p_; }
  bool verbose = false;  // keep a trace of every step (replays)

  // Runs the whole schedule: "" when every invariant held, else the first violation.
  std::string run() {
    int64_t next_fault = rng_.uniform(200, 1500);
    int64_t next_proposal = rng_.uniform(10, 200);
    int64_t healed_at = kNever;
    for (uint64_t steps = 0; violation_.empty(); ++steps) {
      if (steps > 5'000'000) return fail("step bound exceeded (a livelock in the simulation)");
      if (healed_at == kNever && now_ >= p_.chaos_ms) healed_at = heal();
      if (healed_at != kNever && live_) {
        if (now_ >= live_at_ + 1000) break;  // a quiet second after the commit, then stop
      }
      if (healed_at != kNever && now_ > healed_at + p_.liveness_bound_ms)
        return fail(fmt::format("no commit within {} ms after the faults stopped", p_.liveness_bound_ms));
      int64_t next = std::min({next_event_time(), next_fault, next_proposal});
      if (healed_at == kNever) next = std::min(next, p_.chaos_ms);
      now_ = std::max(now_, next);
      if (now_ >= next_fault && healed_at == kNever) {
        inject_fault();
        next_fault = now_ + (p_.storm ? rng_.uniform(20, 600) : rng_.uniform(100, 2000));
      } else if (now_ >= next_fault) {
        next_fault = kNever;
      }
      if (now_ >= next_proposal) {
        if (p_.snapshots)
          for (size_t i = 0; i < nodes_.size(); ++i) maybe_snapshot(i);
        propose(healed_at);
        if (p_.dynamic && rng_.uniform(0, 5) == 0) change_voters();
        next_proposal = now_ + rng_.uniform(10, 300);
      }
      run_due();
    }
    if (violation_.empty()) final_checks();
    return violation_;
  }

  uint64_t trace_hash() const { return hash_; }
  std::string trace_tail() const {
    std::string out;
    for (auto& line : trace_) out += line + "\n";
    return out;
  }
  size_t committed_entries() const { return committed_.size(); }
  struct Stats {
    size_t leader_epochs = 0;
    size_t crashes = 0;
    size_t truncations = 0;  // a follower cut its log back on a divergence
    size_t faults = 0;
    size_t snapshots_taken = 0;
    size_t snapshots_installed = 0;
    size_t voter_changes = 0;
  };
  Stats stats() const {
    Stats s = stats_;
    s.leader_epochs = leaders_.size();
    return s;
  }
  int64_t now() const { return now_; }

 private:
  struct Node {
    NodeId id;
    MemoryRaftLog log;
    std::optional<QuorumStateData> disk;  // the quorum-state file
    std::unique_ptr<Random> rng;
    std::unique_ptr<RaftCore> core;  // null while down
    int incarnation = 0;
    int64_t clock_offset = 0;  // local monotonic time = simulated time + offset
    int group = 0;             // partition group; messages cross no group boundary
    std::vector<std::string> applied;
    Offset applied_to{0};
    int64_t restart_at = kNever;
    int64_t stop_at = kNever;  // graceful shutdown in progress
    int64_t next_tick = 0;
    Offset last_end{0};
    MemorySnapshotStore snapshots;  // durable, like the checkpoint files
    // The VotersRecord each snapshot holds (KIP-853 writes it into the file).
    std::map<int64_t, std::optional<protocol::kraft::VotersRecord>> snapshot_voters;
  };
  struct Event {
    int64_t at;
    uint64_t seq;
    size_t node;
    int incarnation;  // -1: a message delivery, else a sync completion for that incarnation
    Message msg;
    bool operator>(const Event& o) const { return std::tie(at, seq) > std::tie(o.at, o.seq); }
  };

  std::string fail(std::string what) {
    if (violation_.empty()) violation_ = fmt::format("t={} {}", now_, what);
    return violation_;
  }
  void trace(std::string line) {
    for (char c : line) hash_ = (hash_ ^ static_cast<uint8_t>(c)) * 1099511628211ull;
    if (!verbose) return;
    trace_.push_back(fmt::format("{:>7} {}", now_, line));
    if (trace_.size() > (std::getenv("SAMSA_RAFT_SIM_LONG") ? 200000u : 400u)) trace_.pop_front();
  }
  // For a replay's trace: what a fetch asks and answers, and the receiver's state.
  std::string details(const Message& m, const Node& to) const {
    std::string out;
    if (auto* f = std::get_if<FetchRequest>(&m.body))
      out = fmt::format(" fetch offset={} last_epoch={} epoch={}", f->fetch_offset, f->last_fetched_epoch,
                        f->current_leader_epoch);
    if (auto* f = std::get_if<FetchResponse>(&m.body))
      out = fmt::format(" answer error={} hw={} entries={} diverging={} snapshot={}", to_int(f->error),
                        f->high_watermark, f->records.size(),
                        f->diverging_epoch ? f->diverging_epoch->end_offset.value : -1,
                        f->snapshot_id ? f->snapshot_id->end_offset.value : -1);
    if (!to.core) return out;
    out += fmt::format(" | n{} {} hw={} end={} voters=", to.id, role_name(to.core->role()),
                       to.core->high_watermark() ? to.core->high_watermark()->value : -1, to.log.end_offset());
    for (NodeId v : to.core->voter_set().ids) out += fmt::format("{},", v);
    return out;
  }
  int64_t local(const Node& n) const { return now_ + n.clock_offset; }
  bool voter(size_t i) const { return static_cast<int>(i) < p_.voters; }

  void start(size_t i) {
    Node& n = *nodes_[i];
    RaftConfig cfg = cfg_;
    cfg.local_id = n.id;
    cfg.directory_id = directory_of(n.id);
    if (p_.dynamic) {
      // What the node reads from disk: the snapshot its log continues, else the
      // bootstrap checkpoint (a spare was formatted without one).
      if (n.log.start_offset().value > 0) cfg.voters_record = n.snapshot_voters[n.log.start_offset().value];
      else if (static_cast<int>(i) < p_.voters + p_.observers) cfg.voters_record = initial_voters_;
    }
    n.core = std::make_unique<RaftCore>(cfg, n.log, *n.rng, n.disk, local(n));
    n.core->set_snapshot_reader(&n.snapshots);
    if (n.log.start_offset().value > 0) {
      // The state machine starts from the snapshot its log continues.
      SnapshotId id{n.log.start_offset(), n.log.start_epoch()};
      const protocol::Bytes* blob = n.snapshots.get(id);
      if (!blob) return (void)fail(fmt::format("n{}: its log starts at {} but that snapshot is gone", n.id, id.end_offset));
      load_snapshot(n, id, *blob);
    }
    n.restart_at = kNever;
    n.stop_at = kNever;
    trace(fmt::format("n{} start epoch={} role={}", n.id, n.core->epoch(), role_name(n.core->role())));
    after(i);
  }
  void stop(size_t i, bool crash) {
    Node& n = *nodes_[i];
    if (!n.core) return;
    n.core.reset();
    ++n.incarnation;
    if (crash) {
      ++stats_.crashes;
      n.log.crash(rng_);
    } else {
      n.log.sync();  // a clean stop syncs its log
    }
    n.last_end = n.log.end_offset();
    n.applied.clear();  // the state machine is rebuilt from the log after a restart
    n.applied_to = Offset(0);
    n.restart_at = now_ + rng_.uniform(100, 4000);
    trace(fmt::format("n{} {} log_end={}", n.id, crash ? "crash" : "stop", n.log.end_offset()));
  }

  // Takes a node's output after any call into its core: persist, sync, send, check.
  void after(size_t i) {
    Node& n = *nodes_[i];
    Output out = n.core->take_output();
    if (n.log.end_offset() < n.last_end) ++stats_.truncations;
    n.last_end = n.log.end_offset();
    if (!out.fatal.empty()) fail(fmt::format("n{} fatal: {}", n.id, out.fatal));
    if (out.persist) n.disk = *out.persist;  // the file is synced before anything is sent
    if (out.sync_log) push(i, n.incarnation, now_ + rng_.uniform(0, p_.max_sync_ms), Message{});
    for (auto& m : out.messages) send(std::move(m));
    if (n.core->role() == Role::kLeader) check_leader(i);
    if (out.high_watermark) check_commit(i, *out.high_watermark);
    if (out.leader) trace(fmt::format("n{} epoch={} leader={} role={}", n.id, out.leader->epoch,
                                      out.leader->leader ? out.leader->leader->value : -1, role_name(n.core->role())));
    if (out.install_snapshot) {
      auto& snap = *out.install_snapshot;
      n.snapshots.store(snap.id, snap.bytes);  // durable before the core hears of it
      auto voters = committed_voters_at(snap.id.end_offset);
      n.snapshot_voters[snap.id.end_offset.value] = voters;
      trace(fmt::format("n{} installs snapshot {}-{}", n.id, snap.id.end_offset, snap.id.epoch));
      if (n.core->on_snapshot_installed(snap.id, local(n), voters)) load_snapshot(n, snap.id, snap.bytes);
      ++stats_.snapshots_installed;
      return after(i);
    }
    int64_t d = n.core->next_deadline();
    n.next_tick = d == kNever ? kNever : std::max(d - n.clock_offset, now_ + 1);
  }

  void push(size_t node, int incarnation, int64_t at, Message m) {
    events_.push(Event{at, seq_++, node, incarnation, std::move(m)});
  }
  void send(Message m) {
    // A bootstrap server (-2, -3, ...) is initial voter 1, 2, ...
    size_t to = static_cast<size_t>(m.to.value < 0 ? -m.to.value - 2 : m.to.value - 1);
    if (to >= nodes_.size() || rng_.next_double() < p_.loss) return;
    m.to = nodes_[to]->id;
    if (rng_.next_double() < p_.duplicate) push(to, -1, now_ + rng_.uniform(0, p_.max_delay_ms * 4), m);
    push(to, -1, now_ + rng_.uniform(0, p_.max_delay_ms), std::move(m));
  }

  int64_t next_event_time() const {
    int64_t next = events_.empty() ? kNever : events_.top().at;
    for (auto& n : nodes_) {
      next = std::min(next, n->core ? std::min(n->next_tick, n->stop_at) : n->restart_at);
    }
    return next;
  }

  void run_due() {
    while (!events_.empty() && events_.top().at <= now_ && violation_.empty()) {
      Event e = events_.top();
      events_.pop();
      Node& n = *nodes_[e.node];
      if (!n.core) continue;
      if (e.incarnation >= 0) {  // a sync finished
        if (e.incarnation != n.incarnation) continue;
        n.log.sync();
        n.core->on_log_synced(local(n));
      } else {
        size_t from = static_cast<size_t>(e.msg.from.value - 1);
        if (nodes_[from]->group != n.group) continue;  // partitioned
        trace(fmt::format("n{}->n{} {} #{}{}", e.msg.from, e.msg.to, e.msg.body.index(), e.msg.correlation_id,
                          verbose ? details(e.msg, n) : std::string()));
        n.core->handle(e.msg, local(n));
      }
      after(e.node);
    }
    for (size_t i = 0; i < nodes_.size() && violation_.empty(); ++i) {
      Node& n = *nodes_[i];
      if (!n.core && now_ >= n.restart_at) start(i);
      if (n.core && now_ >= n.stop_at) stop(i, false);
      if (n.core && now_ >= n.next_tick) {
        n.core->tick(local(n));
        after(i);
      }
    }
  }

  void inject_fault() {
    ++stats_.faults;
    size_t i = static_cast<size_t>(rng_.uniform(0, static_cast<int64_t>(nodes_.size()) - 1));
    Node& n = *nodes_[i];
    if (p_.storm && rng_.uniform(0, 1) == 0) {
      // Crash the leader, often right after it appended entries nobody has yet.
      for (size_t j = 0; j < nodes_.size(); ++j)
        if (nodes_[j]->core && nodes_[j]->core->role() == Role::kLeader) {
          if (rng_.uniform(0, 1)) propose(kNever);
          stop(j, true);
          nodes_[j]->restart_at = now_ + rng_.uniform(10, 1500);
          return;
        }
    }
    if (rng_.uniform(0, 9) == 0) {
      // A power cut of the whole cluster: every node loses its unsynced writes.
      for (size_t j = 0; j < nodes_.size(); ++j) stop(j, true);
      trace("power cut");
      return;
    }
    switch (rng_.uniform(0, 6)) {
      case 0:
      case 1:  // crash, losing unsynced entries; restarts later
        stop(i, true);
        break;
      case 2: {  // a partition: each node lands on one of two sides
        for (auto& m : nodes_) m->group = static_cast<int>(rng_.uniform(0, 1));
        trace("partition");
        break;
      }
      case 3:  // heal the partition
        for (auto& m : nodes_) m->group = 0;
        trace("heal");
        break;
      case 4:  // the node's clock jumps forward (a long pause, a VM migration)
        n.clock_offset += rng_.uniform(500, 5000);
        trace(fmt::format("n{} clock jump", n.id));
        if (n.core) n.next_tick = now_;
        break;
      case 5:  // isolate one node
        for (auto& m : nodes_) m->group = 0;
        n.group = 1;
        trace(fmt::format("n{} isolated", n.id));
        break;
      case 6:  // graceful shutdown of whoever leads
        for (size_t j = 0; j < nodes_.size(); ++j) {
          Node& l = *nodes_[j];
          if (l.core && l.core->role() == Role::kLeader && l.stop_at == kNever) {
            l.core->resign(local(l));
            after(j);
            l.stop_at = now_ + rng_.uniform(10, 300);
            break;
          }
        }
        break;
    }
  }

  int64_t heal() {
    for (size_t i = 0; i < nodes_.size(); ++i) {
      nodes_[i]->group = 0;
      if (!nodes_[i]->core) nodes_[i]->restart_at = now_;
      nodes_[i]->stop_at = kNever;
    }
    p_.loss = 0;
    p_.duplicate = 0;
    trace("faults stop");
    return now_;
  }

  void propose(int64_t healed_at) {
    for (size_t i = 0; i < nodes_.size(); ++i) {
      Node& n = *nodes_[i];
      if (!n.core || n.core->role() != Role::kLeader) continue;
      std::string payload = fmt::format("p{}", next_payload_++);
      ProposeResult r = n.core->propose(protocol::Bytes(payload.begin(), payload.end()),
                                        static_cast<int32_t>(rng_.uniform(1, 3)), local(n));
      if (r.error != ErrorCode::NONE) fail(fmt::format("leader n{} refused a proposal: {}", n.id, static_cast<int>(r.error)));
      proposals_[payload] = Proposal{r.base_offset, r.epoch, healed_at != kNever};
      trace(fmt::format("n{} propose {} at {} epoch {}", n.id, payload, r.base_offset, r.epoch));
      after(i);
    }
  }

  static protocol::Uuid directory_of(NodeId id) {
    protocol::Uuid u{};
    u[0] = 0xd1;
    u[15] = static_cast<uint8_t>(id.value);
    return u;
  }
  static protocol::kraft::VotersRecord::Voter voter_entry(NodeId id) {
    protocol::kraft::VotersRecord::Voter v;
    v.voter_id = id.value;
    v.voter_directory_id = directory_of(id);
    v.endpoints.push_back({"CONTROLLER", fmt::format("n{}", id.value), static_cast<uint16_t>(9000 + id.value)});
    v.k_raft_version_feature.max_supported_version = 1;
    return v;
  }
  // The leader adds a caught-up non-voter or removes a voter (maybe itself).
  void change_voters() {
    for (size_t i = 0; i < nodes_.size(); ++i) {
      Node& n = *nodes_[i];
      if (!n.core || n.core->role() != Role::kLeader) continue;
      std::string why;
      if (n.core->voter_change_error(&why) != ErrorCode::NONE || !n.core->voter_set().record) return;
      protocol::kraft::VotersRecord rec = *n.core->voter_set().record;
      std::vector<NodeId> candidates;
      for (auto& m : nodes_)
        if (!n.core->voter_set().contains(m->id) && n.core->replica_caught_up(m->id, directory_of(m->id)))
          candidates.push_back(m->id);
      std::string what;
      if (!candidates.empty() && (rec.voters.size() < 2 || rng_.uniform(0, 1) == 0)) {
        NodeId add = candidates[static_cast<size_t>(rng_.uniform(0, static_cast<int64_t>(candidates.size()) - 1))];
        rec.voters.push_back(voter_entry(add));
        what = fmt::format("adds n{}", add);
      } else if (rec.voters.size() >= 2) {
        auto at = static_cast<size_t>(rng_.uniform(0, static_cast<int64_t>(rec.voters.size()) - 1));
        what = fmt::format("removes n{}", rec.voters[at].voter_id);
        rec.voters.erase(rec.voters.begin() + static_cast<std::ptrdiff_t>(at));
      } else {
        return;
      }
      ProposeResult r = n.core->propose_voters(std::move(rec), local(n));
      if (r.error != ErrorCode::NONE)
        return (void)fail(fmt::format("leader n{} refused a voter change it allowed: {}", n.id, static_cast<int>(r.error)));
      ++stats_.voter_changes;
      trace(fmt::format("n{} {} at {}", n.id, what, r.base_offset));
      return after(i);
    }
  }
  // The committed voter set below `end` (what a snapshot ending there holds).
  std::optional<protocol::kraft::VotersRecord> committed_voters_at(Offset end) const {
    if (!p_.dynamic) return std::nullopt;
    for (size_t k = committed_index(end); k-- > 0;) {
      const LogEntry& e = committed_[k];
      if (e.control && control_type_of(e.data) == protocol::kraft::control_type::VotersRecord) return parse_voters(e.data);
    }
    return initial_voters_;
  }

  void check_leader(size_t i) {
    Node& n = *nodes_[i];
    Epoch e = n.core->epoch();
    auto [it, inserted] = leaders_.emplace(e, n.id);
    if (!inserted && it->second != n.id)
      fail(fmt::format("two leaders in epoch {}: n{} and n{}", e, it->second, n.id));
    if (!inserted) return;
    // Leader completeness: a new leader holds every committed entry.
    if (auto missing = lacks_committed(n))
      fail(fmt::format("leader n{} of epoch {} lacks committed offset {}", n.id, e, *missing));
  }

  // The first committed offset the node's log (from its start; the snapshot
  // covers what is below) does not hold, if any.
  std::optional<Offset> lacks_committed(const Node& n) const {
    const auto& log = n.log.entries();
    size_t k = committed_index(n.log.start_offset());
    for (size_t j = 0; k < committed_.size(); ++k, ++j)
      if (j >= log.size() || !(log[j] == committed_[k])) return committed_[k].offset;
    return std::nullopt;
  }
  // The index in committed_ of the entry starting at `offset` (committed_.size() past the end).
  size_t committed_index(Offset offset) const {
    auto it = std::partition_point(committed_.begin(), committed_.end(), [&](const LogEntry& e) { return e.offset < offset; });
    return static_cast<size_t>(it - committed_.begin());
  }

  static protocol::Bytes encode_state(const std::vector<std::string>& applied) {
    std::string s;
    for (auto& p : applied) s += p + ",";
    return protocol::Bytes(s.begin(), s.end());
  }
  // Loads a snapshot into the node's state machine after checking it is
  // exactly the committed state below its end.
  void load_snapshot(Node& n, SnapshotId id, const protocol::Bytes& blob) {
    size_t end = committed_index(id.end_offset);
    if (end == committed_.size() ? committed_end() != id.end_offset : committed_[end].offset != id.end_offset)
      return (void)fail(fmt::format("n{}: snapshot at {} is not at a committed boundary", n.id, id.end_offset));
    if (end == 0 || committed_[end - 1].epoch != id.epoch)
      return (void)fail(fmt::format("n{}: snapshot {}-{} has the wrong epoch", n.id, id.end_offset, id.epoch));
    std::vector<std::string> state;
    for (size_t k = 0; k < end; ++k)
      if (!committed_[k].control) state.emplace_back(committed_[k].data.begin(), committed_[k].data.end());
    if (blob != encode_state(state)) return (void)fail(fmt::format("n{}: snapshot at {} differs from the committed state", n.id, id.end_offset));
    n.applied = std::move(state);
    n.applied_to = id.end_offset;
  }
  Offset committed_end() const { return committed_.empty() ? Offset(0) : committed_.back().end(); }

  // Now and then a node snapshots its applied state and its log drops the prefix.
  void maybe_snapshot(size_t i) {
    Node& n = *nodes_[i];
    if (!n.core || n.applied_to - n.log.start_offset() < 8 || rng_.uniform(0, 3) != 0) return;
    const LogEntry* last = n.log.find(n.applied_to - 1);
    if (!last || last->end() != n.applied_to) return;
    SnapshotId id{n.applied_to, last->epoch};
    n.snapshots.store(id, encode_state(n.applied));
    n.snapshot_voters[id.end_offset.value] = n.core->voters_at(id.end_offset).record;
    if (n.core->on_snapshot_created(id, local(n))) {
      ++stats_.snapshots_taken;
      trace(fmt::format("n{} snapshot {}-{}", n.id, id.end_offset, id.epoch));
    }
    after(i);
  }

  void check_commit(size_t i, Offset hw) {
    Node& n = *nodes_[i];
    const auto& log = n.log.entries();
    if (n.log.start_offset() > committed_end())
      return (void)fail(fmt::format("n{}: its log starts past the committed entries", n.id));
    size_t c = committed_index(n.log.start_offset());
    size_t k = 0;
    for (; k < log.size() && log[k].end() <= hw; ++k, ++c) {
      if (c < committed_.size()) {
        if (!(log[k] == committed_[c]))
          return (void)fail(fmt::format("n{}: committed offset {} changed", n.id, log[k].offset));
      } else {
        commit(log[k]);
      }
    }
    Offset covered = k == 0 ? n.log.start_offset() : log[k - 1].end();
    if (covered != hw) return (void)fail(fmt::format("n{}: high watermark {} is past its log or inside a batch", n.id, hw));
    // The state machine applies what the core hands out as committed.
    for (int rounds = 0; rounds < 100000 && n.applied_to < hw; ++rounds) {
      auto batch = n.core->read_committed(n.applied_to, 16);
      if (batch.empty()) return (void)fail(fmt::format("n{}: read_committed stopped below the high watermark", n.id));
      for (auto& e : batch) {
        if (e.offset != n.applied_to) return (void)fail(fmt::format("n{}: read_committed skipped offsets", n.id));
        n.applied_to = e.end();
        if (e.control) continue;
        n.applied.emplace_back(e.data.begin(), e.data.end());
        size_t at = n.applied.size() - 1;
        if (at >= applied_order_.size() || applied_order_[at] != n.applied.back())
          return (void)fail(fmt::format("n{}: applied state is not a prefix of the committed state", n.id));
      }
    }
  }

  void commit(const LogEntry& e) {
    committed_.push_back(e);
    if (e.control) return;
    std::string payload(e.data.begin(), e.data.end());
    auto it = proposals_.find(payload);
    if (it == proposals_.end()) return (void)fail("committed an entry nobody proposed");
    if (it->second.offset != e.offset || it->second.epoch != e.epoch)
      return (void)fail(fmt::format("{} acknowledged at {} but committed at {}", payload, it->second.offset, e.offset));
    if (!committed_payloads_.insert(payload).second) return (void)fail(payload + " committed twice");
    applied_order_.push_back(payload);
    if (it->second.after_heal && !live_) {
      live_ = true;  // a proposal made after the faults stopped committed
      live_at_ = now_;
      trace(fmt::format("live: {} committed at {}", payload, e.offset));
    }
  }

  void final_checks() {
    // Only the leader of the newest epoch must hold every committed entry: a deposed leader of an
    // older epoch that has not noticed yet (check-quorum resigns it later) lacks what its
    // successors committed, and cannot commit anything itself.
    Epoch newest{-1};
    for (auto& n : nodes_)
      if (n->core && n->core->role() == Role::kLeader) newest = std::max(newest, n->core->epoch());
    for (auto& n : nodes_) {
      if (!n->core || n->core->role() != Role::kLeader || n->core->epoch() != newest) continue;
      if (auto missing = lacks_committed(*n))
        return (void)fail(fmt::format("final leader n{} lost committed offset {}", n->id, *missing));
    }
  }

  Random rng_;
  Stats stats_;
  SimParams p_;
  RaftConfig cfg_;
  std::optional<protocol::kraft::VotersRecord> initial_voters_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::priority_queue<Event, std::vector<Event>, std::greater<>> events_;
  uint64_t seq_ = 0;
  int64_t now_ = 0;
  std::string violation_;
  uint64_t hash_ = 1469598103934665603ull;
  std::deque<std::string> trace_;
  std::map<Epoch, NodeId> leaders_;
  std::vector<LogEntry> committed_;
  std::vector<std::string> applied_order_;
  std::set<std::string> committed_payloads_;
  struct Proposal {
    Offset offset;
    Epoch epoch;
    bool after_heal;
  };
  std::map<std::string, Proposal> proposals_;
  uint64_t next_payload_ = 0;
  bool live_ = false;
  int64_t live_at_ = 0;
};

}  // namespace samsa::raft::sim
