// Metadata log records: what the controller appends to __cluster_metadata and
// every broker replays into its MetadataImage. The records are Kafka's KRaft
// metadata records (schemas/kraft/*.rec, generated into protocol/kraft/), each
// value framed as Kafka frames it: uvarint frame version 1, uvarint type,
// uvarint version, the record (see src/cluster/FORMAT.md). Values written by
// Samsa before it used Kafka's records (int16 type, int16 version, first byte
// 0x00) are still read: see protocol/kraft_legacy.h.
//
// Pure functions on values and on an image the caller owns; any thread.
#pragma once
#include <optional>
#include <span>
#include <string>

#include "cluster/metadata_image.h"
#include "protocol/kraft/records.h"
#include "protocol/wire.h"

namespace samsa::cluster {

using protocol::kraft::AccessControlEntryRecord;
using protocol::kraft::BrokerRegistrationChangeRecord;
using protocol::kraft::ClientQuotaRecord;
using protocol::kraft::ConfigRecord;
using protocol::kraft::FeatureLevelRecord;
using protocol::kraft::FenceBrokerRecord;
using protocol::kraft::MetadataRecord;
using protocol::kraft::NoOpRecord;
using protocol::kraft::PartitionChangeRecord;
using protocol::kraft::PartitionRecord;
using protocol::kraft::ProducerIdsRecord;
using protocol::kraft::RegisterBrokerRecord;
using protocol::kraft::RemoveAccessControlEntryRecord;
using protocol::kraft::RemoveTopicRecord;
using protocol::kraft::TopicRecord;
using protocol::kraft::UnfenceBrokerRecord;
using protocol::kraft::UnregisterBrokerRecord;
using protocol::kraft::RemoveUserScramCredentialRecord;
using protocol::kraft::UserScramCredentialRecord;

// Kafka's ConfigResource types, as ConfigRecord carries them.
inline constexpr int8_t kTopicResource = 2;
inline constexpr int8_t kBrokerResource = 4;
// PartitionChangeRecord's leader when the leader did not change.
inline constexpr int32_t kNoLeaderChange = -2;

// Frames and encodes a record at the newest version this build knows.
protocol::Bytes encode_record(const MetadataRecord& r);

// One metadata log value, decoded.
struct DecodedValue {
  std::optional<MetadataRecord> record;  // set: apply it
  // Set when the value is skipped: malformed, an unknown type or a newer
  // version (a newer writer), each worth a warning. A value of the old format
  // that carries nothing to apply any more (its cluster id record: the cluster
  // id lives in meta.properties) is skipped with neither.
  std::string warning;
  bool legacy = false;  // written in the old Samsa format
};
DecodedValue decode_value(std::span<const uint8_t> value);

// The record of a value, or nullopt when it is skipped (either format).
std::optional<MetadataRecord> decode_record(std::span<const uint8_t> value);

// Applies a record to `image` (which the caller owns exclusively, e.g. a fresh copy).
void apply_record(MetadataImage& image, const MetadataRecord& r);

// A PartitionChangeRecord's effect on one partition (Kafka's
// PartitionRegistration.merge): absent fields keep their value; the partition
// epoch always bumps, the leader epoch when the leader field is set.
void merge_partition_change(PartitionInfo& p, const PartitionChangeRecord& r);

// Convenience constructors for the records the controller writes most.
TopicRecord topic_record(std::string name, const Uuid& id);
// A new partition: replicas, ISR = replicas, leader, epochs 0.
PartitionRecord partition_record(const Uuid& topic_id, int32_t partition, std::vector<int32_t> replicas,
                                 std::vector<int32_t> isr, int32_t leader, int32_t leader_epoch);
ConfigRecord config_record(int8_t resource_type, std::string resource_name, std::string key,
                           std::optional<std::string> value);

}  // namespace samsa::cluster
