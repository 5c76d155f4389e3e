// Snapshots (KIP-630): the state machine hands the core a snapshot id once it
// wrote a snapshot of committed state, and the log drops the prefix it covers;
// a replica that needs entries below the leader's log start gets the snapshot
// id in its Fetch response and pulls the snapshot in chunks with FetchSnapshot,
// then its log restarts at the snapshot's end.
#include <algorithm>

#include "raft/raft_core.h"

namespace samsa::raft {

bool RaftCore::on_snapshot_created(SnapshotId id, int64_t now_ms) {
  now_ = std::max(now_, now_ms);
  if (failed() || !hw_ || id.end_offset > *hw_ || id.end_offset <= log_.start_offset() ||
      id.end_offset > log_.flushed_end_offset())
    return false;
  // It must end on a batch boundary of this log, with that batch's epoch.
  std::vector<LogEntry> last = log_.read(id.end_offset - 1, 1, 0);
  if (last.empty() || last[0].end() != id.end_offset || last[0].epoch != id.epoch) return false;
  if (!log_.delete_before(id)) {
    fail("log prefix deletion failed");
    return false;
  }
  voters_.compact_below(id.end_offset);
  return true;
}

bool RaftCore::on_snapshot_installed(SnapshotId id, int64_t now_ms,
                                     std::optional<protocol::kraft::VotersRecord> voters) {
  now_ = std::max(now_, now_ms);
  if (failed() || !installing_ || *installing_ != id) return false;
  installing_.reset();
  // The snapshot (committed state) replaces the whole log: what was below its end is in it, and
  // a tail past its end was written in an older epoch than the snapshot's (start_snapshot_fetch).
  if (!log_.reset_to(id)) {
    fail("log reset failed");
    return false;
  }
  // The snapshot stands for the log below its end; what this node had of the
  // voter sets there is kept, later (uncommitted) ones went with the log.
  voters_.compact_below(id.end_offset);
  voters_.truncate_from(id.end_offset);
  if (voters && !voters->voters.empty()) voters_.reset(VoterSet::from_record(std::move(*voters)));
  if (!hw_ || id.end_offset > *hw_) raise_high_watermark(id.end_offset);
  maybe_send_fetch();
  return true;
}

// The leader names its snapshot when this replica's fetch position is below its log start or in
// an epoch the leader's log no longer holds. Useful here when it ends past this log, or when its
// last epoch is newer than this log's: then this log's tail (written in an older epoch) diverges
// from the leader's at or below the snapshot's end, so none of it is committed beyond what the
// snapshot holds (Kafka's truncateToLatestSnapshot condition). Refusing the second case left a
// replica with such a tail fetching the same snapshot id forever (a stalled quorum in the sim).
void RaftCore::start_snapshot_fetch(SnapshotId id, Epoch leader_epoch) {
  const bool useful = id.end_offset > log_.end_offset() || id.epoch > log_.last_epoch();
  if (!useful || id.epoch > leader_epoch || id.epoch.value < 0) {
    fetch_retry_ms_ = now_ + cfg_.retry_backoff_ms;  // not a snapshot we can use
    return;
  }
  snapshot_fetch_ = PendingSnapshot{id, {}, -1};
  send_snapshot_fetch();
}

void RaftCore::send_snapshot_fetch() {
  uint64_t id = next_correlation_++;
  fetch_in_flight_ = id;
  fetch_sent_ms_ = now_;
  send(*leader_, id,
       FetchSnapshotRequest{cfg_.local_id, epoch_, snapshot_fetch_->id,
                            static_cast<int64_t>(snapshot_fetch_->bytes.size()), cfg_.fetch_snapshot_max_bytes});
}

void RaftCore::on_fetch_snapshot_request(const Message& m, const FetchSnapshotRequest& req) {
  FetchSnapshotResponse resp;
  resp.snapshot_id = req.snapshot_id;
  resp.position = req.position;
  auto answer = [&](ErrorCode error) {
    resp.error = error;
    resp.leader_id = leader().leader;
    resp.leader_epoch = epoch_;
    respond(m, std::move(resp));
  };
  if (req.replica_id != m.from || req.position < 0 || req.max_bytes <= 0) return answer(ErrorCode::INVALID_REQUEST);
  if (req.current_leader_epoch > epoch_) {
    adopt_higher_epoch(req.current_leader_epoch, std::nullopt);
    return answer(ErrorCode::UNKNOWN_LEADER_EPOCH);
  }
  if (role_ != Role::kLeader) return answer(ErrorCode::NOT_LEADER_OR_FOLLOWER);
  if (req.current_leader_epoch < epoch_) return answer(ErrorCode::FENCED_LEADER_EPOCH);
  if (auto it = replicas_.find(m.from); it != replicas_.end()) it->second.last_fetch_ms = now_;
  int64_t size = snapshots_ ? snapshots_->size(req.snapshot_id) : -1;
  if (size < 0) return answer(ErrorCode::SNAPSHOT_NOT_FOUND);
  if (req.position > size) return answer(ErrorCode::POSITION_OUT_OF_RANGE);
  size_t max = static_cast<size_t>(std::min(req.max_bytes, cfg_.fetch_snapshot_max_bytes));
  if (!snapshots_->read(req.snapshot_id, req.position, max, resp.bytes)) return answer(ErrorCode::SNAPSHOT_NOT_FOUND);
  resp.size = size;
  answer(ErrorCode::NONE);
}

void RaftCore::on_fetch_snapshot_response(const Message& m, const FetchSnapshotResponse& resp) {
  if (resp.leader_epoch > epoch_) return adopt_higher_epoch(resp.leader_epoch, resp.leader_id);
  if (!fetch_in_flight_ || *fetch_in_flight_ != m.correlation_id) return;  // stale or duplicated
  fetch_in_flight_.reset();
  if (role_ != Role::kFollower || !leader_ || m.from != *leader_ || !snapshot_fetch_ || resp.leader_epoch < epoch_)
    return;
  PendingSnapshot& p = *snapshot_fetch_;
  auto have = static_cast<int64_t>(p.bytes.size());
  auto got = static_cast<int64_t>(resp.bytes.size());
  bool bad = resp.error != ErrorCode::NONE || resp.snapshot_id != p.id || resp.position != have || resp.size < 0 ||
             resp.size > cfg_.max_snapshot_bytes || (p.size >= 0 && resp.size != p.size) ||
             got > resp.size - have || (got == 0 && have < resp.size);
  if (bad) {
    // Start over from a fresh Fetch: the leader may have a newer snapshot.
    snapshot_fetch_.reset();
    fetch_retry_ms_ = now_ + cfg_.retry_backoff_ms;
    return;
  }
  fetched_from_leader_ = true;
  fetch_deadline_ = now_ + cfg_.fetch_timeout_ms;
  p.size = resp.size;
  p.bytes.insert(p.bytes.end(), resp.bytes.begin(), resp.bytes.end());
  if (static_cast<int64_t>(p.bytes.size()) < p.size) return send_snapshot_fetch();
  installing_ = p.id;
  out_.install_snapshot = Output::InstallSnapshot{p.id, std::move(p.bytes)};
  snapshot_fetch_.reset();
}

}  // namespace samsa::raft
