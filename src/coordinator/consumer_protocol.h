// The classic "consumer" embedded protocol (Kafka's ConsumerProtocol): what a
// classic consumer puts in JoinGroup's protocol metadata (subscription) and
// what the leader hands out through SyncGroup (assignment). Classic encoding:
// int16 version, then the fields of that version (later versions only append):
//   subscription v0 topics [string], user data (nullable bytes)
//                v1 + owned partitions [topic string, partitions [int32]]
//                v2 + int32 generation   v3 + nullable rack id
//   assignment   v0-v3 assigned partitions [topic string, partitions [int32]], user data
// Used by online conversion between classic and consumer groups and to show
// consumer groups to DescribeGroups. Pure functions: bytes from a member are
// untrusted, so every count is checked against the bytes left before use.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

namespace samsa::coordinator {

// topic name -> partitions
using NamedPartitions = std::map<std::string, std::set<int32_t>>;

struct ConsumerSubscription {
  int16_t version = 0;
  std::vector<std::string> topics;
  NamedPartitions owned;  // v1+
  int32_t generation = -1;  // v2+
  std::optional<std::string> rack_id;  // v3+
};

// nullopt when malformed (a negative version or count, truncated fields).
std::optional<ConsumerSubscription> decode_consumer_subscription(std::span<const uint8_t> b);
std::vector<uint8_t> encode_consumer_subscription(const ConsumerSubscription& s);
// The assignment in `version` (clamped to 0..3, whose layouts are the same), no user data.
std::vector<uint8_t> encode_consumer_assignment(const NamedPartitions& a, int16_t version);
std::optional<NamedPartitions> decode_consumer_assignment(std::span<const uint8_t> b);
// The version of either message (its first two bytes); nullopt when fewer than two bytes or negative.
std::optional<int16_t> consumer_protocol_version(std::span<const uint8_t> b);

}  // namespace samsa::coordinator
