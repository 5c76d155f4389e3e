// A partition replica hosted by this broker: the log plus the replication state
// around it — its role (leader / follower / none) and leader epoch, given by the
// ReplicaManager from the metadata image, the high watermark, and the fetches
// waiting for its data (FetchWaitingRoom).
//
// Invariants (asserted): high watermark <= log end offset; the leader epoch
// only rises. On one node the replica leads with an ISR of itself, so the high
// watermark advances to the log end after every append, and the epoch is 0.
//
// Ownership: owned by exactly one shard (its ReplicaManager) — the shard whose
// thread built it — and every method but tp(), topic_id(), offline() and
// alive_token() runs on that shard's thread, which they assert
// (base/shard_affinity.h). Other shards reach it through invoke_on / fan_out.
#pragma once
#include <asio.hpp>
#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "base/error_code.h"
#include "base/shard_affinity.h"
#include "base/types.h"
#include "protocol/wire.h"
#include "base/clock.h"
#include "replication/delayed_fetch.h"
#include "replication/replica_state.h"
#include "storage/log.h"
#include "storage/topic_partition.h"

namespace samsa::replication {

using storage::TopicPartition;
using storage::TopicPartitionHash;

enum class Role : uint8_t { kNone, kLeader, kFollower };

struct AppendOutcome {
  ErrorCode error = ErrorCode::NONE;
  std::string message;
  int64_t base_offset = -1;
  int64_t last_offset = -1;
  int64_t log_append_time = -1;
  int64_t log_start_offset = -1;
  bool duplicate = false;  // an idempotent retry answered with its original offsets
};

struct ReadOutcome {
  ErrorCode error = ErrorCode::NONE;
  int64_t high_watermark = -1;
  int64_t log_start_offset = -1;
  int64_t log_end_offset = -1;
  int64_t last_stable_offset = -1;
  std::vector<protocol::FileChunk> chunks;
  size_t bytes = 0;
  std::vector<storage::AbortedTxn> aborted;  // read_committed: aborted transactions in range
};

// A follower's fetch as the leader served it: what the ISR / high-watermark
// state (replica_state.h) needs to track the follower (Kafka's
// updateFollowerFetchState). Passed to the FollowerFetchListener.
struct FollowerFetch {
  NodeId replica{-1};
  Offset fetch_offset{-1};      // the follower's log end offset
  Offset log_start_offset{-1};  // the follower's log start (-1: not given)
  Offset leader_end_offset{-1}; // this leader's log end when it read
  int64_t broker_epoch = -1;    // ReplicaState.replica_epoch (Fetch v15+), else -1
  int64_t now_ms = 0;
};
using FollowerFetchListener = std::function<void(const FollowerFetch&)>;

// Where a leader's ISR proposals go (the broker sends them to the controller
// as AlterPartition and hands the answer to on_isr_answer). Runs on the
// partition's shard.
// Called with the error when an I/O error failed the log (the log dir goes
// offline); runs on the partition's shard.
using IoErrorHandler = std::function<void(const storage::Status&)>;

class Partition;
// Where a leader's ISR proposals go (the broker sends them to the controller
// as AlterPartition and hands the answer back to on_isr_answer). Runs on the
// partition's shard.
using IsrProposalSink = std::function<void(Partition&, const IsrProposal&)>;

class Partition {
 public:
  // `dir_online`: the shared online flag of the log dir (null: always online).
  Partition(TopicPartition tp, protocol::Uuid topic_id, std::unique_ptr<storage::Log> log,
            std::shared_ptr<const std::atomic<bool>> dir_online = nullptr, IoErrorHandler on_io_error = nullptr);
  ~Partition();

  const TopicPartition& tp() const { return tp_; }
  const protocol::Uuid& topic_id() const { return topic_id_; }
  storage::Log& log() {
    on_owner();
    return *log_;
  }
  // The log failed or its log dir went offline: Produce and Fetch answer
  // KAFKA_STORAGE_ERROR, maintenance and flushes leave it alone.
  bool offline() const {
    return log_->failed() || (dir_online_ && !dir_online_->load(std::memory_order_acquire));
  }
  // An operation on the log failed with `st`: if the log is now failed, its
  // log dir is reported (offline).
  void check_io_error(const storage::Status& st);

  // The controller made this replica the leader (or a follower) at `epoch`,
  // which is never below the current one. A change of role or epoch wakes the
  // waiting fetches (they re-read and see the new state).
  void become_leader(Epoch epoch);
  void become_follower(Epoch epoch);
  Role role() const {
    on_owner();
    return role_;
  }
  // The epoch of the current role (-1 before any), stamped on appended batches.
  Epoch leader_epoch() const {
    on_owner();
    return leader_epoch_;
  }
  // The latest epoch recorded in the log's leader-epoch cache (-1: none yet).
  Epoch latest_log_epoch() const {
    on_owner();
    return Epoch(log_->leader_epoch_cache().latest_epoch());
  }

  // --- replication, leader side (partition_leader.cc) ----------------------
  // The partition's registration in the metadata image (leader, epochs,
  // replicas, ISR). The first one creates the replica state (its high
  // watermark the checkpointed one); a stale one (replica_state.h) changes
  // nothing and returns false. Takes the role and epoch (become_leader /
  // become_follower); a new leader epoch led here starts at the log end in the
  // leader-epoch cache.
  bool apply_registration(const LeaderAndIsr& registration, const ReplicaConfig& cfg, NodeId local,
                          int64_t local_broker_epoch);
  // The broker clock (monotonic time for the ISR rules and acks=all waits)
  // and where ISR proposals go; set once by the replica manager.
  void set_replication(const Clock* clock, IsrProposalSink sink) {
    clock_ = clock;
    isr_sink_ = std::move(sink);
  }
  // A replica fenced or shutting down is not added to the ISR (KIP-841).
  void set_replica_eligible(NodeId replica, bool eligible);
  // Before a produce appends: NOT_ENOUGH_REPLICAS for acks=-1 when the ISR
  // is below min.insync.replicas.
  ErrorCode check_append(int16_t acks) const;
  // acks=-1 after the append: resumes once the high watermark reaches
  // `required` (NONE, or NOT_ENOUGH_REPLICAS_AFTER_APPEND when the ISR then
  // is below min.insync.replicas), at `timeout_ms` with REQUEST_TIMED_OUT, or
  // with NOT_LEADER_OR_FOLLOWER when leadership is lost or the partition goes.
  asio::awaitable<ErrorCode> wait_for_isr(Offset required, int64_t timeout_ms);
  // The timer (every replica.lag.time.max.ms / 2): followers that have not
  // caught up leave the ISR; a proposal whose answer was lost is sent again.
  void tick();
  // The controller answered an ISR proposal.
  void on_isr_answer(const IsrAnswer& answer);
  // Null before the first registration.
  const ReplicaState* replica_state() const {
    on_owner();
    return state_.get();
  }

  // Appends validated batches (patched in place with offsets), stamped with
  // the leader epoch (0 before any role: one node). Credits waiting fetches.
  // A transaction marker voids its producer's verification (below).
  AppendOutcome append(std::span<uint8_t> batches, int64_t now_ms);

  // KIP-890's verification guard. A producer's first transactional batch at an epoch is
  // checked with its transaction coordinator before it is appended; a marker of that
  // producer appended while the check was out means the transaction it was checked against
  // has ended, and the batch must not open a new one here. begin_txn_verification returns
  // the producer's token (the same one to concurrent first batches); the batch is appended
  // only while txn_verification_holds.
  uint64_t begin_txn_verification(int64_t producer_id);
  bool txn_verification_holds(int64_t producer_id, uint64_t token) const;
  // The producer has a transaction open here at `epoch`: its batches need no check.
  bool txn_open_for(int64_t producer_id, int16_t epoch) const;
  // A follower's append of what it fetched from its leader: the batches as
  // the leader wrote them (storage::Log::append_as_follower). The high
  // watermark does not move: a follower learns it from the leader.
  AppendOutcome append_as_follower(std::span<const uint8_t> batches, int64_t now_ms);
  // read_committed reads stop at the last stable offset instead of the HW.
  ReadOutcome read(int64_t offset, size_t max_bytes, bool min_one_batch, bool read_committed = false);

  // A follower's read (Fetch with a replica id): up to the log end, not the
  // high watermark; never read_committed.
  ReadOutcome read_for_follower(int64_t offset, size_t max_bytes);
  // Kafka's checkCurrentLeaderEpoch for a request naming the epoch it
  // believes current: -1 passes; older than this replica's epoch
  // FENCED_LEADER_EPOCH, newer UNKNOWN_LEADER_EPOCH.
  ErrorCode check_leader_epoch(Epoch current_leader_epoch) const;
  // OffsetsForLeaderEpoch from the log's leader-epoch cache: the largest
  // epoch <= `epoch` and its end offset (the start of the next epoch, or the
  // log end for the latest); {-1, -1} when unknown.
  storage::EpochEndOffset end_offset_for_epoch(Epoch epoch) const;
  // The fetch handler reports every follower fetch it served (without a
  // diverging epoch) here: the leader's ISR / high-watermark state learns the
  // follower's log end (partition_leader.cc), then the listener (tests) sees it.
  void on_follower_fetch(const FollowerFetch& fetch);
  // KIP-392: the follower (in the consumer's rack, `same_rack`) a consumer
  // should read fetch_offset from; none when the leader serves it
  // (ReplicaState::preferred_read_replica).
  std::optional<NodeId> preferred_read_replica(std::span<const NodeId> same_rack, Offset fetch_offset) const {
    on_owner();
    return state_ ? state_->preferred_read_replica(same_rack, fetch_offset) : std::nullopt;
  }
  void set_follower_fetch_listener(FollowerFetchListener listener) {
    on_owner();
    follower_fetch_listener_ = std::move(listener);
  }

  // Offsets below it are committed (replicated to the ISR) and visible to
  // consumers. A leader whose ISR is itself moves it to the log end on append.
  Offset high_watermark() const;
  Offset log_start_offset() const;
  Offset log_end_offset() const;
  Offset last_stable_offset() const {
    on_owner();
    return Offset(log_->last_stable_offset(high_watermark().value));
  }

  std::pair<int64_t, int64_t> max_timestamp_and_offset() const;
  // {offset, timestamp} of the first record with timestamp >= ts, if any.
  std::optional<std::pair<int64_t, int64_t>> offset_for_timestamp(int64_t ts) const;

  // Durability (group commit, see Flusher): offsets below durable_offset() are fdatasync'ed.
  Offset durable_offset() const {
    on_owner();
    return Offset(log_->recovery_point());
  }
  storage::FlushTicket prepare_flush() const {
    on_owner();
    return log_->prepare_flush();
  }
  void complete_flush(const storage::FlushTicket& t) {
    on_owner();
    log_->complete_flush(t);
  }
  std::weak_ptr<bool> alive_token() const { return alive_; }
  void close();
  // The replica moved to another log dir (log_dir_moves.h): `log`, the same
  // offsets and data opened from there, replaces the current one (already
  // closed and renamed away). Waiting fetches read again.
  void replace_log(std::unique_ptr<storage::Log> log, std::shared_ptr<const std::atomic<bool>> dir_online);

  // Registers a fetch that read this partition and waits for more bytes.
  void add_fetch_waiter(const std::shared_ptr<DelayedFetch>& fetch, const FetchWatch& watch) {
    on_owner();
    fetch_waiters_.add(fetch, watch);
  }
  size_t fetch_waiters() const { return fetch_waiters_.size(); }
  void set_config(const storage::LogConfig& cfg);
  const storage::LogConfig& config() const {
    on_owner();
    return config_;
  }

  // --- follower side (partition_follower.cc) ---
  // What a follower's replica fetcher (server/replica_fetcher.h) does to its
  // copy. The truncations are the log's durable ones; the leader-epoch cache
  // is cut even when the point is at or past the log end (an epoch that
  // started there without a batch goes). The high watermark then clamps to
  // the new log end, and the waiting fetches are woken (they re-read).
  storage::Status truncate_to(Offset offset);
  storage::Status truncate_fully_and_start_at(Offset offset);
  // The high watermark a follower learns from its leader's Fetch response:
  // min(leader's, local log end); it never moves back here (only truncation
  // lowers it). Wakes waiting fetches when it moves.
  void update_follower_high_watermark(Offset leader_high_watermark);
  // --- end of the follower side ---

 private:
  void on_owner() const { owner_.check("Partition"); }
  void set_role(Role role, Epoch epoch);
  void advance_high_watermark(Offset hw);
  // partition_leader.cc: after the replica state moved, publish its high
  // watermark (wakes waiting fetches when it rose), answer the acks=all
  // waiters whose tickets completed, and send a proposal.
  void sync_from_state();
  void deliver_acks();
  void fail_ack_waiters();  // the partition goes: NOT_LEADER_OR_FOLLOWER
  void send_proposal(const std::optional<IsrProposal>& proposal);
  int64_t mono_now() const { return clock_ ? clock_->monotonic_ms() : 0; }
  // Fills `out` with KAFKA_STORAGE_ERROR and says so when the log dir is offline.
  bool refuse_if_offline(AppendOutcome& out) const;
  ReadOutcome read_up_to(int64_t offset, size_t max_bytes, bool min_one_batch, bool read_committed,
                         bool to_log_end);
  // The epoch stamped on appends and checked against requests: 0 before any
  // role (one node without a quorum).
  Epoch effective_epoch() const { return role_ == Role::kNone ? Epoch(0) : leader_epoch_; }

  ShardAffinity owner_{current_shard()};
  TopicPartition tp_;
  protocol::Uuid topic_id_;
  std::unique_ptr<storage::Log> log_;
  std::shared_ptr<const std::atomic<bool>> dir_online_;
  IoErrorHandler on_io_error_;
  storage::LogConfig config_;
  Role role_ = Role::kNone;
  Epoch leader_epoch_{-1};
  Offset high_watermark_{0};
  FetchWaitingRoom fetch_waiters_;
  FollowerFetchListener follower_fetch_listener_;
  // Replication (partition_leader.cc).
  std::unique_ptr<ReplicaState> state_;
  const Clock* clock_ = nullptr;
  IsrProposalSink isr_sink_;
  int64_t proposal_sent_ms_ = 0;  // monotonic: when the pending proposal was last sent
  int64_t bytes_above_hw_ = 0;    // appended since the HW last credited the waiting fetches
  struct AckWaiter;
  std::unordered_map<AckTicket, std::shared_ptr<AckWaiter>> ack_waiters_;
  std::unordered_map<int64_t, uint64_t> txn_verifications_;  // producer id -> guard token
  uint64_t next_txn_verification_ = 1;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace samsa::replication
