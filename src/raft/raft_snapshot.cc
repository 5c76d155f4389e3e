#include "raft/raft_snapshot.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace samsa::raft {

std::string snapshot_file_name(const SnapshotId& id) {
  return fmt::format("{:020d}-{:010d}.checkpoint", id.end_offset.value, id.epoch.value);
}

std::optional<SnapshotId> parse_snapshot_file_name(std::string_view name) {
  constexpr std::string_view kSuffix = ".checkpoint";
  if (name.size() != 20 + 1 + 10 + kSuffix.size() || name[20] != '-' || name.substr(31) != kSuffix) return std::nullopt;
  auto digits = [](std::string_view s) { return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }); };
  if (!digits(name.substr(0, 20)) || !digits(name.substr(21, 10))) return std::nullopt;
  int64_t offset = 0;
  int64_t epoch = 0;
  if (std::from_chars(name.data(), name.data() + 20, offset).ec != std::errc()) return std::nullopt;
  if (std::from_chars(name.data() + 21, name.data() + 31, epoch).ec != std::errc()) return std::nullopt;
  if (epoch > INT32_MAX) return std::nullopt;
  return SnapshotId{Offset(offset), Epoch(static_cast<int32_t>(epoch))};
}

bool MemorySnapshotStore::read(const SnapshotId& id, int64_t position, size_t max, protocol::Bytes& out) const {
  auto* b = get(id);
  if (!b || position < 0 || position > static_cast<int64_t>(b->size())) return false;
  size_t n = std::min(max, b->size() - static_cast<size_t>(position));
  out.assign(b->begin() + position, b->begin() + position + static_cast<int64_t>(n));
  return true;
}

}  // namespace samsa::raft
