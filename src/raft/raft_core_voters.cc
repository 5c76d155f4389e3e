// Voter changes (KIP-853): the voter set is the newest VotersRecord of the log
// from the moment it is appended, on every replica (the leader when it writes
// it, a follower when it fetches it); a truncation brings the previous one
// back. The leader changes the set one voter at a time, only once it has
// committed an entry of its own epoch and while no earlier change is
// uncommitted (Raft's single-server membership change rule), and a leader
// that removed itself resigns once the removal commits.
#include <algorithm>

#include "raft/metadata_batches.h"
#include "raft/raft_core.h"

namespace samsa::raft {

namespace {
constexpr size_t kScanBatches = 256;           // log batches read per step at start
constexpr size_t kScanBytes = size_t{8} << 20;  // and their bytes
}  // namespace

void RaftCore::load_voters() {
  VoterSet base;
  if (cfg_.voters_record) {
    base = VoterSet::from_record(*cfg_.voters_record);
  } else if (!cfg_.dynamic) {
    base.ids = cfg_.voters;  // controller.quorum.voters (sorted, unique)
  }
  voters_.reset(std::move(base));
  // The VotersRecords of the log continue the base set (uncommitted ones too).
  Offset at = log_.start_offset();
  while (at < log_.end_offset()) {
    std::vector<LogEntry> batch = log_.read(at, kScanBatches, kScanBytes);
    if (batch.empty() || batch.back().end() <= at) break;
    for (const LogEntry& e : batch) note_appended(e);
    at = batch.back().end();
  }
}

void RaftCore::note_appended(const LogEntry& e) {
  if (!e.control || control_type_of(e.data) != protocol::kraft::control_type::VotersRecord) return;
  auto record = parse_voters(e.data);
  if (!record || record->voters.empty()) return;  // not a usable set: keep the current one
  voters_.add(e.offset, VoterSet::from_record(std::move(*record)));
}

std::optional<FetchResponse::Endpoint> RaftCore::endpoint_of(NodeId id) const {
  const auto* v = voter_set().voter(id);
  if (!v || v->endpoints.empty()) return std::nullopt;
  const auto* ep = &v->endpoints.front();
  for (const auto& e : v->endpoints)
    if (e.name == cfg_.listener_name) ep = &e;
  return FetchResponse::Endpoint{ep->host, ep->port};
}

ErrorCode RaftCore::voter_change_error(std::string* why) const {
  auto refuse = [&](ErrorCode e, const char* text) {
    if (why) *why = text;
    return e;
  };
  if (failed()) return refuse(ErrorCode::KAFKA_STORAGE_ERROR, "the metadata log failed");
  if (role_ != Role::kLeader) return refuse(ErrorCode::NOT_LEADER_OR_FOLLOWER, "this node does not lead the quorum");
  if (!cfg_.dynamic || !voter_set().record)
    return refuse(ErrorCode::UNSUPPORTED_VERSION,
                  "Cluster doesn't support changing voters because the kraft.version feature is 0 "
                  "(a static controller.quorum.voters quorum)");
  if (!hw_ || *hw_ <= epoch_start_)
    return refuse(ErrorCode::REQUEST_TIMED_OUT,
                  "Request timed out waiting for leader to establish HWM and fence previous voter changes");
  if (auto at = voters_.latest_offset(); at && *at >= *hw_)
    return refuse(ErrorCode::REQUEST_TIMED_OUT,
                  "Request timed out waiting for leader to handle previous voter change request");
  return ErrorCode::NONE;
}

ProposeResult RaftCore::propose_voters(protocol::kraft::VotersRecord record, int64_t now_ms) {
  now_ = std::max(now_, now_ms);
  if (ErrorCode e = voter_change_error(nullptr); e != ErrorCode::NONE) return {e, Offset(-1), Offset(-1), epoch_};
  if (record.voters.empty()) return {ErrorCode::INVALID_REQUEST, Offset(-1), Offset(-1), epoch_};
  Offset base = log_.end_offset();
  LogEntry e{base, epoch_, 1, true, build_voters_batch(record, BatchPlacement{base, epoch_, now_})};
  if (!log_.append(e)) {
    fail("log append failed");
    return {ErrorCode::KAFKA_STORAGE_ERROR, Offset(-1), Offset(-1), epoch_};
  }
  voters_.add(base, VoterSet::from_record(std::move(record)));
  // A new voter keeps the replica state it has as an observer (its fetch
  // offset counts from now on); a voter that never fetched starts its
  // check-quorum window now.
  for (NodeId v : voter_ids()) {
    if (v == cfg_.local_id || replicas_.count(v)) continue;
    ReplicaState& r = replicas_[v];
    r.last_fetch_ms = now_;
    r.begin_sent_ms = now_;
  }
  request_sync();
  answer_parked(false);
  maybe_advance_high_watermark();  // a removal may make the majority's offset move
  return {ErrorCode::NONE, base, base, epoch_};
}

bool RaftCore::replica_caught_up(NodeId id, const protocol::Uuid& directory_id) const {
  if (role_ != Role::kLeader || !hw_) return false;
  auto it = replicas_.find(id);
  if (it == replicas_.end()) return false;
  const ReplicaState& r = it->second;
  if (directory_id != protocol::Uuid{} && r.directory_id != directory_id) return false;
  return r.last_fetch_ms >= 0 && now_ - r.last_fetch_ms < cfg_.fetch_timeout_ms && r.acked >= *hw_;
}

bool RaftCore::participates() const {
  if (is_voter()) return true;
  auto at = voters_.latest_offset();
  return at && (!hw_ || *hw_ <= *at) && voters_.at(*at).contains(cfg_.local_id);
}

void RaftCore::maybe_resign_removed() {
  if (role_ != Role::kLeader || is_voter() || !hw_) return;
  auto at = voters_.latest_offset();
  if (at && *hw_ > *at) become_resigned(true);  // the set without it is committed
}

}  // namespace samsa::raft
