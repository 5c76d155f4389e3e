// Log: retention and the deletion of segments (split from log.cc
// to keep files short; same class, same ownership: the partition's core).
#include <algorithm>

#include "storage/log.h"

namespace samsa::storage {

// ---------------------------------------------------------------- retention

// The segment's files go before its .txnindex: a crash in between leaves an
// orphan .txnindex (merged away at the next open), never a segment whose
// aborted transactions were forgotten.
Status Log::delete_segment(size_t index) {
  const int64_t base = segments_[index]->base_offset();
  SAMSA_RETURN_IF_ERROR(segments_[index]->remove());
  segments_.erase(segments_.begin() + static_cast<ptrdiff_t>(index));
  ++dir_generation_;
  return remove_txn_index(base);
}

// Renames instead of unlinking so that readers holding positions computed
// before the deletion (Kafka's rationale) find the files for a while longer.
Status Log::delete_segment_later(size_t index, int64_t now_ms) {
  if (config_.file_delete_delay_ms <= 0) return delete_segment(index);
  std::vector<std::string> renamed;
  const int64_t base = segments_[index]->base_offset();
  SAMSA_RETURN_IF_ERROR(segments_[index]->rename_for_deletion(&renamed));
  segments_.erase(segments_.begin() + static_cast<ptrdiff_t>(index));
  ++dir_generation_;
  SAMSA_RETURN_IF_ERROR(remove_txn_index(base));  // after the segment (see delete_segment)
  const int64_t due = now_ms > kNoLimit - config_.file_delete_delay_ms ? kNoLimit : now_ms + config_.file_delete_delay_ms;
  for (auto& p : renamed) pending_deletes_.push_back(PendingDelete{due, std::move(p)});
  return Status::ok();
}

Result<int> Log::remove_deleted_files(int64_t now_ms) {
  int removed = 0;
  Status first_error;
  std::vector<PendingDelete> keep;
  for (auto& p : pending_deletes_) {
    if (p.due_ms > now_ms) {
      keep.push_back(std::move(p));
      continue;
    }
    Status st = env_->unlink(p.path);
    if (!st && st.kind() != Status::Kind::kNotFound) {
      if (first_error) first_error = st;
      keep.push_back(std::move(p));  // retried next time
      continue;
    }
    ++removed;
  }
  pending_deletes_ = std::move(keep);
  if (!first_error) return first_error;
  return removed;
}

Status Log::maybe_increment_log_start_offset(int64_t offset, int64_t high_watermark) {
  if (offset > high_watermark) return Status::offset_out_of_range("log start offset beyond the high watermark");
  if (offset <= log_start_offset_) return Status::ok();
  set_log_start_offset(std::min(offset, next_offset_));
  return epochs_.truncate_from_start(log_start_offset_);
}

Result<int> Log::delete_old_segments(int64_t now_ms, int64_t high_watermark) {
  Status why;
  if (check_usable(&why) != ErrorCode::NONE) return why;
  int deleted = 0;
  uint64_t total = size_bytes();
  // Oldest first, never data above the HW. The active segment goes only when
  // all its data is deletable: it is rolled first (as Kafka does), so the log
  // always keeps one (then empty) segment at the log end.
  while (!segments_.empty()) {
    const Segment& seg = *segments_.front();
    if (seg.empty() || seg.next_offset() > high_watermark) break;
    const bool below_start = seg.next_offset() <= log_start_offset_;
    const bool too_old = config_.cleanup_delete && config_.retention_ms >= 0 && seg.max_timestamp() >= 0 &&
                         now_ms - seg.max_timestamp() > config_.retention_ms;
    const bool too_big = config_.cleanup_delete && config_.retention_bytes >= 0 &&
                         total - seg.size() >= static_cast<uint64_t>(config_.retention_bytes);
    if (!below_start && !too_old && !too_big) break;
    if (segments_.size() == 1) SAMSA_RETURN_IF_ERROR(roll(now_ms));  // failed_ set by roll if needed
    total -= segments_.front()->size();
    Status st = delete_segment_later(0, now_ms);
    if (!st) {
      failed_ = true;
      return st;
    }
    ++deleted;
  }
  if (segments_.front()->base_offset() > log_start_offset_) {
    set_log_start_offset(segments_.front()->base_offset());
    SAMSA_RETURN_IF_ERROR(epochs_.truncate_from_start(log_start_offset_));
  }
  return deleted;
}

}  // namespace samsa::storage
