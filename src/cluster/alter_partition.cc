#include "cluster/alter_partition.h"

#include <algorithm>

#include "cluster/partition_changes.h"

namespace samsa::cluster {

namespace {

// Kafka's Replicas.validateIsr: distinct, non-negative, every one a replica.
bool isr_is_set_of_replicas(const std::vector<int32_t>& replicas, const std::vector<IsrMember>& isr) {
  std::vector<int32_t> ids;
  ids.reserve(isr.size());
  for (auto& m : isr) {
    if (m.broker < 0 || std::find(replicas.begin(), replicas.end(), m.broker) == replicas.end()) return false;
    ids.push_back(m.broker);
  }
  std::sort(ids.begin(), ids.end());
  return std::adjacent_find(ids.begin(), ids.end()) == ids.end();
}

// Registered, unfenced, not shutting down, and of the epoch given (if any).
bool eligible(const MetadataImage& image, const IsrMember& m) {
  auto it = image.brokers.find(m.broker);
  if (it == image.brokers.end()) return false;
  const BrokerInfo& b = it->second;
  if (b.in_controlled_shutdown || b.fenced) return false;
  return m.broker_epoch == -1 || m.broker_epoch == b.epoch;
}

}  // namespace

ErrorCode validate_alter_partition(const MetadataImage& image, int32_t sender, const PartitionInfo* p,
                                   const AlterPartitionItem& item, int16_t version) {
  if (!p) return ErrorCode::UNKNOWN_TOPIC_OR_PARTITION;
  if (item.leader_epoch > p->leader_epoch || item.partition_epoch > p->partition_epoch) return ErrorCode::NOT_CONTROLLER;
  if (item.leader_epoch < p->leader_epoch) return ErrorCode::FENCED_LEADER_EPOCH;
  if (sender != p->leader) return ErrorCode::INVALID_REQUEST;
  if (item.partition_epoch < p->partition_epoch) return ErrorCode::INVALID_UPDATE_VERSION;
  if (!isr_is_set_of_replicas(p->replicas, item.new_isr)) return ErrorCode::INVALID_REQUEST;
  auto holds_leader = [&](const IsrMember& m) { return m.broker == p->leader; };
  if (std::none_of(item.new_isr.begin(), item.new_isr.end(), holds_leader)) return ErrorCode::INVALID_REQUEST;
  if (item.leader_recovery_state != kLeaderRecovered && item.leader_recovery_state != kLeaderRecovering)
    return ErrorCode::INVALID_REQUEST;
  if (item.leader_recovery_state == kLeaderRecovering && item.new_isr.size() > 1) return ErrorCode::INVALID_REQUEST;
  if (p->leader_recovery_state == kLeaderRecovered && item.leader_recovery_state == kLeaderRecovering)
    return ErrorCode::INVALID_REQUEST;
  for (auto& m : item.new_isr)
    if (!eligible(image, m)) return version >= 2 ? ErrorCode::INELIGIBLE_REPLICA : ErrorCode::OPERATION_NOT_ATTEMPTED;
  return ErrorCode::NONE;
}

}  // namespace samsa::cluster
