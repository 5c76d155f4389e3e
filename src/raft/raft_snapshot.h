// Snapshots of the metadata state machine as the Raft core sees them
// (KIP-630): opaque bytes named by a SnapshotId, which the leader serves in
// chunks with FetchSnapshot. The state machine above writes them (and loads
// them); the core only reads chunks through SnapshotReader.
//
// Files are named as in Kafka: <end offset, 20 digits>-<epoch, 10 digits>.checkpoint
// (e.g. 00000000000000001000-0000000003.checkpoint).
//
// Threads: a SnapshotReader is called by the thread that drives the RaftCore.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "raft/raft_messages.h"

namespace samsa::raft {

class SnapshotReader {
 public:
  virtual ~SnapshotReader() = default;
  // The size of the snapshot, or -1 when there is no such snapshot.
  virtual int64_t size(const SnapshotId& id) const = 0;
  // Up to `max` bytes at `position`; false if the snapshot is gone or unreadable.
  virtual bool read(const SnapshotId& id, int64_t position, size_t max, protocol::Bytes& out) const = 0;
};

std::string snapshot_file_name(const SnapshotId& id);
// The id in a snapshot file name; nullopt for any other name.
std::optional<SnapshotId> parse_snapshot_file_name(std::string_view name);

// Snapshots held in memory (tests, the simulator): durable as soon as stored.
class MemorySnapshotStore final : public SnapshotReader {
 public:
  void store(const SnapshotId& id, protocol::Bytes bytes) { snapshots_[key(id)] = {id, std::move(bytes)}; }
  std::optional<SnapshotId> latest() const {
    if (snapshots_.empty()) return std::nullopt;
    return snapshots_.rbegin()->second.first;
  }
  const protocol::Bytes* get(const SnapshotId& id) const {
    auto it = snapshots_.find(key(id));
    return it == snapshots_.end() ? nullptr : &it->second.second;
  }
  int64_t size(const SnapshotId& id) const override {
    auto* b = get(id);
    return b ? static_cast<int64_t>(b->size()) : -1;
  }
  bool read(const SnapshotId& id, int64_t position, size_t max, protocol::Bytes& out) const override;

 private:
  static std::pair<int64_t, int32_t> key(const SnapshotId& id) { return {id.end_offset.value, id.epoch.value}; }
  std::map<std::pair<int64_t, int32_t>, std::pair<SnapshotId, protocol::Bytes>> snapshots_;
};

}  // namespace samsa::raft
