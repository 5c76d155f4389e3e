// The values the replica state machine (replica_state.h) takes in and hands
// out: what the metadata image says about a partition, what a follower's Fetch
// tells the leader, the AlterPartition proposal the leader sends to the
// controller and the controller's answer, and the acks=all completions.
// Plain data, no behaviour; any thread may build them.
#pragma once
#include <cstdint>
#include <vector>

#include "base/error_code.h"
#include "base/types.h"

namespace samsa::replication {

// The partition epoch (Kafka's partitionEpoch): bumped by the controller on
// every change of the partition's leader, ISR or replicas. It is not a leader
// epoch, hence its own type.
struct PartitionEpochTag {
  static constexpr bool arithmetic = true;
};
using PartitionEpoch = StrongInt<PartitionEpochTag, int32_t>;

// "Never" as a time: far enough below any clock reading that now - kNeverMs
// exceeds every lag bound, yet subtracting it does not overflow.
inline constexpr int64_t kNeverMs = INT64_MIN / 4;

// Kafka's "no broker epoch given" (a fetch from an old follower).
inline constexpr int64_t kNoBrokerEpoch = -1;

// Limits on a state machine fed by untrusted counts (a metadata record, a
// fetch): Kafka's replica lists are bounded by the broker count.
inline constexpr size_t kMaxReplicas = 1024;
inline constexpr size_t kMaxWaitingAcks = size_t{1} << 20;

struct ReplicaConfig {
  int64_t replica_lag_time_max_ms = 30000;  // replica.lag.time.max.ms (Kafka's default)
  int32_t min_insync_replicas = 1;          // min.insync.replicas (topic, else broker)
  // Kafka 3.7+ (KAFKA-15583, part of KIP-966): the HW does not advance while
  // the committed ISR is below min.insync.replicas, so acks=1 data is not
  // shown to consumers that the ISR could lose. Off: the older rule.
  bool hold_hw_under_min_isr = false;
};

// A partition's registration in the metadata image (Kafka's LeaderAndIsr).
struct LeaderAndIsr {
  NodeId leader{-1};
  Epoch leader_epoch{-1};
  PartitionEpoch partition_epoch{-1};
  std::vector<NodeId> replicas;  // AR, leader included
  std::vector<NodeId> isr;
};

// What a follower's Fetch tells the leader (Kafka's FetchParams + replica
// state). `fetch_offset` is the follower's log end offset.
struct ReplicaFetch {
  NodeId replica{-1};
  int64_t broker_epoch = kNoBrokerEpoch;  // KIP-903: the follower's registration epoch
  Offset fetch_offset{0};
  int64_t now_ms = 0;
  Offset log_start{-1};  // the follower's log start offset (-1: not given)
};

// One ISR member in an AlterPartition proposal, with the broker epoch the
// leader saw it fetch with, so the controller refuses a member that restarted
// since (KIP-903: INELIGIBLE_REPLICA).
struct IsrMember {
  NodeId id{-1};
  int64_t broker_epoch = kNoBrokerEpoch;
  bool operator==(const IsrMember&) const = default;
};

// The leader's AlterPartition for this partition. `id` ties the answer to it.
struct IsrProposal {
  uint64_t id = 0;
  Epoch leader_epoch{-1};
  PartitionEpoch partition_epoch{-1};
  std::vector<IsrMember> new_isr;
  bool expand = false;  // PendingExpandIsr (else PendingShrinkIsr)
};

// The controller's answer to proposal `id` (error NONE: the state it committed).
struct IsrAnswer {
  uint64_t id = 0;
  ErrorCode error = ErrorCode::NONE;
  Epoch leader_epoch{-1};
  PartitionEpoch partition_epoch{-1};
  std::vector<NodeId> isr;
};

// An acks=all produce waiting for the high watermark (Kafka's DelayedProduce).
using AckTicket = uint64_t;
struct AckCompletion {
  AckTicket ticket = 0;
  ErrorCode error = ErrorCode::NONE;
  bool operator==(const AckCompletion&) const = default;
};

// The leader's record of one follower (Kafka's Replica / ReplicaState).
struct FollowerState {
  NodeId id{-1};
  Offset log_end{-1};               // -1: unknown (no fetch in this leader epoch)
  Offset log_start{-1};             // as its last fetch said (-1: unknown)
  Offset last_fetch_leader_end{-1};  // the leader's log end at the previous fetch
  int64_t last_fetch_ms = kNeverMs;
  int64_t last_caught_up_ms = kNeverMs;
  int64_t broker_epoch = kNoBrokerEpoch;
  bool eligible = true;  // not fenced / shutting down (KIP-841); set from the image

  // Kafka's isCaughtUp: at the leader's end, or caught up within the lag bound.
  bool caught_up(Offset leader_end, int64_t now_ms, int64_t max_lag_ms) const {
    return log_end == leader_end || now_ms - last_caught_up_ms <= max_lag_ms;
  }
};

}  // namespace samsa::replication
