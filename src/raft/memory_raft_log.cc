#include <algorithm>
#include <cassert>

#include "raft/raft_log.h"

namespace samsa::raft {

bool MemoryRaftLog::append(LogEntry entry) {
  // The core never appends out of place; a violation is a bug, not input.
  assert(entry.offset == end_offset());
  assert(entry.epoch >= last_epoch());
  assert(entry.records >= 1);
  entries_.push_back(std::move(entry));
  return true;
}

bool MemoryRaftLog::truncate_to(Offset end) {
  while (!entries_.empty() && entries_.back().end() > end) entries_.pop_back();
  flushed_ = std::min(flushed_, end_offset());
  return true;
}

std::vector<LogEntry> MemoryRaftLog::read(Offset from, size_t max_entries, size_t max_bytes) const {
  std::vector<LogEntry> out;
  // Entries are dense and sorted: binary search for the one containing `from`.
  auto it = std::partition_point(entries_.begin(), entries_.end(), [&](const LogEntry& e) { return e.end() <= from; });
  size_t bytes = 0;
  for (; it != entries_.end() && out.size() < max_entries; ++it) {
    if (!out.empty() && bytes + it->data.size() > max_bytes) break;
    bytes += it->data.size();
    out.push_back(*it);
  }
  return out;
}

EpochEndOffset MemoryRaftLog::end_offset_for_epoch(Epoch epoch) const {
  // The first entry with a larger epoch starts where `epoch` (or the largest
  // smaller one) ends.
  auto it = std::partition_point(entries_.begin(), entries_.end(), [&](const LogEntry& e) { return e.epoch <= epoch; });
  if (it == entries_.begin()) {
    // Only the snapshot the log starts after can still answer.
    if (start_.end_offset.value > 0 && start_.epoch <= epoch) return {start_.epoch, start_.end_offset};
    return {};
  }
  Epoch found = std::prev(it)->epoch;
  Offset end = it == entries_.end() ? end_offset() : it->offset;
  return {found, end};
}

bool MemoryRaftLog::delete_before(SnapshotId id) {
  if (id.end_offset <= start_.end_offset || id.end_offset > flushed_) return false;
  while (!entries_.empty() && entries_.front().end() <= id.end_offset) entries_.pop_front();
  if (!entries_.empty() && entries_.front().offset != id.end_offset) return false;  // not a boundary: a bug
  start_ = id;
  return true;
}

bool MemoryRaftLog::reset_to(SnapshotId id) {
  entries_.clear();
  start_ = id;
  flushed_ = id.end_offset;
  return true;
}

void MemoryRaftLog::crash(Random& rng) {
  size_t durable = 0;
  while (durable < entries_.size() && entries_[durable].end() <= flushed_) ++durable;
  size_t keep = durable + static_cast<size_t>(rng.uniform(0, static_cast<int64_t>(entries_.size() - durable)));
  entries_.resize(keep);
  flushed_ = end_offset();
}

const LogEntry* MemoryRaftLog::find(Offset offset) const {
  auto it = std::partition_point(entries_.begin(), entries_.end(), [&](const LogEntry& e) { return e.end() <= offset; });
  if (it == entries_.end() || it->offset > offset) return nullptr;
  return &*it;
}

}  // namespace samsa::raft
