// The Raft core of the metadata quorum, as in Kafka's KRaft (KIP-595, with
// pre-vote from KIP-996): a deterministic state machine. It is fed inbound
// messages (handle), the passage of time (tick), proposals (propose) and the
// completion of log syncs (on_log_synced), and answers with an Output: the
// quorum state to persist, whether to start a log sync, the messages to send
// and notifications (high watermark raised, leader changed). It reads no clock
// (every call carries `now_ms`, a monotonic time; a time going back is taken as
// no time passing), no randomness but the Random it is handed, and no socket.
//
// Roles (Kafka's): Unattached (epoch known, no leader; may have voted),
// Prospective (pre-vote round at the current epoch), Candidate (epoch bumped,
// voted for itself), Leader, Follower (fetching from the leader), Resigned
// (the leader of this epoch stepped down: graceful shutdown, lost quorum, or a
// restart — a restarted leader never leads its old epoch again, since it may
// have lost unsynced entries of it). Observers (nodes not in the voter set)
// fetch but never vote or stand.
//
// Rules the driver must keep (write before act): after every call, take the
// Output and, in this order, (1) durably write `persist` if set (the quorum-state
// file), (2) start a log sync if `sync_log` (report it with on_log_synced()
// once flushed_end_offset() covers it), (3) send `messages`. A node that cannot
// persist must stop.
//
// Commit rule: an offset is committed (below the high watermark) when a
// majority of voters have it durably (the leader counts its own flushed end
// offset, a follower's Fetch offset counts only what it synced) and an entry of
// the leader's current epoch is among them; the first entry of every epoch is
// the leader's LeaderChange control batch.
//
// Threads: a RaftCore, its RaftLog and its Random belong to one thread (the
// broker will drive it from shard 0's event loop); nothing in it is shared.
#pragma once
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/random.h"
#include "raft/quorum_state.h"
#include "raft/raft_log.h"
#include "raft/raft_messages.h"
#include "raft/raft_snapshot.h"
#include "raft/voter_history.h"

namespace samsa::raft {

enum class Role : uint8_t { kUnattached, kProspective, kCandidate, kLeader, kFollower, kResigned };
const char* role_name(Role role);

struct ProposeResult {
  // NONE; NOT_LEADER_OR_FOLLOWER; KAFKA_STORAGE_ERROR (the log failed); INVALID_REQUEST.
  ErrorCode error = ErrorCode::NONE;
  Offset base_offset{-1};
  Offset last_offset{-1};  // committed once the high watermark passes it
  Epoch epoch{-1};
};

struct Output {
  std::optional<QuorumStateData> persist;  // first, durably
  bool sync_log = false;                   // then start an fsync of the log
  std::vector<Message> messages;           // then send
  std::optional<Offset> high_watermark;    // raised: offsets below it are committed
  std::optional<LeaderAndEpoch> leader;    // the known leader or epoch changed
  std::string fatal;                       // the core stopped (a log write failed, a protocol violation)
  // A snapshot fetched from the leader: store it durably, then call
  // on_snapshot_installed(id) (and load it into the state machine if that accepts).
  struct InstallSnapshot {
    SnapshotId id;
    protocol::Bytes bytes;
  };
  std::optional<InstallSnapshot> install_snapshot;
  bool empty() const {
    return !persist && !sync_log && messages.empty() && !high_watermark && !leader && fatal.empty() && !install_snapshot;
  }
};

class RaftCore {
 public:
  static constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

  // `restored` is what the quorum-state file held (nullopt: a fresh node).
  RaftCore(RaftConfig config, RaftLog& log, Random& rng, std::optional<QuorumStateData> restored, int64_t now_ms);

  void handle(const Message& message, int64_t now_ms);
  void tick(int64_t now_ms);
  // Appends one batch of `records` records (leader only); it commits when the
  // high watermark passes result.last_offset.
  ProposeResult propose(protocol::Bytes data, int32_t records, int64_t now_ms);
  // A sync started for Output::sync_log finished; log.flushed_end_offset() is current.
  void on_log_synced(int64_t now_ms);
  // Graceful shutdown of a leader: stop accepting proposals, ask the voters to
  // elect another (EndQuorumEpoch). A no-op in other roles.
  void resign(int64_t now_ms);

  // ---- snapshots (KIP-630; raft_core_snapshot.cc) ----
  // Where the leader reads the snapshots it serves with FetchSnapshot (none: no
  // FetchSnapshot is answered). Must outlive the core.
  void set_snapshot_reader(const SnapshotReader* reader) { snapshots_ = reader; }
  // The state machine durably wrote a snapshot of everything below
  // id.end_offset (committed, an entry boundary, id.epoch the epoch of the batch
  // before it): the log drops that prefix. False if the id does not qualify.
  bool on_snapshot_created(SnapshotId id, int64_t now_ms);
  // The snapshot of Output::install_snapshot is durable: the log restarts at
  // its end. False if it is no longer wanted (do not load it then). `voters`:
  // the VotersRecord the snapshot holds (KIP-853), the voter set at its end.
  bool on_snapshot_installed(SnapshotId id, int64_t now_ms,
                             std::optional<protocol::kraft::VotersRecord> voters = std::nullopt);

  Output take_output() { return std::exchange(out_, Output{}); }

  Role role() const { return role_; }
  Epoch epoch() const { return epoch_; }
  // The leader this node knows for its epoch (none while it is Resigned).
  LeaderAndEpoch leader() const { return {role_ == Role::kResigned ? std::nullopt : leader_, epoch_}; }
  std::optional<NodeId> voted_id() const { return voted_; }
  std::optional<Offset> high_watermark() const { return hw_; }
  bool is_voter() const { return is_voter(cfg_.local_id); }
  bool failed() const { return !fatal_.empty(); }
  NodeId local_id() const { return cfg_.local_id; }
  // The next time tick() has something to do (a driver may sleep until then).
  int64_t next_deadline() const;
  // Committed batches from `from` (below the high watermark), for the state
  // machine above: it applies them in order, skipping control batches. Below
  // the log's start offset the state is in the snapshot the log starts after.
  std::vector<LogEntry> read_committed(Offset from, size_t max_entries) const;

  // ---- voter changes (KIP-853; raft_core_voters.cc) ----
  // The newest voter set of the log (appended, committed or not: KIP-853's rule).
  const VoterSet& voter_set() const { return voters_.latest(); }
  // The voter set in force below `end` (what a snapshot ending there holds).
  const VoterSet& voters_at(Offset end) const { return voters_.at(end); }
  // Changes whenever voter_set() may have (a driver refreshes its peers' addresses).
  uint64_t voters_version() const { return voters_.version(); }
  // Whether the leader may append a new voter set now: NONE, or
  // NOT_LEADER_OR_FOLLOWER; UNSUPPORTED_VERSION (a static quorum, kraft.version
  // 0); REQUEST_TIMED_OUT (the leader has not committed in its epoch yet, or
  // an earlier change is not committed: one change at a time). `why` explains.
  ErrorCode voter_change_error(std::string* why) const;
  // Appends `record` as the new voter set (a Voters control batch); the
  // majorities use it at once; it commits when the high watermark passes
  // result.last_offset. A leader that removed itself resigns after the commit.
  ProposeResult propose_voters(protocol::kraft::VotersRecord record, int64_t now_ms);
  // Leader: the replica fetched within the fetch timeout, with this directory
  // id, up to the high watermark (an observer may then be added as a voter).
  bool replica_caught_up(NodeId id, const protocol::Uuid& directory_id) const;

  // The leader's view of each replica, for DescribeQuorum (empty unless leader).
  struct ReplicaInfo {
    NodeId id;
    bool voter = false;
    protocol::Uuid directory_id{};
    Offset log_end_offset{-1};  // its last fetch offset; the leader's own end for itself
    int64_t last_fetch_ms = -1;
  };
  std::vector<ReplicaInfo> replica_states() const;
  QuorumStateData quorum_state() const;

 private:
  struct ReplicaState {  // the leader's view of one fetching replica
    Offset acked{-1};    // its last fetch offset: durable on it
    int64_t last_fetch_ms = -1;
    bool begin_acked = false;
    int64_t begin_sent_ms = -1;
    Offset hw_sent{-1};  // the high watermark it was last told
    protocol::Uuid directory_id{};
  };
  struct ParkedFetch {
    Message request;
    int64_t deadline_ms;
  };

  // ---- transitions (raft_core.cc) ----
  void become_unattached(Epoch epoch, std::optional<NodeId> voted);
  void become_follower(NodeId leader, Epoch epoch);
  void become_prospective();
  void become_candidate();
  void become_leader();
  void request_votes(bool pre_vote);
  void become_resigned(bool send_end_epoch);
  void adopt_higher_epoch(Epoch epoch, std::optional<NodeId> leader);
  void leave_role();
  void persist();
  void notify_leader();
  int64_t random_election_timeout();
  int64_t election_backoff(int attempt);
  const std::vector<NodeId>& voter_ids() const { return voters_.latest().ids; }
  size_t majority() const { return voter_ids().size() / 2 + 1; }
  size_t count_voters(const std::set<NodeId>& ids) const;
  // Whether this node takes part in elections (stands, votes): a voter of the
  // newest set, or one whose removal is not committed yet (Raft's rule: it
  // still belongs to the committed set; it does not count its own vote).
  bool participates() const;
  bool is_voter(NodeId id) const;
  void send(NodeId to, uint64_t correlation_id, MessageBody body);
  void respond(const Message& request, MessageBody body) { send(request.from, request.correlation_id, std::move(body)); }
  void fail(std::string why);

  // ---- elections (raft_core.cc) ----
  void on_vote_request(const Message& m, const VoteRequest& req);
  void on_vote_response(const Message& m, const VoteResponse& resp);
  void on_begin_epoch(const Message& m, const BeginQuorumEpochRequest& req);
  void on_end_epoch(const Message& m, const EndQuorumEpochRequest& req);
  void on_epoch_response(const Message& m, const QuorumEpochResponse& resp);
  bool can_grant(const VoteRequest& req, bool log_up_to_date) const;
  void count_vote(NodeId from, bool granted);
  void tick_leader();

  // ---- replication (raft_core_fetch.cc) ----
  void on_fetch_request(const Message& m, const FetchRequest& req);
  void on_fetch_response(const Message& m, const FetchResponse& resp);
  void answer_fetch(const Message& m, const FetchRequest& req, bool may_park);
  void answer_parked(bool all);
  bool append_from_leader(const FetchResponse& resp);
  void maybe_send_fetch();
  void request_sync();
  void maybe_advance_high_watermark();
  void raise_high_watermark(Offset hw);
  FetchResponse fetch_error(ErrorCode error) const;
  bool needs_snapshot(const FetchRequest& req) const;

  // ---- voter sets (raft_core_voters.cc) ----
  void load_voters();                      // the base set and the log's VotersRecords
  void note_appended(const LogEntry& e);   // a VotersRecord batch changes the set at once
  void maybe_resign_removed();             // a leader whose removal committed steps down
  std::optional<FetchResponse::Endpoint> endpoint_of(NodeId id) const;

  // ---- snapshots (raft_core_snapshot.cc) ----
  void on_fetch_snapshot_request(const Message& m, const FetchSnapshotRequest& req);
  void on_fetch_snapshot_response(const Message& m, const FetchSnapshotResponse& resp);
  void start_snapshot_fetch(SnapshotId id, Epoch leader_epoch);
  void send_snapshot_fetch();

  RaftConfig cfg_;
  RaftLog& log_;
  VoterHistory voters_;
  Random& rng_;
  int64_t now_ = 0;
  Output out_;
  std::string fatal_;
  uint64_t next_correlation_ = 1;

  // What the quorum-state file holds (written whenever one of them changes).
  Role role_ = Role::kUnattached;
  Epoch epoch_{0};
  std::optional<NodeId> voted_;
  std::optional<NodeId> leader_;
  std::optional<Offset> hw_;
  LeaderAndEpoch notified_leader_{std::nullopt, Epoch(-1)};

  int64_t election_deadline_ = kNever;  // Unattached, Prospective, Candidate, Resigned
  bool backing_off_ = false;            // Prospective/Candidate: the round failed, waiting to retry
  int election_attempts_ = 0;
  std::map<NodeId, uint64_t> vote_requests_;  // this round's outstanding requests
  std::set<NodeId> granted_;
  std::set<NodeId> rejected_;

  int64_t fetch_deadline_ = kNever;  // Follower: the leader has been silent this long
  std::optional<uint64_t> fetch_in_flight_;
  int64_t fetch_sent_ms_ = 0;
  int64_t fetch_retry_ms_ = 0;  // do not fetch before this (after an error)
  bool fetched_from_leader_ = false;
  bool leader_resigned_ = false;
  bool sync_in_flight_ = false;

  std::map<NodeId, ReplicaState> replicas_;  // Leader
  std::map<NodeId, ParkedFetch> parked_;     // Leader: fetches waiting for data
  Offset epoch_start_{0};                    // Leader: offset of its LeaderChange batch

  const SnapshotReader* snapshots_ = nullptr;
  struct PendingSnapshot {
    SnapshotId id;
    protocol::Bytes bytes;
    int64_t size = -1;
  };
  std::optional<PendingSnapshot> snapshot_fetch_;  // Follower: chunks received so far
  std::optional<SnapshotId> installing_;           // handed to the driver, not yet installed
};

}  // namespace samsa::raft
