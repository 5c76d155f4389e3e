// The Raft core's log on disk: a RaftLog over storage::Log in
// <metadata.log.dir>/__cluster_metadata-0, in Kafka's format (record batches
// with the leader epoch in each batch header; the LeaderChange batch a leader
// writes first is a control batch holding Kafka's LeaderChangeMessage), so
// `dump-log-segments` and Kafka's tools read it. Epoch lookups
// (last_epoch, end_offset_for_epoch) come from the log's leader-epoch cache.
//
// Appends and truncations are page-cache writes on the owner thread; the
// fsync is split so it runs on the FlushThread: prepare_sync() (owner thread)
// → run the job's `run` (any thread) → complete_sync(job, status) (owner
// thread), which moves flushed_end_offset().
//
// Threads: owned by the thread that drives the RaftCore (shard 0's loop);
// only SyncJob::run may run elsewhere.
#pragma once
#include <functional>
#include <memory>
#include <string>

#include "raft/raft_log.h"
#include "storage/status.h"

namespace samsa {
class Clock;
}
namespace samsa::storage {
class Env;
class Log;
}  // namespace samsa::storage

namespace samsa::raft {

class DiskRaftLog;
struct OpenedRaftLog {
  std::unique_ptr<DiskRaftLog> log;
  std::string error;  // set when the log could not be opened (log is null)
};

class DiskRaftLog final : public RaftLog {
 public:
  // Opens (recovering) or creates <dir>/__cluster_metadata-0. Everything
  // recovered from disk counts as flushed. `clock` stamps batches.
  static OpenedRaftLog open(storage::Env* env, const std::string& dir, Clock& clock);
  ~DiskRaftLog() override;

  Offset start_offset() const override;
  Epoch start_epoch() const override;
  Offset end_offset() const override;
  Epoch last_epoch() const override;
  Offset flushed_end_offset() const override;
  bool append(LogEntry entry) override;
  bool truncate_to(Offset end) override;
  std::vector<LogEntry> read(Offset from, size_t max_entries, size_t max_bytes) const override;
  EpochEndOffset end_offset_for_epoch(Epoch epoch) const override;
  bool delete_before(SnapshotId id) override;
  bool reset_to(SnapshotId id) override;

  struct SyncJob {
    Offset end{0};                          // durable once run() succeeds
    std::function<storage::Status()> run;   // the fdatasync; any thread
  };
  SyncJob prepare_sync();
  void complete_sync(const SyncJob& job, const storage::Status& status);

 private:
  struct Impl;
  explicit DiskRaftLog(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace samsa::raft
