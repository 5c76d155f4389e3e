// The replication state of one partition replica as a pure, deterministic
// state machine (no I/O, no threads, time passed in as monotonic
// milliseconds): what Kafka's Partition keeps around its log.
//
// Leader side (Kafka's Partition + Replica):
// - per follower: its log end offset, last fetch time and last caught-up time
//   (a follower is caught up when it fetched from the leader's log end, or from
//   at least the leader's log end at its previous fetch: lastCaughtUpTimeMs);
// - the high watermark: the lowest log end over the maximal ISR (and over
//   caught-up followers about to join it); it never moves back and moves at all
//   only once it reaches this leader epoch's start offset (the HW is in the
//   current epoch before it moves on a new leader);
// - ISR changes as AlterPartition proposals: shrink the followers not caught up
//   for replica.lag.time.max.ms, expand a follower whose log end reached the HW
//   and the epoch start. One proposal in flight at a time (PendingShrinkIsr /
//   PendingExpandIsr): meanwhile the HW uses the maximal ISR (the larger of
//   committed and proposed) and the committed ISR stays what the controller
//   last said, until its answer or a newer metadata registration;
// - the acks=all waiting room (AckWaitingRoom) and min.insync.replicas.
// Follower side: the HW learned from the leader, truncation (the epoch rules
// themselves are pure functions in replica_state_epochs.h).
//
// Callers: a Partition owns one and feeds it the metadata registration, its
// log end after appends/truncations, the fetches of followers (after
// check_request and the diverging-epoch check passed), the controller's
// answers and the time; it sends the proposals this returns and answers the
// produce requests whose tickets complete.
//
// Ownership: not synchronised; used on the owning Partition's shard only.
#pragma once
#include <optional>
#include <span>
#include <vector>

#include "replication/replica_state_acks.h"
#include "replication/replica_state_types.h"

namespace samsa::replication {

class ReplicaState {
 public:
  // `high_watermark`: the HW recovered from the checkpoint (clamped to the log
  // end on the first registration).
  ReplicaState(NodeId local, int64_t local_broker_epoch, ReplicaConfig cfg, Offset high_watermark = Offset(0));

  // --- the metadata image ---------------------------------------------------
  // Applies the partition's registration; `log_end` is the local log end
  // offset. Returns false and changes nothing when it is stale (a lower leader
  // epoch, or the same leader epoch at a partition epoch not above ours) or
  // malformed (more than kMaxReplicas). A new leader epoch on this replica as
  // leader starts an epoch at `log_end` (the caller records it in the log's
  // leader-epoch cache, as Kafka's maybeAssignEpochStartOffset) and forgets
  // what it knew of the followers. Losing leadership fails the waiting acks
  // with NOT_LEADER_OR_FOLLOWER.
  bool apply(const LeaderAndIsr& registration, Offset log_end, int64_t now_ms);
  void set_config(const ReplicaConfig& cfg) { cfg_ = cfg; }
  // A replica fenced or shutting down (KIP-841) is not added to the ISR.
  void set_replica_eligible(NodeId replica, bool eligible);

  // --- requests -------------------------------------------------------------
  // Kafka's getLocalLog: the request's current_leader_epoch first
  // (FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH), then NOT_LEADER_OR_FOLLOWER
  // when the request needs the leader and this replica is not it.
  ErrorCode check_request(Epoch current_leader_epoch, bool require_leader) const;
  // Before appending a produce: NOT_LEADER_OR_FOLLOWER, or, for acks=-1,
  // NOT_ENOUGH_REPLICAS when the ISR is smaller than min.insync.replicas.
  ErrorCode check_append(int16_t acks) const;

  // --- leader events ----------------------------------------------------------
  // The local log now ends at `log_end` (after an append, leader or follower).
  // Returns true when the HW advanced.
  bool on_append(Offset log_end, int64_t now_ms);
  struct FetchUpdate {
    // NOT_LEADER_OR_FOLLOWER / OFFSET_OUT_OF_RANGE / STALE_BROKER_EPOCH (an
    // older incarnation than one already seen): nothing recorded.
    ErrorCode error = ErrorCode::NONE;
    bool hw_advanced = false;
    std::optional<IsrProposal> proposal;  // an expansion to send to the controller
  };
  // A follower fetched from `fetch_offset` (its log end) at now_ms.
  FetchUpdate on_follower_fetch(const ReplicaFetch& fetch);
  // The followers not caught up for replica.lag.time.max.ms leave the ISR:
  // the proposal to send, none when all are caught up or one is in flight.
  std::optional<IsrProposal> maybe_shrink_isr(int64_t now_ms);
  // The controller answered the proposal. Returns true when the state changed:
  // NONE at our leader epoch commits its ISR and partition epoch;
  // OPERATION_NOT_ATTEMPTED / INELIGIBLE_REPLICA (not applied, our partition
  // epoch is right) go back to the committed state, so the rule may propose
  // again. Other errors (FENCED_LEADER_EPOCH, INVALID_UPDATE_VERSION, ...) keep
  // the proposal pending until a newer registration arrives, as Kafka does.
  bool on_isr_answer(const IsrAnswer& answer, int64_t now_ms);
  // The proposal in flight (to resend when its answer was lost; the controller
  // accepts a repeat of what it already applied).
  const std::optional<IsrProposal>& pending() const { return pending_; }

  // --- acks=all ---------------------------------------------------------------
  // A produce appended up to `required` - 1 waits until the HW reaches
  // `required`, then completes with NONE, or NOT_ENOUGH_REPLICAS_AFTER_APPEND
  // if the committed ISR is then below min.insync.replicas (Kafka's
  // DelayedProduce rule). When a committed ISR change leaves fewer than
  // min.insync.replicas, every waiter completes at once with
  // NOT_ENOUGH_REPLICAS_AFTER_APPEND. REQUEST_TIMED_OUT at `deadline_ms`
  // (expire_acks); NOT_LEADER_OR_FOLLOWER when leadership is lost.
  AckTicket wait_for_ack(Offset required, int64_t deadline_ms);
  void expire_acks(int64_t now_ms) { acks_.expire(now_ms); }
  std::vector<AckCompletion> take_ack_completions() { return acks_.take_completed(); }
  size_t waiting_acks() const { return acks_.waiting(); }
  int64_t next_ack_deadline_ms() const { return acks_.next_deadline_ms(); }

  // --- follower events --------------------------------------------------------
  // The leader's HW from a fetch response: ours moves to min(it, log end) and
  // never back (what we showed is committed).
  Offset on_leader_high_watermark(Offset leader_hw, Offset log_end);
  // The local log was truncated to end at `log_end`.
  void on_truncated(Offset log_end);

  // --- queries ----------------------------------------------------------------
  NodeId local() const { return local_; }
  bool is_leader() const { return leader_; }
  NodeId leader() const { return leader_id_; }
  Epoch leader_epoch() const { return leader_epoch_; }
  PartitionEpoch partition_epoch() const { return partition_epoch_; }
  Offset high_watermark() const { return hw_; }
  Offset log_end() const { return log_end_; }
  // The first offset of this leader's epoch (-1 when not leader).
  Offset epoch_start_offset() const { return epoch_start_; }
  // Kafka answers ListOffsets OFFSET_NOT_AVAILABLE until this holds on a new leader.
  bool high_watermark_in_current_epoch() const { return leader_ && hw_ >= epoch_start_; }
  const std::vector<NodeId>& replicas() const { return replicas_; }
  const std::vector<NodeId>& isr() const { return isr_; }  // committed
  std::vector<NodeId> maximal_isr() const;
  const std::vector<FollowerState>& followers() const { return followers_; }
  const FollowerState* follower(NodeId id) const;
  // topics --describe's filters (Kafka's definitions, on the committed ISR).
  bool under_replicated() const { return isr_.size() < replicas_.size(); }
  bool under_min_isr() const { return isr_.size() < static_cast<size_t>(cfg_.min_insync_replicas); }
  bool at_min_isr() const { return isr_.size() == static_cast<size_t>(cfg_.min_insync_replicas); }
  const ReplicaConfig& config() const { return cfg_; }
  // KIP-392, Kafka's RackAwareReplicaSelector as ReplicaManager feeds it: the
  // follower a consumer whose rack holds the replicas `same_rack` should read
  // `fetch_offset` from. None when this replica does not lead, or leads from
  // that rack (the leader serves it), or no follower there qualifies: in the
  // committed ISR, not fenced, holding fetch_offset (its log start at or below
  // it, its log end at or above). Among those the highest log end wins, then
  // the most recently caught up.
  std::optional<NodeId> preferred_read_replica(std::span<const NodeId> same_rack, Offset fetch_offset) const;

 private:
  FollowerState* find_follower(NodeId id);
  void reset_followers(int64_t now_ms);
  void sync_followers(int64_t now_ms);
  bool maybe_advance_hw(int64_t now_ms);
  std::optional<IsrProposal> maybe_expand_isr(const FollowerState& f);
  IsrProposal propose(std::vector<NodeId> new_isr, bool expand);
  ErrorCode ack_error() const;
  void fail_acks_under_min_isr();

  NodeId local_;
  int64_t local_broker_epoch_;
  ReplicaConfig cfg_;
  bool leader_ = false;
  NodeId leader_id_{-1};
  Epoch leader_epoch_{-1};
  PartitionEpoch partition_epoch_{-1};
  std::vector<NodeId> replicas_;
  std::vector<NodeId> isr_;
  std::optional<IsrProposal> pending_;
  uint64_t next_proposal_id_ = 1;
  Offset log_end_{0};
  Offset hw_;
  Offset epoch_start_{-1};
  std::vector<FollowerState> followers_;
  AckWaitingRoom acks_;
};

}  // namespace samsa::replication
