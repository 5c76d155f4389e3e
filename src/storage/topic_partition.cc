#include "storage/topic_partition.h"

#include "base/random.h"
#include "storage/log_format.h"

namespace samsa::storage {
namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool is_hex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) return false;
  }
  return true;
}

std::string random_hex_id() {
  Random& rng = unique_ids();  // a directory name: must not meet one an earlier run left
  static const char kDigits[] = "0123456789abcdef";
  std::string id(32, '0');
  for (auto& c : id) c = kDigits[rng.next_u64() & 15];
  return id;
}

}  // namespace

bool is_valid_topic_name(std::string_view topic) {
  if (topic.empty() || topic.size() > format::kMaxTopicLength || topic == "." || topic == "..") return false;
  for (char c : topic) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string partition_dir_name(const TopicPartition& tp) { return tp.to_string(); }

std::string deleted_dir_name(const TopicPartition& tp) {
  return tp.to_string() + "." + random_hex_id() + std::string(format::kDeleteDirSuffix);
}

std::string future_dir_name(const TopicPartition& tp) {
  return tp.to_string() + "." + random_hex_id() + std::string(format::kFutureDirSuffix);
}

std::optional<PartitionDir> parse_partition_dir(std::string_view name) {
  PartitionDir out;
  for (auto [suffix, kind] : {std::pair{format::kDeleteDirSuffix, PartitionDirKind::kDelete},
                              std::pair{format::kFutureDirSuffix, PartitionDirKind::kFuture},
                              std::pair{format::kStrayDirSuffix, PartitionDirKind::kStray}}) {
    if (!ends_with(name, suffix)) continue;
    // "<topic>-<partition>.<32 hex id><suffix>"
    std::string_view rest = name.substr(0, name.size() - suffix.size());
    if (rest.size() < 34 || rest[rest.size() - 33] != '.' || !is_hex(rest.substr(rest.size() - 32))) {
      return std::nullopt;
    }
    name = rest.substr(0, rest.size() - 33);
    out.kind = kind;
    break;
  }
  auto dash = name.rfind('-');
  if (dash == std::string_view::npos || dash == 0 || dash + 1 == name.size()) return std::nullopt;
  std::string_view digits = name.substr(dash + 1);
  if (digits.size() > 10) return std::nullopt;
  int64_t partition = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    partition = partition * 10 + (c - '0');
  }
  if (partition > INT32_MAX) return std::nullopt;
  std::string_view topic = name.substr(0, dash);
  if (!is_valid_topic_name(topic)) return std::nullopt;
  out.tp = TopicPartition{std::string(topic), static_cast<int32_t>(partition)};
  return out;
}

}  // namespace samsa::storage
