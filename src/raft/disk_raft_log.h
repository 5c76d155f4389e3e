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
// Opening validates every batch (a crash may have torn the tail: the log keeps
// the valid prefix) and syncs what it kept, so everything recovered counts as
// flushed. The log continues the newest snapshot (`options.snapshot`, from the
// FileSnapshotStore of the same directory): its start is that snapshot's end;
// a log that does not reach the snapshot, or disagrees with its epoch, is
// emptied to start there (a follower that crashed between installing a
// snapshot and resetting its log). Destroying the log without close() is like
// a crash (nothing more is synced).
//
// Threads: owned by the thread that drives the RaftCore (shard 0's loop);
// only SyncJob::run may run elsewhere.
#pragma once
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "raft/raft_log.h"
#include "storage/status.h"

namespace samsa {
class Clock;
}
namespace samsa::storage {
class Env;
class Log;
struct FlushTicket;
}  // namespace samsa::storage

namespace samsa::raft {

class DiskRaftLog;

// <log_dir>/__cluster_metadata-0: the log's segments, its snapshots and quorum-state.
std::string metadata_partition_dir(const std::string& log_dir);

struct DiskRaftLogOptions {
  int32_t segment_bytes = 1024 * 1024 * 1024;     // metadata.log.segment.bytes
  int64_t segment_ms = 7LL * 24 * 3600 * 1000;    // metadata.log.segment.ms
  std::optional<SnapshotId> snapshot;             // the newest snapshot, which the log continues
};

struct OpenedRaftLog {
  std::unique_ptr<DiskRaftLog> log;
  std::string error;  // set when the log could not be opened (log is null)
};

class DiskRaftLog final : public RaftLog {
 public:
  // Opens (recovering) or creates <dir>/__cluster_metadata-0. Everything
  // recovered from disk counts as flushed. `clock` stamps batches.
  static OpenedRaftLog open(storage::Env* env, const std::string& dir, Clock& clock,
                            const DiskRaftLogOptions& options = {});
  ~DiskRaftLog() override;
  // Clean shutdown: syncs and seals the active segment. Nothing works after it.
  storage::Status close();

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
    std::shared_ptr<storage::FlushTicket> ticket;  // what run() syncs (for complete_sync)
  };
  SyncJob prepare_sync();
  // A failed sync fails the log: its page cache is in an unknown state, every
  // later append is refused (the core stops) until it is reopened.
  void complete_sync(const SyncJob& job, const storage::Status& status);
  // An I/O error stopped the log.
  bool failed() const;
  // Where the partition's files are (<log_dir>/__cluster_metadata-0).
  const std::string& dir() const;

 private:
  struct Impl;
  explicit DiskRaftLog(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace samsa::raft
