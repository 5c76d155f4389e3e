// Roles, elections (pre-vote, vote), BeginQuorumEpoch / EndQuorumEpoch and
// the timers. Replication (Fetch, high watermark, proposals) is in
// raft_core_fetch.cc.
#include "raft/raft_core.h"

#include <algorithm>
#include <tuple>

#include "raft/metadata_batches.h"

namespace samsa::raft {

const char* role_name(Role role) {
  switch (role) {
    case Role::kUnattached: return "Unattached";
    case Role::kProspective: return "Prospective";
    case Role::kCandidate: return "Candidate";
    case Role::kLeader: return "Leader";
    case Role::kFollower: return "Follower";
    case Role::kResigned: return "Resigned";
  }
  return "?";
}

RaftCore::RaftCore(RaftConfig config, RaftLog& log, Random& rng, std::optional<QuorumStateData> restored,
                   int64_t now_ms)
    : cfg_(std::move(config)), log_(log), rng_(rng), now_(now_ms) {
  std::sort(cfg_.voters.begin(), cfg_.voters.end());
  cfg_.voters.erase(std::unique(cfg_.voters.begin(), cfg_.voters.end()), cfg_.voters.end());
  load_voters();
  // What a snapshot covers was committed: the high watermark is at least there.
  if (log_.start_offset().value > 0) hw_ = log_.start_offset();
  if (!restored) {
    become_unattached(Epoch(0), std::nullopt);
    return;
  }
  const QuorumStateData& st = *restored;
  // The vote cast in this epoch survives every path below: one vote per epoch.
  epoch_ = st.leader_epoch;
  voted_ = st.voted_id;
  if (st.leader_id == cfg_.local_id) {
    // It led this epoch before the restart and may have lost unsynced entries
    // of it: it must never lead the epoch again.
    leader_ = cfg_.local_id;
    become_resigned(true);
  } else if (st.leader_id) {
    become_follower(*st.leader_id, st.leader_epoch);
  } else {
    become_unattached(st.leader_epoch, st.voted_id);
  }
}

bool RaftCore::is_voter(NodeId id) const { return voter_set().contains(id); }

size_t RaftCore::count_voters(const std::set<NodeId>& ids) const {
  return static_cast<size_t>(std::count_if(ids.begin(), ids.end(), [&](NodeId id) { return is_voter(id); }));
}

QuorumStateData RaftCore::quorum_state() const {
  QuorumStateData st;
  st.leader_epoch = epoch_;
  st.leader_id = leader_;
  st.voted_id = voted_;
  st.current_voters = voter_ids();
  return st;
}

void RaftCore::persist() { out_.persist = quorum_state(); }

void RaftCore::notify_leader() {
  LeaderAndEpoch now = leader();
  if (now == notified_leader_) return;
  notified_leader_ = now;
  out_.leader = now;
}

void RaftCore::send(NodeId to, uint64_t correlation_id, MessageBody body) {
  out_.messages.push_back(Message{cfg_.local_id, to, correlation_id, std::move(body)});
}

void RaftCore::fail(std::string why) {
  if (fatal_.empty()) fatal_ = why;
  out_.fatal = fatal_;
}

int64_t RaftCore::random_election_timeout() {
  return cfg_.election_timeout_ms + rng_.uniform(0, cfg_.election_timeout_ms);
}

// Kafka's binary exponential backoff: retry_backoff * 2^attempt, capped at
// election.backoff.max, with full jitter so that competing candidates spread out.
int64_t RaftCore::election_backoff(int attempt) {
  int64_t cap = cfg_.retry_backoff_ms << std::min(attempt, 20);
  return rng_.uniform(0, std::min(cap, cfg_.election_backoff_max_ms));
}

// Drops the per-role state of the role being left. Parked fetches are answered
// with the new view so their replicas move on at once instead of timing out.
void RaftCore::leave_role() {
  vote_requests_.clear();
  granted_.clear();
  rejected_.clear();
  backing_off_ = false;
  fetch_in_flight_.reset();
  snapshot_fetch_.reset();
  fetched_from_leader_ = false;
  leader_resigned_ = false;
  fetch_deadline_ = kNever;
  election_deadline_ = kNever;
  if (!parked_.empty()) {
    auto parked = std::move(parked_);
    parked_.clear();
    for (auto& [id, p] : parked) respond(p.request, fetch_error(ErrorCode::NOT_LEADER_OR_FOLLOWER));
  }
  replicas_.clear();
}

void RaftCore::become_unattached(Epoch epoch, std::optional<NodeId> voted) {
  bool changed = epoch != epoch_ || voted != voted_ || leader_;
  leave_role();
  role_ = Role::kUnattached;
  epoch_ = epoch;
  voted_ = voted;
  leader_.reset();
  election_deadline_ = now_ + random_election_timeout();
  if (changed) persist();
  notify_leader();
  maybe_send_fetch();  // an observer looks for the leader
}

void RaftCore::become_follower(NodeId leader, Epoch epoch) {
  if (epoch != epoch_) voted_.reset();
  bool changed = epoch != epoch_ || leader_ != leader;
  leave_role();
  role_ = Role::kFollower;
  epoch_ = epoch;
  leader_ = leader;
  fetch_deadline_ = now_ + cfg_.fetch_timeout_ms;
  fetch_retry_ms_ = 0;
  if (changed) persist();
  notify_leader();
  maybe_send_fetch();
}

// KIP-996: ask the voters whether this node could win, at the current epoch,
// without changing anything on them.
void RaftCore::become_prospective() {
  leave_role();
  role_ = Role::kProspective;
  leader_.reset();
  notify_leader();
  election_deadline_ = now_ + random_election_timeout();
  request_votes(/*pre_vote=*/true);
  if (count_voters(granted_) >= majority()) become_candidate();
}

// Votes for itself and asks every other voter, for a pre-vote round (epoch
// unchanged) or a real election.
void RaftCore::request_votes(bool pre_vote) {
  granted_.insert(cfg_.local_id);
  for (NodeId v : voter_ids()) {
    if (v == cfg_.local_id) continue;
    uint64_t id = next_correlation_++;
    vote_requests_[v] = id;
    send(v, id, VoteRequest{epoch_, cfg_.local_id, log_.last_epoch(), log_.end_offset(), pre_vote});
  }
}

void RaftCore::become_candidate() {
  leave_role();
  role_ = Role::kCandidate;
  epoch_ = epoch_ + 1;
  voted_ = cfg_.local_id;
  leader_.reset();
  persist();  // the vote for itself is durable before anyone hears of it
  notify_leader();
  election_deadline_ = now_ + random_election_timeout();
  request_votes(/*pre_vote=*/false);
  if (count_voters(granted_) >= majority()) become_leader();
}

void RaftCore::become_leader() {
  std::vector<NodeId> granting(granted_.begin(), granted_.end());  // leave_role() forgets them
  leave_role();
  election_attempts_ = 0;
  role_ = Role::kLeader;
  leader_ = cfg_.local_id;
  persist();
  notify_leader();
  // The first batch of the epoch: commits of earlier epochs become visible
  // once it is on a majority. Kafka's LeaderChange control batch (the leader,
  // the voters, who voted for it), stamped with the core's time.
  epoch_start_ = log_.end_offset();
  protocol::Bytes data = build_leader_change_batch(LeaderChange{cfg_.local_id, voter_ids(), std::move(granting)},
                                                   BatchPlacement{epoch_start_, epoch_, now_});
  if (!log_.append(LogEntry{epoch_start_, epoch_, 1, true, std::move(data)})) return fail("log append failed");
  // A dynamic quorum's voter set that is not in the log yet (the bootstrap
  // checkpoint's, or a snapshot's) is written after it, as Kafka's leaders do:
  // observers and new voters learn the voters and their endpoints from the log.
  if (cfg_.dynamic && voter_set().record && !voters_.latest_offset()) {
    Offset at = log_.end_offset();
    if (!log_.append(LogEntry{at, epoch_, 1, true,
                              build_voters_batch(*voter_set().record, BatchPlacement{at, epoch_, now_})}))
      return fail("log append failed");
    voters_.add(at, voter_set());
  }
  request_sync();
  for (NodeId v : voter_ids()) {
    if (v == cfg_.local_id) continue;
    ReplicaState& r = replicas_[v];
    r.last_fetch_ms = now_;  // the check-quorum window starts now
    r.begin_sent_ms = now_;
    send(v, next_correlation_++, BeginQuorumEpochRequest{cfg_.local_id, epoch_});
  }
  maybe_advance_high_watermark();  // a single voter commits on its own sync
}

void RaftCore::become_resigned(bool send_end_epoch) {
  std::vector<std::pair<Offset, NodeId>> successors;
  for (auto& [id, r] : replicas_)
    if (is_voter(id)) successors.emplace_back(r.acked, id);
  leave_role();
  role_ = Role::kResigned;
  election_deadline_ = now_ + random_election_timeout();
  notify_leader();
  if (!send_end_epoch) return;
  // The most caught-up voters first: they stand sooner.
  std::stable_sort(successors.begin(), successors.end(), [](auto& a, auto& b) { return a.first > b.first; });
  std::vector<NodeId> preferred;
  for (auto& s : successors) preferred.push_back(s.second);
  for (NodeId v : voter_ids())
    if (v != cfg_.local_id) send(v, next_correlation_++, EndQuorumEpochRequest{cfg_.local_id, epoch_, preferred});
}

void RaftCore::resign(int64_t now_ms) {
  now_ = std::max(now_, now_ms);
  if (role_ == Role::kLeader) become_resigned(true);
}

void RaftCore::adopt_higher_epoch(Epoch epoch, std::optional<NodeId> leader) {
  if (leader && *leader != cfg_.local_id)
    become_follower(*leader, epoch);
  else
    become_unattached(epoch, std::nullopt);
}

void RaftCore::handle(const Message& m, int64_t now_ms) {
  now_ = std::max(now_, now_ms);
  if (failed() || m.to != cfg_.local_id) return;
  std::visit(
      [&](const auto& body) {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, VoteRequest>) on_vote_request(m, body);
        else if constexpr (std::is_same_v<T, VoteResponse>) on_vote_response(m, body);
        else if constexpr (std::is_same_v<T, BeginQuorumEpochRequest>) on_begin_epoch(m, body);
        else if constexpr (std::is_same_v<T, EndQuorumEpochRequest>) on_end_epoch(m, body);
        else if constexpr (std::is_same_v<T, QuorumEpochResponse>) on_epoch_response(m, body);
        else if constexpr (std::is_same_v<T, FetchRequest>) on_fetch_request(m, body);
        else if constexpr (std::is_same_v<T, FetchResponse>) on_fetch_response(m, body);
        else if constexpr (std::is_same_v<T, FetchSnapshotRequest>) on_fetch_snapshot_request(m, body);
        else if constexpr (std::is_same_v<T, FetchSnapshotResponse>) on_fetch_snapshot_response(m, body);
      },
      m.body);
}

// ---- Vote ----

bool RaftCore::can_grant(const VoteRequest& req, bool log_up_to_date) const {
  if (!log_up_to_date) return false;
  if (req.pre_vote) {
    switch (role_) {
      case Role::kLeader: return false;
      // A follower that hears from a live leader keeps it (the point of pre-vote);
      // one that has not fetched since it started following has no such evidence.
      case Role::kFollower: return !fetched_from_leader_ || leader_resigned_;
      default: return true;
    }
  }
  // One vote per epoch: only a replica that has not voted (or voted for this
  // very candidate: a retried request) and follows nobody may grant.
  if (role_ != Role::kUnattached && role_ != Role::kProspective) return false;
  return !voted_ || *voted_ == req.replica_id;
}

void RaftCore::on_vote_request(const Message& m, const VoteRequest& req) {
  // In a dynamic quorum a candidate outside this node's newest voter set may
  // still be a voter in a newer set this node has not replicated yet, and so
  // may this node itself (KIP-853: a replica answers a Vote addressed to it
  // even when its own newest set leaves it out, e.g. a removal the leader
  // undid with a re-add this node never fetched; refusing would leave such a
  // quorum without a majority for good). Only the candidate counts the
  // votes, over its own set. A static quorum's set is fixed: a node outside
  // it does not vote, and anyone else is refused.
  const bool may_vote = cfg_.dynamic || participates();
  if (!may_vote || req.replica_id != m.from || (!cfg_.dynamic && !is_voter(req.replica_id))) {
    respond(m, VoteResponse{ErrorCode::INCONSISTENT_VOTER_SET, leader_, epoch_, false, req.pre_vote});
    return;
  }
  if (req.last_offset.value < 0 || req.last_offset_epoch.value < 0 || req.last_offset_epoch > req.replica_epoch) {
    respond(m, VoteResponse{ErrorCode::INVALID_REQUEST, leader_, epoch_, false, req.pre_vote});
    return;
  }
  if (req.replica_epoch < epoch_) {
    respond(m, VoteResponse{ErrorCode::FENCED_LEADER_EPOCH, leader_, epoch_, false, req.pre_vote});
    return;
  }
  if (req.replica_epoch > epoch_) become_unattached(req.replica_epoch, std::nullopt);
  bool up_to_date = std::tie(req.last_offset_epoch, req.last_offset) >= std::make_tuple(log_.last_epoch(), log_.end_offset());
  bool grant = can_grant(req, up_to_date);
  if (grant && !req.pre_vote) {
    voted_ = req.replica_id;
    persist();  // written before the grant leaves
    election_deadline_ = now_ + random_election_timeout();
  }
  respond(m, VoteResponse{ErrorCode::NONE, leader_, epoch_, grant, req.pre_vote});
}

void RaftCore::on_vote_response(const Message& m, const VoteResponse& resp) {
  if (resp.leader_epoch > epoch_) return adopt_higher_epoch(resp.leader_epoch, resp.leader_id);
  if (role_ != Role::kProspective && role_ != Role::kCandidate) return;
  auto it = vote_requests_.find(m.from);
  if (it == vote_requests_.end() || it->second != m.correlation_id) return;  // stale or duplicated
  if (resp.pre_vote != (role_ == Role::kProspective) || resp.leader_epoch < epoch_) return;
  vote_requests_.erase(it);
  bool granted = resp.vote_granted && resp.error == ErrorCode::NONE;
  // Refused by a voter that follows a live leader: follow it instead of
  // standing. (A grant may name a leader too: one that resigned.)
  if (role_ == Role::kProspective && !granted && resp.leader_id && *resp.leader_id != cfg_.local_id)
    return become_follower(*resp.leader_id, epoch_);
  count_vote(m.from, granted);
}

void RaftCore::count_vote(NodeId from, bool granted) {
  (granted ? granted_ : rejected_).insert(from);
  if (count_voters(granted_) >= majority()) {
    if (role_ == Role::kProspective) become_candidate();
    else become_leader();
    return;
  }
  if (count_voters(rejected_) >= majority() && !backing_off_) {
    // Lost for sure: back off now rather than at the election timeout.
    backing_off_ = true;
    election_deadline_ = now_ + election_backoff(election_attempts_++);
  }
}

// ---- BeginQuorumEpoch / EndQuorumEpoch ----

void RaftCore::on_begin_epoch(const Message& m, const BeginQuorumEpochRequest& req) {
  // (The leader may be in a newer voter set than this node has, or leave it.)
  if (req.leader_id != m.from || (!cfg_.dynamic && !is_voter(req.leader_id)))
    return respond(m, QuorumEpochResponse{ErrorCode::INCONSISTENT_VOTER_SET, leader_, epoch_});
  if (req.leader_epoch < epoch_) return respond(m, QuorumEpochResponse{ErrorCode::FENCED_LEADER_EPOCH, leader_, epoch_});
  // Two leaders in one epoch cannot happen while the vote rules hold; a
  // request claiming it is refused and changes nothing here.
  if (req.leader_epoch == epoch_ && ((leader_ && *leader_ != req.leader_id) || role_ == Role::kLeader))
    return respond(m, QuorumEpochResponse{ErrorCode::INVALID_REQUEST, leader().leader, epoch_});
  if (!(role_ == Role::kFollower && leader_ == req.leader_id && epoch_ == req.leader_epoch))
    become_follower(req.leader_id, req.leader_epoch);
  respond(m, QuorumEpochResponse{ErrorCode::NONE, leader_, epoch_});
}

void RaftCore::on_end_epoch(const Message& m, const EndQuorumEpochRequest& req) {
  // (The leader may be in a newer voter set than this node has, or leave it.)
  if (req.leader_id != m.from || (!cfg_.dynamic && !is_voter(req.leader_id)))
    return respond(m, QuorumEpochResponse{ErrorCode::INCONSISTENT_VOTER_SET, leader_, epoch_});
  if (req.leader_epoch < epoch_) return respond(m, QuorumEpochResponse{ErrorCode::FENCED_LEADER_EPOCH, leader_, epoch_});
  if (req.leader_epoch > epoch_) become_unattached(req.leader_epoch, std::nullopt);
  if (participates() && (role_ == Role::kUnattached || (role_ == Role::kFollower && leader_ == req.leader_id))) {
    // Stand after a backoff that grows with the position among the preferred
    // successors; followers now grant pre-votes.
    size_t pos = req.preferred_successors.size();
    for (size_t i = 0; i < req.preferred_successors.size(); ++i)
      if (req.preferred_successors[i] == cfg_.local_id) pos = i;
    // The first successor stands at once; the k-th waits between half and all
    // of retry_backoff * 2^k (capped), so that it does not compete with the first.
    int64_t cap = std::min(cfg_.retry_backoff_ms << std::min<size_t>(pos, 20), cfg_.election_backoff_max_ms);
    int64_t wait = pos == 0 ? 0 : cap / 2 + rng_.uniform(0, cap - cap / 2);
    leader_resigned_ = true;
    if (role_ == Role::kFollower) fetch_deadline_ = std::min(fetch_deadline_, now_ + wait);
    else election_deadline_ = std::min(election_deadline_, now_ + wait);
  }
  respond(m, QuorumEpochResponse{ErrorCode::NONE, leader_, epoch_});
}

void RaftCore::on_epoch_response(const Message& m, const QuorumEpochResponse& resp) {
  if (resp.leader_epoch > epoch_) return adopt_higher_epoch(resp.leader_epoch, resp.leader_id);
  if (role_ != Role::kLeader || resp.leader_epoch != epoch_ || resp.error != ErrorCode::NONE) return;
  if (auto it = replicas_.find(m.from); it != replicas_.end()) it->second.begin_acked = true;
}

// ---- time ----

int64_t RaftCore::next_deadline() const {
  if (failed()) return kNever;
  int64_t next = kNever;
  switch (role_) {
    case Role::kLeader: {
      // Check quorum (a voter silent for 1.5 x fetch timeout), BeginQuorumEpoch
      // resends, parked fetches running out.
      for (auto& [id, r] : replicas_) {
        if (is_voter(id)) next = std::min(next, r.last_fetch_ms + cfg_.fetch_timeout_ms * 3 / 2);
        if (!r.begin_acked) next = std::min(next, r.begin_sent_ms + cfg_.fetch_timeout_ms / 2);
      }
      for (auto& [id, p] : parked_) next = std::min(next, p.deadline_ms);
      next = std::max(next, now_ + 1);
      break;
    }
    case Role::kFollower:
      next = fetch_deadline_;
      if (fetch_in_flight_) next = std::min(next, fetch_sent_ms_ + cfg_.request_timeout_ms);
      else if (fetch_retry_ms_ > now_) next = std::min(next, fetch_retry_ms_);
      break;
    default:
      next = election_deadline_;
      if (!participates()) next = fetch_in_flight_ ? fetch_sent_ms_ + cfg_.request_timeout_ms : fetch_retry_ms_;
      break;
  }
  return next;
}

void RaftCore::tick(int64_t now_ms) {
  now_ = std::max(now_, now_ms);
  if (failed()) return;
  if (fetch_in_flight_ && now_ - fetch_sent_ms_ >= cfg_.request_timeout_ms) fetch_in_flight_.reset();  // lost
  switch (role_) {
    case Role::kLeader: return tick_leader();
    case Role::kFollower:
      if (now_ >= fetch_deadline_) {
        if (participates()) return become_prospective();
        return become_unattached(epoch_, voted_);  // an observer looks for the leader again
      }
      return maybe_send_fetch();
    case Role::kUnattached:
    case Role::kResigned:
      if (!participates()) return maybe_send_fetch();
      if (now_ >= election_deadline_) become_prospective();
      return;
    case Role::kProspective:
    case Role::kCandidate:
      if (now_ < election_deadline_) return;
      if (backing_off_) return become_prospective();  // the next round starts with a pre-vote
      backing_off_ = true;
      election_deadline_ = now_ + election_backoff(election_attempts_++);
      return;
  }
}

void RaftCore::tick_leader() {
  // Check quorum: a leader no majority fetches from may be cut off; it
  // resigns so that it stops taking proposals it could never commit.
  size_t live = is_voter() ? 1 : 0;  // a leader removing itself counts only the others
  for (auto& [id, r] : replicas_)
    if (is_voter(id) && now_ - r.last_fetch_ms < cfg_.fetch_timeout_ms * 3 / 2) ++live;
  if (live < majority()) return become_resigned(true);
  for (auto& [id, r] : replicas_) {
    if (!is_voter(id) || r.begin_acked || now_ - r.begin_sent_ms < cfg_.fetch_timeout_ms / 2) continue;
    r.begin_sent_ms = now_;
    send(id, next_correlation_++, BeginQuorumEpochRequest{cfg_.local_id, epoch_});
  }
  answer_parked(false);
}

}  // namespace samsa::raft
