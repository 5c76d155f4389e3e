// AlterPartition (API 56) as the controller takes and answers it: a partition
// leader asks for a new ISR (and, after an unclean election, to leave the
// RECOVERING state). The wire form (schemas/alter_partition.api) is turned
// into these types by the server; the Controller runs alter_partition
// (controller_partitions.cc) one operation at a time like every other.
//
// validate_alter_partition holds Kafka's per-partition checks
// (ReplicationControlManager.validateAlterPartitionData, as facts), in
// Kafka's order:
//   1. the partition exists                       UNKNOWN_TOPIC_OR_PARTITION
//   2. the leader / partition epoch is not newer
//      than the controller's (a newer controller
//      made it: the sender should find it)        NOT_CONTROLLER
//   3. the leader epoch is not older              FENCED_LEADER_EPOCH
//   4. the sender is the partition's leader       INVALID_REQUEST
//   5. the partition epoch is the current one     INVALID_UPDATE_VERSION
//   6. the ISR is a set of the replicas and
//      holds the leader; while RECOVERING it is
//      the leader alone, and RECOVERED never goes
//      back to RECOVERING                         INVALID_REQUEST
//   7. every ISR member is registered, unfenced,
//      not in controlled shutdown and (v3) of the
//      broker epoch given with it                 INELIGIBLE_REPLICA (v0-1:
//                                                 OPERATION_NOT_ATTEMPTED)
// Before any of them the request's own broker epoch must be the sender's
// registration (else STALE_BROKER_EPOCH for the whole request).
//
// Pure function on an image the caller holds; any thread.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "base/error_code.h"
#include "base/types.h"
#include "cluster/metadata_image.h"

namespace samsa::cluster {

// One member of the new ISR; broker_epoch -1: not checked (versions 0-2).
struct IsrMember {
  int32_t broker = -1;
  int64_t broker_epoch = -1;
  bool operator==(const IsrMember&) const = default;
};

struct AlterPartitionItem {
  int32_t partition = -1;
  int32_t leader_epoch = -1;
  std::vector<IsrMember> new_isr;
  int8_t leader_recovery_state = 0;
  int32_t partition_epoch = -1;
};

struct AlterPartitionTopic {
  std::string name;  // versions 0-1
  Uuid id{};         // versions 2+
  std::vector<AlterPartitionItem> partitions;
};

struct AlterPartitionRequest {
  NodeId broker{-1};
  int64_t broker_epoch = -1;
  int16_t version = 0;  // decides topic names or ids and two error codes
  std::vector<AlterPartitionTopic> topics;
};

// One partition's answer: on NONE the partition's state after the change.
struct AlterPartitionResult {
  int32_t partition = -1;
  ErrorCode error = ErrorCode::NONE;
  int32_t leader = -1;
  int32_t leader_epoch = -1;
  std::vector<int32_t> isr;
  int8_t leader_recovery_state = 0;
  int32_t partition_epoch = -1;
};

struct AlterPartitionTopicResult {
  std::string name;
  Uuid id{};
  std::vector<AlterPartitionResult> partitions;
};

struct AlterPartitionResponse {
  ErrorCode error = ErrorCode::NONE;  // STALE_BROKER_EPOCH, NOT_CONTROLLER, ...: no topics
  std::string message;
  std::vector<AlterPartitionTopicResult> topics;
};

// The checks above for one partition (`p` null: unknown), against `image`.
ErrorCode validate_alter_partition(const MetadataImage& image, int32_t sender, const PartitionInfo* p,
                                   const AlterPartitionItem& item, int16_t version);

}  // namespace samsa::cluster
