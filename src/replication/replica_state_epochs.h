// Leader-epoch rules of partition replication as pure functions (no state, any
// thread): the current-leader-epoch check of Fetch / Produce /
// OffsetForLeaderEpoch / ListOffsets, the leader's answer to OffsetForLeaderEpoch
// and the DivergingEpoch it puts in a follower's Fetch response (KIP-320), and
// the follower's truncation point (KIP-101 / KIP-279), as Kafka's Partition and
// AbstractFetcherThread decide them.
#pragma once
#include <optional>

#include "base/error_code.h"
#include "base/types.h"
#include "storage/leader_epoch_cache.h"

namespace samsa::replication {

// A request's current_leader_epoch against this replica's leader epoch:
// -1 (not given) passes; older: FENCED_LEADER_EPOCH (the sender is behind);
// newer: UNKNOWN_LEADER_EPOCH (this replica is behind, the client retries).
ErrorCode check_leader_epoch(Epoch requested, Epoch current);

// (epoch, end offset) as OffsetForLeaderEpoch and the DivergingEpoch of a Fetch
// response carry them; {-1, -1} is UNDEFINED.
struct EpochEnd {
  Epoch epoch{-1};
  Offset end_offset{-1};
  bool undefined() const { return end_offset.value < 0; }
  bool operator==(const EpochEnd&) const = default;
};

// The leader's OffsetForLeaderEpoch answer: the largest epoch <= `requested`
// in its cache and where it ends (the next epoch's start, or `log_end` for the
// latest epoch). UNDEFINED above the latest epoch or with an empty cache.
EpochEnd end_offset_for_epoch(const storage::LeaderEpochCache& cache, Epoch requested, Offset log_end);

// The leader's check of a follower Fetch that names its last fetched epoch:
// the DivergingEpoch to answer when the follower's log cannot continue at
// `fetch_offset` (the leader's end of that epoch is below it, or the leader
// knows only an older epoch), else none (the fetch goes on). Kafka skips the
// check when last_fetched_epoch is -1 (not given): none.
std::optional<EpochEnd> diverging_epoch(const storage::LeaderEpochCache& leader, Offset leader_log_end,
                                        Epoch last_fetched_epoch, Offset fetch_offset);

// Where a follower truncates its log given the leader's answer (a
// DivergingEpoch, or the OffsetForLeaderEpoch answer for the follower's latest
// epoch). `complete` false: the follower did not know the leader's epoch, so it
// truncated to the end of its largest older epoch and must ask again (its next
// Fetch names the new last epoch).
struct TruncationPoint {
  Offset offset{0};
  bool complete = true;
  bool operator==(const TruncationPoint&) const = default;
};
TruncationPoint truncation_point(const storage::LeaderEpochCache& follower, Offset follower_log_end,
                                 Offset follower_high_watermark, EpochEnd leader_answer);

}  // namespace samsa::replication
