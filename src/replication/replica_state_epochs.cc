#include "replication/replica_state_epochs.h"

#include <algorithm>

namespace samsa::replication {

ErrorCode check_leader_epoch(Epoch requested, Epoch current) {
  if (requested.value < 0) return ErrorCode::NONE;
  if (requested < current) return ErrorCode::FENCED_LEADER_EPOCH;
  if (requested > current) return ErrorCode::UNKNOWN_LEADER_EPOCH;
  return ErrorCode::NONE;
}

EpochEnd end_offset_for_epoch(const storage::LeaderEpochCache& cache, Epoch requested, Offset log_end) {
  storage::EpochEndOffset e = cache.end_offset_for(requested.value, log_end.value);
  return {Epoch(e.epoch), Offset(e.end_offset)};
}

std::optional<EpochEnd> diverging_epoch(const storage::LeaderEpochCache& leader, Offset leader_log_end,
                                        Epoch last_fetched_epoch, Offset fetch_offset) {
  if (last_fetched_epoch.value < 0) return std::nullopt;
  EpochEnd end = end_offset_for_epoch(leader, last_fetched_epoch, leader_log_end);
  // The follower's last epoch is unknown here (an older epoch answers), or
  // this leader's copy of that epoch ends before the follower's: the logs
  // differ at or after end.end_offset.
  if (end.epoch < last_fetched_epoch || end.end_offset < fetch_offset) return end;
  return std::nullopt;
}

TruncationPoint truncation_point(const storage::LeaderEpochCache& follower, Offset follower_log_end,
                                 Offset follower_high_watermark, EpochEnd leader_answer) {
  // The leader knows no epoch <= ours: only what was committed is safe.
  if (leader_answer.undefined()) return {std::min(follower_high_watermark, follower_log_end), true};
  // The leader's history before its first epoch entry was deleted: take its offset.
  if (leader_answer.epoch.value < 0) return {std::min(leader_answer.end_offset, follower_log_end), true};
  EpochEnd ours = end_offset_for_epoch(follower, leader_answer.epoch, follower_log_end);
  // We never recorded epochs that far back: the leader's offset is the bound.
  if (ours.undefined()) return {std::min(leader_answer.end_offset, follower_log_end), true};
  // We do not have the leader's epoch: cut to the end of our largest older
  // epoch and ask again with it.
  if (ours.epoch != leader_answer.epoch) return {std::min(ours.end_offset, follower_log_end), false};
  return {std::min({ours.end_offset, leader_answer.end_offset, follower_log_end}), true};
}

}  // namespace samsa::replication
