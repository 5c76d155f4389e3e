// Replication, pull-based as in KRaft: followers (and observers) send Fetch
// with their log end offset and the epoch of their last entry; the leader
// answers with entries, its high watermark, or the epoch where the logs
// diverge (the follower truncates and asks again). The leader advances the
// high watermark from the fetch offsets of the voters.
#include <algorithm>

#include "raft/raft_core.h"

namespace samsa::raft {

namespace {
constexpr size_t kMaxReplicas = 1024;          // voters + observers a leader tracks
constexpr size_t kMaxProposalBytes = 8 << 20;  // one batch
}  // namespace

FetchResponse RaftCore::fetch_error(ErrorCode error) const {
  FetchResponse r;
  r.error = error;
  r.leader_id = leader().leader;
  r.leader_epoch = epoch_;
  r.high_watermark = hw_.value_or(Offset(-1));
  if (r.leader_id) r.leader_endpoint = endpoint_of(*r.leader_id);
  return r;
}

// ---- leader side ----

void RaftCore::on_fetch_request(const Message& m, const FetchRequest& req) {
  if (req.replica_id != m.from || req.fetch_offset.value < 0 || req.last_fetched_epoch.value < 0)
    return respond(m, fetch_error(ErrorCode::INVALID_REQUEST));
  if (req.current_leader_epoch > epoch_) {
    // The replica knows a newer epoch than this node does.
    adopt_higher_epoch(req.current_leader_epoch, std::nullopt);
    return respond(m, fetch_error(ErrorCode::UNKNOWN_LEADER_EPOCH));
  }
  if (role_ != Role::kLeader) return respond(m, fetch_error(ErrorCode::NOT_LEADER_OR_FOLLOWER));
  if (req.current_leader_epoch < epoch_) return respond(m, fetch_error(ErrorCode::FENCED_LEADER_EPOCH));
  auto it = replicas_.find(m.from);
  if (it == replicas_.end()) {
    if (replicas_.size() >= kMaxReplicas) return respond(m, fetch_error(ErrorCode::NOT_LEADER_OR_FOLLOWER));
    it = replicas_.emplace(m.from, ReplicaState{}).first;
  }
  ReplicaState& r = it->second;
  r.last_fetch_ms = now_;
  r.directory_id = req.replica_directory_id;
  if (is_voter(m.from)) r.begin_acked = true;  // it fetches from us: it knows
  if (needs_snapshot(req)) {
    FetchResponse resp = fetch_error(ErrorCode::NONE);
    resp.snapshot_id = SnapshotId{log_.start_offset(), log_.start_epoch()};
    return respond(m, std::move(resp));
  }
  if (req.fetch_offset > log_.start_offset()) {
    EpochEndOffset ours = log_.end_offset_for_epoch(req.last_fetched_epoch);
    if (ours.epoch != req.last_fetched_epoch || req.fetch_offset > ours.end_offset) {
      FetchResponse resp = fetch_error(ErrorCode::NONE);
      resp.diverging_epoch = ours.epoch.value < 0 ? EpochEndOffset{Epoch(0), log_.start_offset()} : ours;
      return respond(m, std::move(resp));
    }
  }
  // Everything below the fetch offset matches our log and is durable on the replica.
  r.acked = std::max(r.acked, req.fetch_offset);
  maybe_advance_high_watermark();
  answer_fetch(m, req, true);
}

// The entries the replica needs (or the point where its history and ours
// part) are below our log start: only the snapshot has them.
bool RaftCore::needs_snapshot(const FetchRequest& req) const {
  Offset start = log_.start_offset();
  if (start.value == 0) return false;
  if (req.fetch_offset < start) return true;
  if (req.fetch_offset == start) return req.last_fetched_epoch != log_.start_epoch();
  return log_.end_offset_for_epoch(req.last_fetched_epoch).epoch.value < 0;
}

void RaftCore::answer_fetch(const Message& m, const FetchRequest& req, bool may_park) {
  std::vector<LogEntry> records = log_.read(req.fetch_offset, cfg_.fetch_max_entries, cfg_.fetch_max_bytes);
  auto replica = replicas_.find(m.from);
  Offset hw = hw_.value_or(Offset(-1));
  bool news = replica == replicas_.end() || replica->second.hw_sent != hw;
  if (records.empty() && !news && may_park && req.max_wait_ms > 0) {
    // Nothing new: hold the fetch until data, a new high watermark, or max wait.
    parked_[m.from] = ParkedFetch{m, now_ + std::min(req.max_wait_ms, cfg_.fetch_max_wait_ms)};
    return;
  }
  if (replica != replicas_.end()) replica->second.hw_sent = hw;
  FetchResponse resp = fetch_error(ErrorCode::NONE);
  resp.records = std::move(records);
  respond(m, std::move(resp));
}

// all: answer every parked fetch (the high watermark moved); otherwise only
// those with new data or whose wait is over.
void RaftCore::answer_parked(bool all) {
  for (auto it = parked_.begin(); it != parked_.end();) {
    const auto& req = std::get<FetchRequest>(it->second.request.body);
    if (all || log_.end_offset() > req.fetch_offset || now_ >= it->second.deadline_ms) {
      Message m = std::move(it->second.request);
      it = parked_.erase(it);
      answer_fetch(m, std::get<FetchRequest>(m.body), false);
    } else {
      ++it;
    }
  }
}

void RaftCore::maybe_advance_high_watermark() {
  if (role_ != Role::kLeader) return;
  if (voter_ids().empty()) return;
  std::vector<Offset> acked;
  for (NodeId v : voter_ids()) {
    if (v == cfg_.local_id) {
      acked.push_back(log_.flushed_end_offset());
    } else {
      auto it = replicas_.find(v);
      acked.push_back(it == replicas_.end() ? Offset(-1) : it->second.acked);
    }
  }
  std::sort(acked.begin(), acked.end(), std::greater<>());
  Offset candidate = acked[majority() - 1];
  // Only once an entry of this epoch (the LeaderChange batch at epoch_start_)
  // is on a majority does the majority's offset mean committed.
  if (candidate <= epoch_start_ || (hw_ && candidate <= *hw_)) return;
  raise_high_watermark(candidate);
  answer_parked(true);
  maybe_resign_removed();
}

void RaftCore::raise_high_watermark(Offset hw) {
  hw_ = hw;
  out_.high_watermark = hw;
}

ProposeResult RaftCore::propose(protocol::Bytes data, int32_t records, int64_t now_ms) {
  now_ = std::max(now_, now_ms);
  if (failed()) return {ErrorCode::KAFKA_STORAGE_ERROR, Offset(-1), Offset(-1), epoch_};
  if (role_ != Role::kLeader) return {ErrorCode::NOT_LEADER_OR_FOLLOWER, Offset(-1), Offset(-1), epoch_};
  if (records < 1 || data.size() > kMaxProposalBytes) return {ErrorCode::INVALID_REQUEST, Offset(-1), Offset(-1), epoch_};
  Offset base = log_.end_offset();
  if (!log_.append(LogEntry{base, epoch_, records, false, std::move(data)})) {
    fail("log append failed");
    return {ErrorCode::KAFKA_STORAGE_ERROR, Offset(-1), Offset(-1), epoch_};
  }
  request_sync();
  answer_parked(false);
  return {ErrorCode::NONE, base, base + (records - 1), epoch_};
}

std::vector<LogEntry> RaftCore::read_committed(Offset from, size_t max_entries) const {
  std::vector<LogEntry> out;
  if (!hw_ || from >= *hw_) return out;
  out = log_.read(from, max_entries, cfg_.fetch_max_bytes);
  while (!out.empty() && out.back().end() > *hw_) out.pop_back();
  return out;
}

std::vector<RaftCore::ReplicaInfo> RaftCore::replica_states() const {
  std::vector<ReplicaInfo> out;
  if (role_ != Role::kLeader) return out;
  out.push_back(ReplicaInfo{cfg_.local_id, is_voter(), cfg_.directory_id, log_.end_offset(), now_});
  for (NodeId v : voter_ids()) {
    if (v == cfg_.local_id || replicas_.count(v)) continue;
    const auto* rec = voter_set().voter(v);
    out.push_back(ReplicaInfo{v, true, rec ? rec->voter_directory_id : protocol::Uuid{}, Offset(-1), -1});
  }
  for (auto& [id, r] : replicas_) out.push_back(ReplicaInfo{id, is_voter(id), r.directory_id, r.acked, r.last_fetch_ms});
  return out;
}

// ---- follower / observer side ----

void RaftCore::maybe_send_fetch() {
  if (failed() || fetch_in_flight_ || now_ < fetch_retry_ms_ || installing_) return;
  if (snapshot_fetch_) {
    if (role_ == Role::kFollower && leader_) send_snapshot_fetch();
    return;
  }
  NodeId target;
  if (role_ == Role::kFollower && leader_) {
    target = *leader_;
  } else if (!participates() && (role_ == Role::kUnattached || role_ == Role::kResigned)) {
    // An observer without a leader (or a leader that removed itself) asks any
    // voter or bootstrap server (controller.quorum.bootstrap.servers); the
    // answer names the leader.
    std::vector<NodeId> pool = voter_ids();
    pool.insert(pool.end(), cfg_.bootstrap.begin(), cfg_.bootstrap.end());
    if (pool.empty()) return;
    target = pool[static_cast<size_t>(rng_.uniform(0, static_cast<int64_t>(pool.size()) - 1))];
  } else {
    return;
  }
  // The fetch offset tells the leader what is durable here: sync first.
  if (sync_in_flight_) return;
  if (log_.flushed_end_offset() < log_.end_offset()) return request_sync();
  uint64_t id = next_correlation_++;
  fetch_in_flight_ = id;
  fetch_sent_ms_ = now_;
  send(target, id,
       FetchRequest{cfg_.local_id, epoch_, log_.end_offset(), log_.last_epoch(), cfg_.fetch_max_wait_ms, cfg_.directory_id});
}

void RaftCore::on_fetch_response(const Message& m, const FetchResponse& resp) {
  if (resp.leader_epoch > epoch_) return adopt_higher_epoch(resp.leader_epoch, resp.leader_id);
  if (!fetch_in_flight_ || *fetch_in_flight_ != m.correlation_id) return;  // stale or duplicated
  fetch_in_flight_.reset();
  if (role_ != Role::kFollower) {
    if ((role_ == Role::kUnattached || role_ == Role::kResigned) && !participates() && resp.leader_id && *resp.leader_id != cfg_.local_id &&
        resp.leader_epoch == epoch_)
      return become_follower(*resp.leader_id, epoch_);
    fetch_retry_ms_ = now_ + cfg_.retry_backoff_ms;
    return;
  }
  if (!leader_ || m.from != *leader_ || resp.leader_epoch < epoch_) return;
  if (resp.error != ErrorCode::NONE) {
    // Our leader answers but no longer leads (it resigned): others may now stand.
    if (resp.error == ErrorCode::NOT_LEADER_OR_FOLLOWER) leader_resigned_ = true;
    fetch_retry_ms_ = now_ + cfg_.retry_backoff_ms;
    return;
  }
  fetched_from_leader_ = true;
  fetch_deadline_ = now_ + cfg_.fetch_timeout_ms;
  if (resp.snapshot_id) return start_snapshot_fetch(*resp.snapshot_id, resp.leader_epoch);
  if (resp.diverging_epoch) {
    const EpochEndOffset& d = *resp.diverging_epoch;
    if (d.end_offset.value < 0 || d.epoch.value < 0) {
      fetch_retry_ms_ = now_ + cfg_.retry_backoff_ms;
      return;
    }
    EpochEndOffset ours = log_.end_offset_for_epoch(d.epoch);
    Offset to = ours.epoch.value < 0 ? log_.start_offset() : std::min(d.end_offset, ours.end_offset);
    if (hw_ && to < *hw_) return fail("the leader asked to truncate below the high watermark");
    if (to < log_.end_offset() && !log_.truncate_to(to)) return fail("log truncation failed");
    voters_.truncate_from(to);  // a VotersRecord truncated away: the previous set is back
    return maybe_send_fetch();
  }
  if (!append_from_leader(resp)) {
    fetch_retry_ms_ = now_ + cfg_.retry_backoff_ms;
    return;
  }
  if (resp.high_watermark.value >= 0) {
    Offset hw = std::min(resp.high_watermark, log_.end_offset());
    if (!hw_ || hw > *hw_) raise_high_watermark(hw);
  }
  maybe_send_fetch();
}

// Appends the leader's entries after checking they continue our log densely
// (a response is input: a malformed one is dropped, never applied).
bool RaftCore::append_from_leader(const FetchResponse& resp) {
  if (resp.records.empty()) return true;
  Offset next = log_.end_offset();
  Epoch last = log_.last_epoch();
  for (const LogEntry& e : resp.records) {
    if (e.offset != next || e.records < 1 || e.epoch < last || e.epoch > resp.leader_epoch) return false;
    next = e.end();
    last = e.epoch;
  }
  for (const LogEntry& e : resp.records) {
    if (!log_.append(e)) {
      fail("log append failed");
      return false;
    }
    note_appended(e);
  }
  request_sync();
  return true;
}

void RaftCore::request_sync() {
  if (sync_in_flight_ || log_.flushed_end_offset() >= log_.end_offset()) return;
  sync_in_flight_ = true;
  out_.sync_log = true;
}

void RaftCore::on_log_synced(int64_t now_ms) {
  now_ = std::max(now_, now_ms);
  sync_in_flight_ = false;
  if (failed()) return;
  maybe_advance_high_watermark();
  request_sync();
  maybe_send_fetch();
}

}  // namespace samsa::raft
