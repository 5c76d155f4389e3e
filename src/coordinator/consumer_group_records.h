// The records of KIP-848 consumer groups in __consumer_offsets, in Kafka's
// formats (see FORMAT.md): key = int16 record type + classic-encoded fields,
// value = int16 version 0 + flexible (compact) fields with a tagged-field section.
//   3 ConsumerGroupMetadata           key group            value epoch
//   4 ConsumerGroupPartitionMetadata  key group            value epoch, topics (id, name, partitions, racks)
//   5 ConsumerGroupMemberMetadata     key group, member    value instance, rack, client id/host,
//                                                         subscribed names, regex, rebalance timeout, assignor
//   6 ConsumerGroupTargetAssignmentMetadata key group      value assignment epoch
//   7 ConsumerGroupTargetAssignmentMember key group, member value topic partitions
//   8 ConsumerGroupCurrentMemberAssignment key group, member value epoch, previous epoch, state,
//                                                         assigned, pending revocation
#pragma once
#include <cstdint>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "coordinator/consumer_group.h"

namespace samsa::coordinator {

struct ConsumerRecordKey {
  int16_t type = 0;  // 3..8
  std::string group;
  std::string member;  // types 5, 7, 8
};

using RecordBytes = std::vector<uint8_t>;
struct ConsumerRecord {
  RecordBytes key;
  std::optional<RecordBytes> value;  // nullopt: a tombstone
};

// Every record of the group's current state, plus tombstones for the members
// in `written` that are gone (the caller then remembers the current members).
std::vector<ConsumerRecord> consumer_group_records(const ConsumerGroup& g, const std::set<std::string>& written);
// Tombstones of every record of the group (DeleteGroups).
std::vector<ConsumerRecord> consumer_group_tombstones(const std::string& group, const std::set<std::string>& members);

std::optional<ConsumerRecordKey> decode_consumer_key(std::span<const uint8_t> b);
// Applies one record at replay (value nullopt: tombstone). False when the value is unreadable.
bool apply_consumer_record(ConsumerGroup& g, const ConsumerRecordKey& k, const std::optional<std::span<const uint8_t>>& value,
                           int64_t now);

}  // namespace samsa::coordinator
