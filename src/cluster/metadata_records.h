// Metadata log records: what the controller appends to __cluster_metadata and
// every broker replays into its MetadataImage. Each record value is encoded as
// int16 type, int16 version, then the fields (see src/cluster/FORMAT.md).
#pragma once
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "cluster/metadata_image.h"
#include "protocol/wire.h"

namespace samsa::cluster {

struct TopicRecord {
  std::string name;
  Uuid id{};
};
struct PartitionRecord {
  Uuid topic_id{};
  int32_t partition = 0;
  std::vector<int32_t> replicas;
  std::vector<int32_t> isr;
  int32_t leader = -1;
  int32_t leader_epoch = 0;
};
struct ConfigRecord {
  int8_t resource_type = 2;  // 2 = topic, 4 = broker (Kafka's ConfigResource types)
  std::string resource_name;
  std::string key;
  std::optional<std::string> value;  // null removes the override
};
struct RemoveTopicRecord {
  Uuid topic_id{};
};
struct RegisterBrokerRecord {
  int32_t broker_id = -1;
  std::string host;
  int32_t port = 0;
  std::optional<std::string> rack;
};
struct ProducerIdsRecord {
  int32_t broker_id = -1;
  int64_t next_producer_id = 0;  // first id not yet handed out
};
struct ClusterIdRecord {
  std::string cluster_id;
};

using MetadataRecord = std::variant<TopicRecord, PartitionRecord, ConfigRecord, RemoveTopicRecord,
                                    RegisterBrokerRecord, ProducerIdsRecord, ClusterIdRecord>;

protocol::Bytes encode_record(const MetadataRecord& r);
// Returns nullopt for malformed input or an unknown record type.
std::optional<MetadataRecord> decode_record(std::span<const uint8_t> value);

// Applies records to `image` (which the caller owns exclusively, e.g. a fresh copy).
void apply_record(MetadataImage& image, const MetadataRecord& r);

}  // namespace samsa::cluster
