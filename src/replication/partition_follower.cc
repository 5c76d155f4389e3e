// The follower side of a Partition (declared in the marked block of
// partition.h): truncations ordered by the replica fetcher and the high
// watermark it learns from its leader. Runs on the partition's shard.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "replication/partition.h"

namespace samsa::replication {

// Kafka's Partition.truncateTo: the log (durably) and its leader-epoch cache,
// then the high watermark clamps to the new end. Storage::Log::truncate_to
// cuts the epoch cache even when `offset` is at or past the log end.
storage::Status Partition::truncate_to(Offset offset) {
  on_owner();
  const Offset before = log_end_offset();
  storage::Status st = log_->truncate_to(offset.value);
  check_io_error(st);
  if (!st) {
    spdlog::error("truncating {} to {} failed: {}", tp_.to_string(), offset.value, st.to_string());
    return st;
  }
  const Offset end = log_end_offset();
  if (end < before)
    spdlog::info("truncated {} to offset {} (log end was {})", tp_.to_string(), end.value, before.value);
  if (high_watermark_ > end) high_watermark_ = end;
  if (state_) state_->on_truncated(end);
  log_->set_high_watermark_snapshot(high_watermark_.value);
  fetch_waiters_.complete_all();
  return st;
}

// Kafka's truncateFullyAndStartAt: the whole log goes and restarts empty at
// `offset` (a follower wholly below its leader's log start). The high
// watermark starts there too.
storage::Status Partition::truncate_fully_and_start_at(Offset offset) {
  on_owner();
  storage::Status st = log_->truncate_fully_and_start_at(offset.value);
  check_io_error(st);
  if (!st) {
    spdlog::error("restarting {} at {} failed: {}", tp_.to_string(), offset.value, st.to_string());
    return st;
  }
  spdlog::info("emptied {} and restarted it at offset {}", tp_.to_string(), offset.value);
  high_watermark_ = log_end_offset();
  if (state_) {
    state_->on_truncated(high_watermark_);
    state_->on_leader_high_watermark(high_watermark_, high_watermark_);
  }
  log_->set_high_watermark_snapshot(high_watermark_.value);
  fetch_waiters_.complete_all();
  return st;
}

// Kafka's updateFollowerFetchState on the follower (maybeUpdateHighWatermark
// with the leader's HW): the leader may be ahead of what we have appended, so
// ours is capped at our log end; a smaller leader HW (a new leader not yet
// caught up in its epoch) does not move ours back.
void Partition::update_follower_high_watermark(Offset leader_high_watermark) {
  on_owner();
  Offset hw = std::min(leader_high_watermark, log_end_offset());
  if (state_) hw = state_->on_leader_high_watermark(leader_high_watermark, log_end_offset());
  if (hw <= high_watermark_) return;
  high_watermark_ = hw;
  log_->set_high_watermark_snapshot(hw.value);
  if (!fetch_waiters_.empty()) fetch_waiters_.complete_all();
}

}  // namespace samsa::replication
