// The records of __consumer_offsets, in Kafka's formats so the partition reads
// the same as Kafka's (all integers big-endian, strings as int16 length + UTF-8):
//   offset commit key   (version 1): group, topic, int32 partition
//   offset commit value (version 3): int64 offset, int32 leader epoch, metadata, int64 commit time
//   group metadata key  (version 2): group   (value: not written yet by Samsa)
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
};

std::vector<uint8_t> encode_offset_key(const OffsetKey& k);
std::vector<uint8_t> encode_offset_value(const CommittedOffset& v);

// nullopt for malformed bytes or versions Samsa does not read.
std::optional<std::variant<OffsetKey, GroupKey>> decode_key(std::span<const uint8_t> b);
std::optional<CommittedOffset> decode_offset_value(std::span<const uint8_t> b);

}  // namespace samsa::coordinator
