// The metadata log of a multi-node KRaft quorum: raft::MetadataLog driven by
// a raft::RaftCore. The core is a deterministic state machine; this class is
// its driver on a real event loop:
//
// - time: a timer fires at core.next_deadline() (samsa::Clock's monotonic time);
// - output, strictly in order (write before act): the quorum-state is written
//   on the FlushThread and waited for before anything later is sent; a log
//   sync is started on the FlushThread and reported with on_log_synced(); the
//   messages are sent (requests through QuorumPeers, whose answers are fed
//   back with the request's correlation id; answers to inbound requests go to
//   the waiting handle_message() call); a raised high watermark hands the
//   committed data batches (never the control batches) to the commit listener
//   and then completes the appends it covers;
// - append(values) = one batch proposed to the core, completed when the high
//   watermark passes it; NOT_LEADER_OR_FOLLOWER when this node is not the
//   *ready* leader or loses leadership before the commit.
//
// A new leader is "ready" only once the high watermark has passed the
// LeaderChange batch that opens its epoch: everything committed before it has
// then reached the listener (the metadata loader), so the controller that
// validates against the loader's image sees every committed record. Until
// then leader() names no leader and appends are refused, which the
// controller answers as NOT_CONTROLLER (clients retry).
//
// Threads: everything runs on the executor given at construction (shard 0's
// event loop in the broker): the core, its RaftLog, the listener, append(),
// handle_message(). Only the quorum-state writes and log syncs run on the
// FlushThread.
#pragma once
#include <asio.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/random.h"
#include "raft/flush_thread.h"
#include "raft/metadata_log.h"
#include "raft/quorum_state.h"
#include "raft/raft_core.h"
#include "raft/raft_log.h"
#include "storage/status.h"

namespace samsa::quorum {

// Carries one quorum request to another node and returns its answer; nullopt
// when none came (timeout, lost connection, malformed answer): the core
// retries on its own schedule. Called on the driver's executor.
class QuorumPeers {
 public:
  virtual ~QuorumPeers() = default;
  virtual asio::awaitable<std::optional<raft::MessageBody>> request(NodeId to, raft::MessageBody request,
                                                                   std::chrono::milliseconds timeout) = 0;
  // Fails what is in flight and refuses later requests (shutdown).
  virtual void close() {}
};

// Durability of the RaftLog: prepare() (driver's thread) returns the blocking
// fsync to run on the FlushThread; complete() (driver's thread) reports its
// result, after which log.flushed_end_offset() covers what was prepared.
class LogSyncer {
 public:
  virtual ~LogSyncer() = default;
  virtual std::function<storage::Status()> prepare() = 0;
  virtual void complete(const storage::Status& status) = 0;
};

// MemoryRaftLog's sync (tests): nothing to wait for.
class MemoryLogSyncer final : public LogSyncer {
 public:
  explicit MemoryLogSyncer(raft::MemoryRaftLog& log) : log_(log) {}
  std::function<storage::Status()> prepare() override {
    return [] { return storage::Status::ok(); };
  }
  void complete(const storage::Status& status) override {
    if (status) log_.sync();
  }

 private:
  raft::MemoryRaftLog& log_;
};

struct QuorumLogStats {
  uint64_t requests_sent = 0;
  uint64_t requests_failed = 0;  // no answer (timeout, disconnect, malformed)
  uint64_t inbound = 0;
  uint64_t persists = 0;
  uint64_t syncs = 0;
};

class QuorumMetadataLog final : public raft::MetadataLog {
 public:
  // Every reference must outlive the log. `seed` seeds the election jitter.
  QuorumMetadataLog(asio::any_io_executor ex, raft::RaftConfig config, raft::RaftLog& log, LogSyncer& syncer,
                    raft::QuorumStateStore& state, raft::FlushThread& flush, QuorumPeers& peers, Clock& clock,
                    uint64_t seed);
  ~QuorumMetadataLog() override;
  QuorumMetadataLog(const QuorumMetadataLog&) = delete;
  QuorumMetadataLog& operator=(const QuorumMetadataLog&) = delete;

  // Reads the quorum-state file and starts the core and its timer. An error
  // message (the file is unreadable) or "". On the driver's executor.
  std::string start();
  // Graceful shutdown: a leader resigns (EndQuorumEpoch to the voters, so a
  // successor is elected without waiting for a timeout), waiting at most
  // `grace` for those messages to be answered; then stops the timer, fails
  // pending appends and closes the peers. Idempotent.
  asio::awaitable<void> stop(std::chrono::milliseconds grace);

  // ---- raft::MetadataLog ----
  NodeId local_id() const override { return config_.local_id; }
  raft::LeaderAndEpoch leader() const override;
  void set_commit_listener(CommitListener listener) override { listener_ = std::move(listener); }
  bool catching_up() const override;
  bool replay_is_complete() const override { return false; }
  void set_caught_up_listener(std::function<void()> listener) override { caught_up_listener_ = std::move(listener); }
  asio::awaitable<raft::AppendResult> append(std::vector<protocol::Bytes> values) override;
  // The committed records this node knows of (those below its high
  // watermark; none before it has heard from a leader): a restarted node gets
  // the rest through the listener once the quorum tells it the high watermark.
  storage::Status replay(const std::function<void(Offset offset, std::span<const uint8_t> value)>& fn) override;

  // An inbound quorum request (decoded; `from` is its replica/candidate/leader
  // id): handed to the core, its answer returned once the core gives it —
  // after the quorum-state it depends on is durable. nullopt when the core
  // gave none within `timeout` (the caller closes the connection).
  asio::awaitable<std::optional<raft::MessageBody>> handle_message(raft::MessageBody request,
                                                                  std::chrono::milliseconds timeout);

  // The core's raw view (role, epoch, high watermark) and the leader's view
  // of the replicas (DescribeQuorum).
  const raft::RaftCore& core() const { return *core_; }
  const raft::RaftConfig& config() const { return config_; }
  std::vector<raft::RaftCore::ReplicaInfo> replica_states() const { return core_->replica_states(); }
  // The leader as the core knows it, ready or not (DescribeQuorum, the controller channel).
  raft::LeaderAndEpoch raft_leader() const;
  const QuorumLogStats& stats() const { return stats_; }
  // Offsets handed to the listener so far (the next one to apply).
  Offset applied_offset() const { return applied_; }
  // Called whenever leader() may have changed (on the driver's executor).
  void set_leader_listener(std::function<void(raft::LeaderAndEpoch)> fn) { leader_listener_ = std::move(fn); }
  // ---- snapshots (KIP-630; quorum/metadata_snapshots.h uses these) ----
  struct SnapshotHooks {
    // Committed batches reached the listener: everything below `applied.end_offset`
    // is applied, `applied.epoch` is the last batch's epoch, `bytes` their size.
    std::function<void(raft::SnapshotId applied, int64_t bytes)> applied;
    // Output::install_snapshot: store the snapshot durably (on the FlushThread).
    std::function<asio::awaitable<storage::Status>(raft::SnapshotId, std::shared_ptr<const protocol::Bytes>)> store;
    // The core accepted the stored snapshot: the state machine loads it.
    std::function<void(raft::SnapshotId, const protocol::Bytes&)> installed;
  };
  // Before start(). `reader` serves FetchSnapshot (must outlive the log).
  void set_snapshot_hooks(SnapshotHooks hooks, const raft::SnapshotReader* reader) {
    snapshot_hooks_ = std::move(hooks);
    snapshot_reader_ = reader;
  }
  // Before start(): the state machine already holds a snapshot of everything
  // below `end`; committed batches are handed to the listener from there.
  void start_after(Offset end) { applied_ = std::max(applied_, end); }
  // A snapshot of everything below id.end_offset is durable: the log drops
  // that prefix (RaftCore::on_snapshot_created). False when the core refused it.
  bool snapshot_created(raft::SnapshotId id);
  // A dynamic quorum's voter set as of the log below `end` (committed when `end` is at most the
  // high watermark): what a snapshot ending there records. nullopt for a static quorum.
  std::optional<protocol::kraft::VotersRecord> voters_at(Offset end) const {
    if (!core_) return std::nullopt;
    return core_->voters_at(end).record;
  }

  // ---- voter changes (KIP-853; voter_changes.cc) ----
  struct VoterChangeAnswer {
    ErrorCode error = ErrorCode::NONE;
    std::string message;
  };
  // AddRaftVoter on the leader: waits (within `timeout`) until the node has
  // caught up as an observer (fetching with this directory id), appends the
  // voter set with it and waits for that to commit. Kafka's errors: see
  // RaftCore::voter_change_error, DUPLICATE_VOTER, REQUEST_TIMED_OUT.
  asio::awaitable<VoterChangeAnswer> add_voter(protocol::kraft::VotersRecord::Voter voter,
                                               std::chrono::milliseconds timeout);
  // RemoveRaftVoter on the leader (VOTER_NOT_FOUND for a voter not in the set
  // with that directory id). Removing the leader itself: it resigns once the
  // new set commits.
  asio::awaitable<VoterChangeAnswer> remove_voter(NodeId id, protocol::Uuid directory_id,
                                                  std::chrono::milliseconds timeout);
  // UpdateRaftVoter on the leader: the voter (id and directory id) gets the
  // endpoints and kraft.version range of `voter`; the new set is appended and
  // the answer waits for it to commit. NONE without an append when nothing
  // changes; VOTER_NOT_FOUND for a replica key not in the set; INVALID_REQUEST
  // when the voter's range does not include kraft.version 1.
  asio::awaitable<VoterChangeAnswer> update_voter(protocol::kraft::VotersRecord::Voter voter,
                                                  std::chrono::milliseconds timeout);
  // Called on the driver's executor whenever the core's voter set changed
  // (before start() returns, then as VotersRecords are appended or truncated).
  void set_voters_listener(std::function<void(const raft::VoterSet&)> fn) { voters_listener_ = std::move(fn); }
  // Called with the leader's endpoint from a Fetch answer (an observer that
  // found the leader through a bootstrap server reaches it there).
  void set_endpoint_listener(std::function<void(NodeId, const raft::FetchResponse::Endpoint&)> fn) {
    endpoint_listener_ = std::move(fn);
  }

  // Whether the core stopped (a failed disk write): the process should exit.
  bool failed() const { return !fatal_.empty(); }
  const std::string& failure() const { return fatal_; }

 private:
  struct AppendWaiter;
  struct InboundWaiter;

  int64_t now() const { return clock_.monotonic_ms(); }
  // Takes the core's output after every call into it and queues it for the pump.
  void collect();
  asio::awaitable<void> pump(std::shared_ptr<bool> alive);
  asio::awaitable<void> tick_loop(std::shared_ptr<bool> alive);
  asio::awaitable<void> send_request(raft::Message m, std::shared_ptr<bool> alive);
  asio::awaitable<void> run_sync(std::shared_ptr<bool> alive);
  asio::awaitable<void> install_snapshot(raft::Output::InstallSnapshot snap, std::shared_ptr<bool> alive);
  void dispatch(raft::Message m);
  void deliver_committed();
  void complete_appends();
  void fail_appends(ErrorCode error, const std::string& why);
  void fail(std::string why);
  bool ready_leader() const;
  // Waits until the batch ending at `last_offset` commits (or the append fails,
  // or `deadline` passes: nullopt).
  asio::awaitable<std::optional<raft::AppendResult>> await_commit(int64_t last_offset,
                                                                  std::chrono::steady_clock::time_point deadline);
  asio::awaitable<VoterChangeAnswer> commit_voters(protocol::kraft::VotersRecord record,
                                                   std::chrono::steady_clock::time_point deadline);

  asio::any_io_executor ex_;
  raft::RaftConfig config_;
  raft::RaftLog& log_;
  LogSyncer& syncer_;
  raft::QuorumStateStore& state_;
  raft::FlushThread& flush_;
  QuorumPeers& peers_;
  Clock& clock_;
  Random rng_;
  std::unique_ptr<raft::RaftCore> core_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);

  CommitListener listener_;
  std::function<void()> caught_up_listener_;
  std::optional<Offset> handing_;  // the end of the batch the listener is being handed
  SnapshotHooks snapshot_hooks_;
  const raft::SnapshotReader* snapshot_reader_ = nullptr;
  std::function<void(raft::LeaderAndEpoch)> leader_listener_;
  std::function<void(const raft::VoterSet&)> voters_listener_;
  std::function<void(NodeId, const raft::FetchResponse::Endpoint&)> endpoint_listener_;
  uint64_t voters_seen_ = ~uint64_t{0};  // the core's voters_version() last reported
  std::deque<raft::Output> queue_;  // outputs not yet carried out, in order
  bool pumping_ = false;
  bool sync_running_ = false;
  asio::steady_timer tick_timer_;
  bool stopped_ = false;
  std::string fatal_;

  Offset applied_{0};          // next offset to hand to the listener
  Offset ready_offset_{-1};    // Leader: ready once the high watermark reaches this (its LeaderChange's end)
  Epoch ready_epoch_{-1};      // the epoch ready_offset_ belongs to
  Epoch announced_epoch_{-1};  // the last epoch this node announced itself ready in
  std::map<int64_t, std::shared_ptr<AppendWaiter>> appends_;  // by last offset
  uint64_t next_inbound_ = 1;
  std::map<uint64_t, std::shared_ptr<InboundWaiter>> inbound_;  // by the correlation id given to the core
  size_t max_inbound_ = 1024;  // bound on inbound requests waiting for the core
  QuorumLogStats stats_;
};

// Whether the body is an answer (as opposed to a request).
bool is_response(const raft::MessageBody& body);
// One v2 record batch holding `values` (base offset 0: the log sets it).
protocol::Bytes build_data_batch(const std::vector<protocol::Bytes>& values, int64_t timestamp_ms);

}  // namespace samsa::quorum
