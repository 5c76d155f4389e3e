#include "replication/replica_state.h"

#include <algorithm>
#include <cassert>

#include "replication/replica_state_epochs.h"

namespace samsa::replication {
namespace {

bool contains(const std::vector<NodeId>& v, NodeId id) { return std::find(v.begin(), v.end(), id) != v.end(); }

}  // namespace

ReplicaState::ReplicaState(NodeId local, int64_t local_broker_epoch, ReplicaConfig cfg, Offset high_watermark)
    : local_(local), local_broker_epoch_(local_broker_epoch), cfg_(cfg), hw_(std::max(high_watermark, Offset(0))) {}

bool ReplicaState::apply(const LeaderAndIsr& r, Offset log_end, int64_t now_ms) {
  if (r.replicas.size() > kMaxReplicas || r.isr.size() > kMaxReplicas) return false;
  if (r.leader_epoch < leader_epoch_) return false;
  if (r.leader_epoch == leader_epoch_ && r.partition_epoch <= partition_epoch_) return false;
  const bool was_leader = leader_;
  const bool new_leader_epoch = r.leader_epoch > leader_epoch_ || !was_leader;
  leader_id_ = r.leader;
  leader_epoch_ = r.leader_epoch;
  partition_epoch_ = r.partition_epoch;
  replicas_ = r.replicas;
  isr_ = r.isr;
  pending_.reset();  // the registration is what the controller committed
  log_end_ = log_end;
  hw_ = std::min(hw_, log_end_);
  leader_ = r.leader == local_;
  if (!leader_) {
    if (was_leader) acks_.fail_all(ErrorCode::NOT_LEADER_OR_FOLLOWER);
    followers_.clear();
    epoch_start_ = Offset(-1);
    return true;
  }
  if (new_leader_epoch) {
    epoch_start_ = log_end_;
    reset_followers(now_ms);
  } else {
    sync_followers(now_ms);
  }
  maybe_advance_hw(now_ms);
  fail_acks_under_min_isr();
  return true;
}

// A new leader epoch: nothing known of the followers' logs until they fetch
// in it (they may truncate first). ISR members count as caught up now, so
// they have replica.lag.time.max.ms to show up (Kafka's resetReplicaState).
void ReplicaState::reset_followers(int64_t now_ms) {
  followers_.clear();
  for (NodeId id : replicas_) {
    if (id == local_) continue;
    FollowerState f;
    f.id = id;
    if (contains(isr_, id)) f.last_caught_up_ms = now_ms;
    followers_.push_back(f);
  }
}

// Same leader epoch, new assignment or ISR: keep what we know of the
// followers still assigned, start the new ones afresh.
void ReplicaState::sync_followers(int64_t now_ms) {
  std::vector<FollowerState> next;
  for (NodeId id : replicas_) {
    if (id == local_) continue;
    if (const FollowerState* f = follower(id)) {
      next.push_back(*f);
      continue;
    }
    FollowerState f;
    f.id = id;
    if (contains(isr_, id)) f.last_caught_up_ms = now_ms;
    next.push_back(f);
  }
  followers_ = std::move(next);
}

void ReplicaState::set_replica_eligible(NodeId replica, bool eligible) {
  if (FollowerState* f = find_follower(replica)) f->eligible = eligible;
}

ErrorCode ReplicaState::check_request(Epoch current_leader_epoch, bool require_leader) const {
  ErrorCode e = check_leader_epoch(current_leader_epoch, leader_epoch_);
  if (e != ErrorCode::NONE) return e;
  if (require_leader && !leader_) return ErrorCode::NOT_LEADER_OR_FOLLOWER;
  return ErrorCode::NONE;
}

ErrorCode ReplicaState::check_append(int16_t acks) const {
  if (!leader_) return ErrorCode::NOT_LEADER_OR_FOLLOWER;
  if (acks == -1 && isr_.size() < static_cast<size_t>(std::max(cfg_.min_insync_replicas, 1))) {
    return ErrorCode::NOT_ENOUGH_REPLICAS;
  }
  return ErrorCode::NONE;
}

bool ReplicaState::on_append(Offset log_end, int64_t now_ms) {
  log_end_ = log_end;
  hw_ = std::min(hw_, log_end_);  // a follower's log may be cut below it only by truncation
  return maybe_advance_hw(now_ms);
}

ReplicaState::FetchUpdate ReplicaState::on_follower_fetch(const ReplicaFetch& fetch) {
  FetchUpdate out;
  FollowerState* f = leader_ ? find_follower(fetch.replica) : nullptr;
  if (f == nullptr) {
    out.error = ErrorCode::NOT_LEADER_OR_FOLLOWER;
    return out;
  }
  if (fetch.fetch_offset.value < 0 || fetch.fetch_offset > log_end_) {
    out.error = ErrorCode::OFFSET_OUT_OF_RANGE;
    return out;
  }
  // A fetch from an earlier incarnation of the broker (sent before it
  // restarted, answered late) must not overwrite what its current one said:
  // its log may have lost that tail.
  if (fetch.broker_epoch != kNoBrokerEpoch && fetch.broker_epoch < f->broker_epoch) {
    out.error = ErrorCode::STALE_BROKER_EPOCH;
    return out;
  }
  // Kafka's Replica.updateFetchState: reaching our end now counts from now;
  // reaching what our end was at its previous fetch counts from that fetch.
  if (fetch.fetch_offset >= log_end_) {
    f->last_caught_up_ms = std::max(f->last_caught_up_ms, fetch.now_ms);
  } else if (fetch.fetch_offset >= f->last_fetch_leader_end) {
    f->last_caught_up_ms = std::max(f->last_caught_up_ms, f->last_fetch_ms);
  }
  f->log_end = fetch.fetch_offset;
  f->log_start = fetch.log_start;
  f->last_fetch_leader_end = log_end_;
  f->last_fetch_ms = fetch.now_ms;
  f->broker_epoch = fetch.broker_epoch;
  out.proposal = maybe_expand_isr(*f);
  out.hw_advanced = maybe_advance_hw(fetch.now_ms);
  return out;
}

std::optional<IsrProposal> ReplicaState::maybe_expand_isr(const FollowerState& f) {
  if (pending_ || contains(isr_, f.id) || !f.eligible) return std::nullopt;
  // Kafka's isReplicaInSync: at the HW and within this leader's epoch.
  if (f.log_end < hw_ || f.log_end < epoch_start_) return std::nullopt;
  std::vector<NodeId> next = isr_;
  next.push_back(f.id);
  return propose(std::move(next), true);
}

std::optional<IsrProposal> ReplicaState::maybe_shrink_isr(int64_t now_ms) {
  if (!leader_ || pending_) return std::nullopt;
  std::vector<NodeId> next;
  for (NodeId id : isr_) {
    const FollowerState* f = follower(id);
    bool keep = id == local_ || (f != nullptr && f->caught_up(log_end_, now_ms, cfg_.replica_lag_time_max_ms));
    if (keep) next.push_back(id);
  }
  if (next.size() == isr_.size()) return std::nullopt;
  return propose(std::move(next), false);
}

IsrProposal ReplicaState::propose(std::vector<NodeId> new_isr, bool expand) {
  IsrProposal p;
  p.id = next_proposal_id_++;
  p.leader_epoch = leader_epoch_;
  p.partition_epoch = partition_epoch_;
  p.expand = expand;
  for (NodeId id : new_isr) {
    const FollowerState* f = follower(id);
    p.new_isr.push_back({id, id == local_ ? local_broker_epoch_ : (f ? f->broker_epoch : kNoBrokerEpoch)});
  }
  pending_ = p;
  return p;
}

bool ReplicaState::on_isr_answer(const IsrAnswer& a, int64_t now_ms) {
  if (!leader_ || !pending_ || a.id != pending_->id) return false;
  switch (a.error) {
    case ErrorCode::NONE:
      // An answer for another leader epoch, or older than what we hold, is
      // ignored; the registration that follows will settle the state.
      if (a.leader_epoch != leader_epoch_ || a.partition_epoch < partition_epoch_) return false;
      if (a.isr.size() > kMaxReplicas) return false;
      isr_ = a.isr;
      partition_epoch_ = a.partition_epoch;
      pending_.reset();
      maybe_advance_hw(now_ms);
      fail_acks_under_min_isr();
      return true;
    case ErrorCode::OPERATION_NOT_ATTEMPTED:
    case ErrorCode::INELIGIBLE_REPLICA:
      pending_.reset();
      return true;
    default:
      return false;
  }
}

std::vector<NodeId> ReplicaState::maximal_isr() const {
  if (pending_ && pending_->expand) {
    std::vector<NodeId> out;
    for (const IsrMember& m : pending_->new_isr) out.push_back(m.id);
    return out;
  }
  return isr_;  // committed, and during a pending shrink still the larger set
}

bool ReplicaState::maybe_advance_hw(int64_t now_ms) {
  if (!leader_ || (cfg_.hold_hw_under_min_isr && under_min_isr())) return false;
  const std::vector<NodeId> counted_isr = maximal_isr();
  Offset candidate = log_end_;
  for (const FollowerState& f : followers_) {
    // Kafka also waits for a caught-up follower about to join the ISR, so
    // the HW does not run past the offsets it is about to acknowledge.
    bool counted = contains(counted_isr, f.id) ||
                   (f.eligible && f.caught_up(log_end_, now_ms, cfg_.replica_lag_time_max_ms));
    if (counted && f.log_end < candidate) candidate = f.log_end;
  }
  if (candidate < epoch_start_ || candidate <= hw_) return false;
  assert(candidate <= log_end_ && "high watermark above the leader's log end");
  hw_ = candidate;
  acks_.complete_up_to(hw_, ack_error());
  return true;
}

// The committed ISR fell below min.insync.replicas: the produces still
// waiting cannot be acknowledged as promised (the HW reached by fewer
// replicas would complete them with the same error later, or never under
// hold_hw_under_min_isr), so they are answered now.
void ReplicaState::fail_acks_under_min_isr() {
  if (under_min_isr()) acks_.fail_all(ErrorCode::NOT_ENOUGH_REPLICAS_AFTER_APPEND);
}

ErrorCode ReplicaState::ack_error() const {
  return isr_.size() < static_cast<size_t>(cfg_.min_insync_replicas) ? ErrorCode::NOT_ENOUGH_REPLICAS_AFTER_APPEND
                                                                      : ErrorCode::NONE;
}

AckTicket ReplicaState::wait_for_ack(Offset required, int64_t deadline_ms) {
  AckTicket t = acks_.add(required, deadline_ms);
  if (!leader_) {
    acks_.fail_all(ErrorCode::NOT_LEADER_OR_FOLLOWER);
  } else if (hw_ >= required) {
    acks_.complete_up_to(hw_, ack_error());
  }
  return t;
}

Offset ReplicaState::on_leader_high_watermark(Offset leader_hw, Offset log_end) {
  log_end_ = log_end;
  hw_ = std::max(hw_, std::min(leader_hw, log_end_));
  return hw_;
}

void ReplicaState::on_truncated(Offset log_end) {
  log_end_ = log_end;
  hw_ = std::min(hw_, log_end_);
}

const FollowerState* ReplicaState::follower(NodeId id) const {
  for (const FollowerState& f : followers_) {
    if (f.id == id) return &f;
  }
  return nullptr;
}

std::optional<NodeId> ReplicaState::preferred_read_replica(std::span<const NodeId> same_rack,
                                                           Offset fetch_offset) const {
  if (!leader_ || std::find(same_rack.begin(), same_rack.end(), local_) != same_rack.end()) return std::nullopt;
  const FollowerState* best = nullptr;
  for (NodeId id : same_rack) {
    const FollowerState* f = follower(id);
    if (f == nullptr || !f->eligible || !contains(isr_, id)) continue;
    if (f->log_end < fetch_offset || f->log_start > fetch_offset) continue;
    if (best == nullptr || f->log_end > best->log_end ||
        (f->log_end == best->log_end && f->last_caught_up_ms > best->last_caught_up_ms)) {
      best = f;
    }
  }
  if (best == nullptr) return std::nullopt;
  return best->id;
}

FollowerState* ReplicaState::find_follower(NodeId id) {
  return const_cast<FollowerState*>(static_cast<const ReplicaState*>(this)->follower(id));
}

}  // namespace samsa::replication
