// The set of log directories of a broker and the partition logs in them.
//
// On open() it, for each log dir: creates it if missing, notes and removes the
// .kafka_cleanshutdown marker, reads recovery-point-offset-checkpoint and
// log-start-offset-checkpoint, discovers "<topic>-<partition>" directories and
// removes the leftovers of deleted partitions ("...-delete"). Logs themselves
// are opened on demand by open_log(), normally on the core that will own them
// (a crash before a log is opened only costs that log a recovery scan next time,
// because the marker is already gone).
//
// A log dir that fails with an I/O error while the broker runs is taken
// offline (Kafka's JBOD behaviour): mark_offline() flips its shared online flag,
// which every Partition of that dir checks before reading or writing (they
// answer KAFKA_STORAGE_ERROR), no checkpoint is written there any more and no
// new partition is placed there. The other dirs keep working. It comes back
// only with a restart (after the operator repaired it).
//
// Ownership / threads: one LogManager per broker; all methods are thread-safe
// (one mutex, never held during log I/O except inside open_log's directory
// bookkeeping). The Logs it opens are owned by the caller (unique_ptr); the
// manager keeps a registered pointer only to read their recovery point and log
// start offset (atomic snapshots) when writing checkpoints. The owner must call
// release() before destroying a Log.
#pragma once
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "storage/checkpoint.h"
#include "storage/log.h"

namespace samsa::storage {

struct LogManagerOptions {
  std::vector<std::string> log_dirs;
  // Directory names in a log dir that are not partition logs of this manager
  // (the metadata log is opened by its own code).
  std::vector<std::string> ignored_dir_names = {"__cluster_metadata-0"};
};

struct LogDirState {
  std::string path;
  bool clean_shutdown = false;  // the marker was found at open
  bool online = true;           // false after an I/O error loading it
  Status error;
  OffsetMap recovery_points;    // as read from the checkpoint
  OffsetMap log_start_offsets;
  OffsetMap high_watermarks;    // replication-offset-checkpoint as read
  OffsetMap cleaner_offsets;    // cleaner-offset-checkpoint as read
  int pending_deletions_removed = 0;
};

class LogManager {
 public:
  static Result<std::unique_ptr<LogManager>> open(Env* env, LogManagerOptions options);

  // Partitions found on disk at open (and created since), with their directory.
  std::map<TopicPartition, std::string> partitions() const;
  // A copy: the online flags change while the broker runs.
  std::vector<LogDirState> log_dirs() const;

  // An I/O error in the log dir holding `tp` (a failed write, fsync, roll or
  // checkpoint): the whole dir goes offline. Idempotent; any thread.
  void mark_offline(const TopicPartition& tp, const Status& why);
  void mark_dir_offline(size_t dir_index, const Status& why);
  // The online flag of the log dir holding `tp` (shared, read lock-free by the
  // partition's owner on every request); null for an unknown partition.
  std::shared_ptr<const std::atomic<bool>> online_flag(const TopicPartition& tp) const;
  // tp is known and its log dir is offline.
  bool offline(const TopicPartition& tp) const;

  // Opens the log of `tp`, creating its directory in the online log dir with
  // the fewest partitions if it does not exist. Uses the checkpointed recovery
  // point / log start and the dir's clean-shutdown flag. One live Log per tp.
  Result<std::unique_ptr<Log>> open_log(const TopicPartition& tp, const LogConfig& config, int64_t now_ms);
  // The owner is about to destroy (or has closed) the log: keep its last
  // offsets for the checkpoints and stop reading it.
  void release(const TopicPartition& tp);
  // Topic deletion, called by the log's owner: renames the directory to
  // "<topic>-<partition>.<id>-delete" and forgets the partition (the name is
  // free at once for a new topic). The renamed directory is removed in the
  // background by remove_deleted_dirs() once `delay_ms` (file.delete.delay.ms)
  // has passed; open handles keep serving in-flight reads meanwhile, and a
  // crash before that leaves it to the next open(). The Log must be released
  // after.
  Status delete_log(const TopicPartition& tp, Log* log, int64_t now_ms = 0, int64_t delay_ms = 0);
  // A stray copy (a partition found on disk that the metadata no longer places
  // on this broker, e.g. moved away while it was down): renamed and removed as
  // delete_log does, without opening it. Refused (kInvalidArgument) while
  // the log is open or being opened.
  Status delete_unopened(const TopicPartition& tp, int64_t now_ms = 0, int64_t delay_ms = 0);
  // Removes the renamed directories whose delay has passed. Any thread (each
  // directory is taken by one caller). Returns how many were removed.
  Result<int> remove_deleted_dirs(int64_t now_ms);
  size_t pending_dir_deletions() const;

  // ---- moving a replica to another log dir of this broker (AlterReplicaLogDirs) ----
  // The copy goes into "<tp>.<id>-future" in the destination dir (a log of its
  // own, filled by the partition's owner); once it has caught up and was
  // closed, promote_future() swaps it in: the current directory is renamed
  // "-delete" (removed after the delay) and the future one takes the
  // partition's name. A crash between the two renames leaves a future
  // directory and no live one: open() promotes it. A future directory next to
  // a live one at open() is an unfinished copy and is removed (Kafka resumes
  // it; here the operator asks again).
  //
  // The index of the configured log dir `path`, nullopt if it is not one.
  std::optional<size_t> dir_index(const std::string& path) const;
  // The log dir (index) holding `tp`, nullopt for an unknown partition.
  std::optional<size_t> dir_of(const TopicPartition& tp) const;
  const std::string& dir_path(size_t index) const { return options_.log_dirs[index]; }
  // Creates the future directory of `tp` in log dir `dir` and opens an empty
  // log there. Refused when `dir` is offline or already holds `tp`, or a
  // future of `tp` exists.
  Result<std::unique_ptr<Log>> open_future_log(const TopicPartition& tp, size_t dir, const LogConfig& config,
                                               int64_t now_ms);
  // The copy is given up (the partition is deleted, the move failed or was
  // redirected): the future log's files are removed at once.
  void drop_future_log(const TopicPartition& tp, std::unique_ptr<Log> future);
  // Swaps a caught-up, cleanly close()d future log in for `current` (open and
  // registered; renamed "-delete" here and closed). The partition is then in
  // the future's dir; its owner opens it again with open_log().
  Status promote_future(const TopicPartition& tp, Log* current, Log* future, int64_t now_ms, int64_t delay_ms);
  // The futures being filled: partition -> the future log's directory.
  std::map<TopicPartition, std::string> future_dirs() const;

  // The log cleaner's checkpoint of `tp` (its first dirty offset), -1 if none.
  int64_t cleaner_checkpoint(const TopicPartition& tp) const;
  // Records it and rewrites cleaner-offset-checkpoint of tp's log dir
  // (crash-safely, like the other checkpoints). Any thread.
  Status update_cleaner_checkpoint(const TopicPartition& tp, int64_t offset);

  // Writes both checkpoint files in every online log dir.
  Status write_checkpoints();
  // Clean shutdown, after every log was close()d and release()d: checkpoints,
  // then the marker in every dir. Refused while a log is still registered or
  // was released without a clean close.
  Status write_clean_shutdown();

 private:
  struct Entry {
    size_t dir_index = 0;
    std::string path;
    Log* log = nullptr;          // registered while open
    bool opening = false;        // open_log in progress (unlocked)
    int64_t recovery_point = 0;  // last known (checkpoint or released log)
    int64_t log_start_offset = 0;
    int64_t high_watermark = -1;  // replication-offset-checkpoint (-1: unknown)
    int64_t cleaner_offset = -1;  // cleaner checkpoint, -1: never cleaned
    bool closed_cleanly = true;
  };

  LogManager(Env* env, LogManagerOptions options) : env_(env), options_(std::move(options)) {}
  struct FoundFuture {
    size_t dir_index;
    TopicPartition tp;
    std::string path;
  };
  Status load_dir(size_t index, std::vector<FoundFuture>* futures);
  // open(): what the futures found on disk become (see promote_future).
  Status settle_futures(const std::vector<FoundFuture>& futures);
  size_t choose_dir() const;
  bool ignored(const std::string& name) const;

  Env* env_;
  LogManagerOptions options_;
  std::vector<LogDirState> dirs_;  // `online` and `error` change under mu_
  std::vector<std::shared_ptr<std::atomic<bool>>> online_flags_;  // one per dir, mirrors dirs_[i].online
  mutable std::mutex mu_;
  std::map<TopicPartition, Entry> entries_;
  std::map<TopicPartition, std::pair<size_t, std::string>> futures_;  // tp -> (dir, future dir path)
  struct PendingDelete {
    int64_t due_ms;
    std::string path;
  };
  std::vector<PendingDelete> pending_deletes_;  // renamed "-delete" dirs, under mu_
};

}  // namespace samsa::storage
