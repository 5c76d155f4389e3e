// A metadata log held in memory, for tests of the controller and the metadata
// loader: appends commit after one turn of the event loop (no disk, no flush
// thread), and a test can
// move leadership away (appends then answer NOT_LEADER_OR_FOLLOWER) or make the
// next append fail as a disk would.
//
// Threads: single-threaded, like the logs it stands in for.
#pragma once
#include <deque>

#include "base/clock.h"
#include "raft/metadata_log.h"

namespace samsa::raft {

class MemoryMetadataLog final : public MetadataLog {
 public:
  explicit MemoryMetadataLog(Clock& clock, NodeId local_id = NodeId(1)) : clock_(clock), local_id_(local_id) {
    leader_.leader = local_id;
  }

  NodeId local_id() const override { return local_id_; }
  LeaderAndEpoch leader() const override { return leader_; }
  void set_commit_listener(CommitListener listener) override { listener_ = std::move(listener); }
  asio::awaitable<AppendResult> append(std::vector<protocol::Bytes> values) override;
  storage::Status replay(const std::function<void(Offset, std::span<const uint8_t>)>& fn) override;

  // Another node leads (or none: nullopt) from now on, at `epoch`.
  void set_leader(std::optional<NodeId> leader, Epoch epoch) { leader_ = {leader, epoch}; }
  // The next append fails with `error` (KAFKA_STORAGE_ERROR: a failed write) and commits nothing.
  void fail_next_append(ErrorCode error) { fail_next_ = error; }
  // The next replay fails with `status` after `after` records.
  void fail_next_replay(storage::Status status, size_t after) { replay_failure_ = {std::move(status), after}; }

  struct Entry {
    protocol::Bytes value;
    Epoch epoch;
    int64_t append_time_ms;
  };
  const std::deque<Entry>& entries() const { return entries_; }
  int appends() const { return appends_; }  // committed batches

 private:
  Clock& clock_;
  NodeId local_id_;
  LeaderAndEpoch leader_;
  CommitListener listener_;
  std::deque<Entry> entries_;
  int appends_ = 0;
  ErrorCode fail_next_ = ErrorCode::NONE;
  std::optional<std::pair<storage::Status, size_t>> replay_failure_;
};

}  // namespace samsa::raft
