// Samsa's metadata record format before it used Kafka's KRaft records: int16
// type, int16 version (0), then the fields (src/cluster/FORMAT.md, "The old
// format"). Data dirs written by older Samsa binaries hold these values; they
// are read, never written. Every old type is below 256, so an old value starts
// with 0x00, while a Kafka-framed value starts with its frame version, 0x01.
//
// Pure functions; any thread.
#pragma once
#include <optional>
#include <span>
#include <string>

#include "protocol/kraft/records.h"
#include "protocol/wire.h"

namespace samsa::protocol::kraft {

// Old type numbers (they clash with Kafka's: 17 was RegisterBroker here).
namespace legacy_type {
inline constexpr int16_t kTopic = 2;
inline constexpr int16_t kPartition = 3;
inline constexpr int16_t kConfig = 4;
inline constexpr int16_t kRemoveTopic = 9;
inline constexpr int16_t kProducerIds = 15;
inline constexpr int16_t kRegisterBroker = 17;
inline constexpr int16_t kClusterId = 100;
}  // namespace legacy_type

struct LegacyValue {
  // The Kafka record with the same meaning (unset for the cluster id record,
  // which has none: the cluster id lives in meta.properties).
  std::optional<MetadataRecord> record;
  std::optional<std::string> cluster_id;  // the old cluster id record's id
};

// True when `value` is in the old format (its first byte is 0x00).
inline bool is_legacy_value(std::span<const uint8_t> value) { return !value.empty() && value[0] == 0x00; }

// Decodes an old-format value; nullopt when malformed, of an unknown type or
// version. Reads nothing past `value`; every count is bounded by what remains.
std::optional<LegacyValue> decode_legacy_value(std::span<const uint8_t> value);

// The JSON payload dump-log-segments prints for an old value: the Kafka
// record's form plus "samsaOldFormat":true (the cluster id record as
// SAMSA_OLD_CLUSTER_ID_RECORD); nullopt when it does not decode.
std::optional<std::string> legacy_value_json(std::span<const uint8_t> value);

}  // namespace samsa::protocol::kraft
