// A partition's identity and the name of its directory in a log dir:
// "<topic>-<partition>", where the partition is the part after the LAST '-'
// (topic names may themselves contain '.', '_' and '-'). Directories being
// deleted or moved carry a suffix: "<topic>-<partition>.<32 hex>-delete",
// "...-future", "...-stray".
#pragma once
#include <compare>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace samsa::storage {

struct TopicPartition {
  std::string topic;
  int32_t partition = 0;
  bool operator==(const TopicPartition&) const = default;
  auto operator<=>(const TopicPartition&) const = default;
  std::string to_string() const { return topic + "-" + std::to_string(partition); }
};

struct TopicPartitionHash {
  size_t operator()(const TopicPartition& tp) const noexcept {
    return std::hash<std::string>()(tp.topic) * 31 + static_cast<size_t>(tp.partition);
  }
};

enum class PartitionDirKind : uint8_t { kLive, kDelete, kFuture, kStray };

struct PartitionDir {
  TopicPartition tp;
  PartitionDirKind kind = PartitionDirKind::kLive;
};

// Kafka's legal topic names: 1..249 characters of [a-zA-Z0-9._-].
bool is_valid_topic_name(std::string_view topic);
// "<topic>-<partition>" for a live partition.
std::string partition_dir_name(const TopicPartition& tp);
// The name a deleted partition's directory is renamed to (random 32-hex id).
std::string deleted_dir_name(const TopicPartition& tp);
// The directory a replica being moved to another log dir is copied into
// ("<topic>-<partition>.<id>-future", Kafka's name).
std::string future_dir_name(const TopicPartition& tp);
// Parses a directory name; nullopt if it is not a partition directory.
std::optional<PartitionDir> parse_partition_dir(std::string_view name);

}  // namespace samsa::storage
