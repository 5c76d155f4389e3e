// The records of __consumer_offsets, in Kafka's formats so the partition reads
// the same as Kafka's (all integers big-endian, strings as int16 length + UTF-8):
//   offset commit key   (version 1): group, topic, int32 partition
//   offset commit value (version 3): int64 offset, int32 leader epoch, metadata, int64 commit time;
//                       version 1 (int64 offset, metadata, int64 commit time, int64 expire time)
//                       when the commit carried a retention time (OffsetCommit v2-v4)
//   group metadata key  (version 2): group
//   group metadata value (version 3): protocol type, int32 generation, nullable protocol,
//                       nullable leader, int64 current state timestamp, int32 member count, then
//                       per member: member id, nullable group instance id, client id, client host,
//                       int32 rebalance timeout, int32 session timeout, subscription and assignment
//                       (int32 length + bytes). Versions 0-2 lack some fields (see decode).
// A null value (tombstone) deletes the key.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <algorithm>
#include <climits>
#include <vector>

namespace samsa::coordinator {

struct OffsetKey {
  std::string group;
  std::string topic;
  int32_t partition = 0;
};

struct GroupKey {
  std::string group;
};

struct CommittedOffset {
  int64_t offset = -1;
  int32_t leader_epoch = -1;
  std::string metadata;
  int64_t commit_timestamp = -1;
  // Set by an OffsetCommit v2-v4 retention time: the offset may expire from
  // then on, instead of offsets.retention.minutes after its base time.
  std::optional<int64_t> expire_timestamp;
};

struct GroupMemberRecord {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::string client_id;
  std::string client_host;
  int32_t rebalance_timeout_ms = 0;
  int32_t session_timeout_ms = 0;
  std::vector<uint8_t> subscription;
  std::vector<uint8_t> assignment;
};

struct GroupMetadataValue {
  std::string protocol_type;
  int32_t generation = 0;
  std::optional<std::string> protocol;
  std::optional<std::string> leader;
  int64_t current_state_timestamp = -1;
  std::vector<GroupMemberRecord> members;
};

std::vector<uint8_t> encode_offset_key(const OffsetKey& k);
std::vector<uint8_t> encode_offset_value(const CommittedOffset& v);
std::vector<uint8_t> encode_group_key(const GroupKey& k);
std::vector<uint8_t> encode_group_value(const GroupMetadataValue& v);

// nullopt for malformed bytes or versions Samsa does not read.
std::optional<std::variant<OffsetKey, GroupKey>> decode_key(std::span<const uint8_t> b);
std::optional<CommittedOffset> decode_offset_value(std::span<const uint8_t> b);
// Versions 0-3. The member count is bounded by the bytes left (a member takes
// at least 18 bytes), so a corrupt count cannot make it allocate.
std::optional<GroupMetadataValue> decode_group_value(std::span<const uint8_t> b);

}  // namespace samsa::coordinator
