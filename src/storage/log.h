// The log of one partition: an ordered list of segments in one directory
// ("<topic>-<partition>"), the last one active. Offsets are dense and assigned
// here; batches are stored exactly as received (magic 2) with only baseOffset,
// partitionLeaderEpoch and (for LogAppendTime) attributes/maxTimestamp/CRC
// patched in place. Reads return file ranges for sendfile, never copies.
//
// Invariants: segments_ is never empty and sorted by base offset;
// log_start_offset <= log_end_offset; recovery_point <= log_end_offset;
// every offset below recovery_point is durable (fdatasync'ed).
//
// Ownership: a Log belongs to the core that owns its partition. Every method
// must be called from that thread, except: FlushTicket::run() (any thread) and
// the *_snapshot() getters (any thread, for checkpoint writers). No locks.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/error_code.h"
#include "protocol/wire.h"
#include "storage/env.h"
#include "storage/leader_epoch_cache.h"
#include "storage/log_config.h"
#include "storage/producer_state.h"
#include "storage/segment.h"
#include "storage/topic_partition.h"

namespace samsa::storage {

// A range of a segment file to send as is. `file` keeps the descriptor open
// (even after the segment is deleted) until the bytes are sent.
struct FileChunk {
  std::shared_ptr<File> file;
  int fd = -1;
  uint64_t position = 0;
  uint32_t length = 0;
  // The protocol layer's zero-copy chunk (same range, same ownership).
  protocol::FileChunk to_wire() const {
    return protocol::FileChunk{file, fd, static_cast<int64_t>(position), length};
  }
};

struct AppendResult {
  ErrorCode error = ErrorCode::NONE;
  Status status;                 // details when error != NONE
  int64_t first_offset = -1;     // base offset assigned to the first batch
  int64_t last_offset = -1;      // last offset of the last batch
  int64_t log_append_time = -1;  // timestamp written for LogAppendTime, else -1
  int64_t log_start_offset = 0;
  int64_t max_timestamp = -1;    // largest maxTimestamp among the appended batches
  int32_t batches = 0;
  int64_t records = 0;           // sum of the batches' recordCount fields
  bool duplicate = false;        // an idempotent retry: nothing written, offsets are the original's
};

struct ReadResult {
  ErrorCode error = ErrorCode::NONE;
  Status status;                   // details when error != NONE
  std::vector<FileChunk> chunks;   // whole batches in offset order (one chunk per segment touched)
  uint64_t bytes = 0;              // sum of chunk lengths
  int64_t first_offset = -1;       // base offset of the first batch returned, -1 if none
  int64_t log_start_offset = 0;
  int64_t log_end_offset = 0;
};

// offset_for_timestamp's answer, at batch granularity: the first batch whose
// maxTimestamp >= the target. `offset` is that batch's base offset (never below
// the log start); the batch is included so a caller may refine to the record.
struct TimestampLookup {
  int64_t timestamp = -1;  // the batch's maxTimestamp
  int64_t offset = -1;
  int64_t batch_last_offset = -1;
  FileChunk batch;
};

struct LogOpenOptions {
  LogConfig config;
  int64_t recovery_point = 0;    // from recovery-point-offset-checkpoint
  int64_t log_start_offset = 0;  // from log-start-offset-checkpoint
  bool clean_shutdown = false;   // the .kafka_cleanshutdown marker was present
  int64_t high_watermark = -1;   // from replication-offset-checkpoint (-1: none)
  int64_t now_ms = 0;
};

// What open() found and repaired.
struct RecoveryInfo {
  bool clean_shutdown = false;
  int64_t recovered_from_offset = -1;  // base of the first CRC-validated segment, -1 if none
  int segments_recovered = 0;
  uint64_t bytes_truncated = 0;        // cut at the first invalid batch
  int segments_deleted = 0;            // after the truncation point
  int indexes_rebuilt = 0;
  int leftover_files_removed = 0;      // *.deleted, *.cleaned, index *.swap, *.tmp, orphan indexes
  int swaps_completed = 0;             // interrupted compaction swaps finished (see segment_swap.h)
};

// Everything a flush must fdatasync. Built on the owning thread by
// prepare_flush(); run() may be called on any thread (it only holds shared
// file handles); then complete_flush() on the owning thread.
struct FlushTicket {
  int64_t offset = 0;        // log end offset when prepared: durable below it after run()
  uint64_t generation = 0;   // the log's truncation generation when prepared
  uint64_t log_id = 0;       // the Log that prepared it (a ticket of a replaced log is ignored)
  std::vector<std::shared_ptr<File>> files;
  std::vector<std::pair<int64_t, uint64_t>> segments;  // (base offset, mod count) being synced
  uint64_t txn_index_writes = 0;  // .txnindex entries written when prepared (synced too)
  int64_t records = 0;       // records appended before prepare (for flush.messages)
  int64_t prepared_ms = 0;
  Env* env = nullptr;
  std::string dir;           // fsync'ed when segments were created/deleted
  bool sync_dir = false;
  uint64_t dir_generation = 0;

  Status run() const;
};

class Log {
 public:
  // Opens (creating if needed) the log in `dir`. After an unclean shutdown the
  // segments from the one holding the recovery point on are validated batch by
  // batch and truncated at the first invalid byte; otherwise nothing is scanned
  // beyond each segment's last index entry.
  static Result<std::unique_ptr<Log>> open(Env* env, std::string dir, TopicPartition tp, LogOpenOptions opts);

  // Does not flush or seal: destroying a Log without close() is like a crash.
  ~Log();
  Log(const Log&) = delete;
  Log& operator=(const Log&) = delete;

  // Appends a concatenation of validated v2 batches (patched in place, written
  // with one write call). Rolls first if the active segment is too big, too
  // old, has a full index or the offsets would not fit it.
  AppendResult append(std::span<uint8_t> batches, int32_t leader_epoch, int64_t now_ms, bool log_append_time);

  // The follower's append (replication, log_follower.cc): batches exactly as
  // the leader wrote them — offsets, partitionLeaderEpoch, timestamps and CRC
  // kept, nothing patched. Each batch must be well framed with a matching
  // CRC32C (else CORRUPT_MESSAGE); the first must start at or after the log
  // end (OFFSET_OUT_OF_RANGE: it would overlap what the log holds) and each
  // next one after the last offset of the one before (CORRUPT_MESSAGE). A gap
  // before a batch is accepted, as Kafka's appendAsFollower does: a compacted
  // leader's batches have sparse offsets. The leader-epoch cache takes each
  // batch's epoch, producer state each batch (not validated: the leader did),
  // so idempotent deduplication and open transactions survive a failover.
  // Nothing is written unless the whole input passes.
  AppendResult append_as_follower(std::span<const uint8_t> batches, int64_t now_ms);

  // Whole batches from the one holding `offset`, at most max_bytes (but the
  // first batch whole if min_one_batch), none with last offset >=
  // max_offset_exclusive. OFFSET_OUT_OF_RANGE if offset is outside
  // [log_start_offset, log_end_offset].
  ReadResult read(int64_t offset, size_t max_bytes, int64_t max_offset_exclusive, bool min_one_batch) const;

  // First batch whose maxTimestamp >= ts (see TimestampLookup), or nullopt.
  Result<std::optional<TimestampLookup>> offset_for_timestamp(int64_t ts) const;
  // Largest batch maxTimestamp in the log and the last offset of that batch
  // ({-1, -1} when the log is empty).
  TimestampOffset max_timestamp_and_offset() const;

  // fdatasync of everything up to the log end offset, then the recovery point
  // moves there. = complete_flush(run(prepare_flush())).
  Status flush(int64_t now_ms = 0);
  FlushTicket prepare_flush(int64_t now_ms = 0) const;
  // After ticket.run() succeeded. Ignored parts: offsets since truncated.
  void complete_flush(const FlushTicket& ticket);
  // After ticket.run() failed: a failed fdatasync leaves the page cache in an
  // unknown state, so the log refuses further work until reopened.
  void mark_failed() { failed_ = true; }
  // flush.messages / flush.ms say a flush is due.
  bool flush_due(int64_t now_ms) const;

  // Removes every offset >= offset (whole batches: the log end may end up
  // below `offset`): segments, both indexes, the leader-epoch cache (from the
  // end), producer state (reloaded from the newest snapshot below the new end
  // plus a replay) and .txnindex entries. Below the log start:
  // truncate_fully_and_start_at. The cut is made durable before returning
  // (fdatasync of the cut segment, fsync of the directory), so neither a
  // crash nor a power cut brings the removed batches back under data
  // appended afterwards; a kill at any step leaves a log that opens (see
  // FORMAT.md "Truncation"). The caller should then write the recovery-point
  // checkpoint (LogManager::write_checkpoints), as Kafka does after a truncation.
  Status truncate_to(int64_t offset);
  // Deletes all data; the log restarts empty at `offset` (a follower whose
  // log lies wholly below the leader's log start). Durable like truncate_to.
  Status truncate_fully_and_start_at(int64_t offset);
  // DeleteRecords: raises the log start offset (never above high_watermark).
  Status maybe_increment_log_start_offset(int64_t offset, int64_t high_watermark);
  // Retention: deletes the oldest sealed segments that are wholly below the
  // high watermark and either below the log start offset, older than
  // retention.ms or beyond retention.bytes. Returns how many were deleted.
  // With file.delete.delay.ms > 0 their files are renamed "*.deleted" and only
  // unlinked by a later remove_deleted_files() (leftovers of a crash are
  // removed when the log is opened).
  Result<int> delete_old_segments(int64_t now_ms, int64_t high_watermark);
  // Unlinks the "*.deleted" files whose delay has passed. Returns how many.
  Result<int> remove_deleted_files(int64_t now_ms);
  size_t pending_file_deletions() const { return pending_deletes_.size(); }

  // Clean close: seals the active segment (trims indexes) and flushes.
  // = end_close(t, t.run()) with t = begin_close().
  Status close();
  // Clean close in two steps, so that a broker closing thousands of logs can
  // run all their fdatasyncs at once from several threads (the file system
  // commits concurrent syncs together) instead of one after the other.
  // begin_close seals and prepares the flush; the ticket may run on any
  // thread; end_close records the result (a failed sync fails the log, as in
  // flush()) and marks the log closed. Both on the owning thread.
  Result<FlushTicket> begin_close();
  Status end_close(const FlushTicket& ticket, const Status& synced);
  // Topic deletion: renames the directory to "<topic>-<partition>.<id>-delete"
  // (the files are removed later by LogManager) and returns the new path. The
  // Log is closed afterwards.
  Result<std::string> remove();

  // ---- producers (log_producers.cc) ----
  // The last stable offset: below the first open transaction, at most the HW.
  int64_t last_stable_offset(int64_t high_watermark) const;
  // Aborted transactions overlapping [from, to), for read_committed fetches.
  std::vector<AbortedTxn> aborted_transactions(int64_t from, int64_t to) const {
    return producers_.aborted_in(from, to);
  }
  const ProducerState& producer_state() const { return producers_; }
  // The first offset of each leader epoch in the log (for replication's
  // OffsetsForLeaderEpoch). Kept consistent with appends and truncations.
  const LeaderEpochCache& leader_epoch_cache() const { return epochs_; }
  // Forgets idle producers (producer.id.expiration.ms). Returns how many.
  size_t expire_producers(int64_t now_ms, int64_t expiration_ms) { return producers_.expire(now_ms, expiration_ms); }

  // Compaction (storage/log_cleaner.h): replaces the consecutive sealed
  // segments `old_bases` by `cleaned` (a segment whose files carry the ".swap"
  // suffix, base = old_bases.front()): the old segments are deleted (as by
  // retention), then the swap files renamed to their final names. InvalidArgument,
  // and `cleaned` left with the caller, when the log was truncated (generation)
  // or those segments are gone or active since the cleaning was planned.
  // Defined in log_swap.cc.
  Status replace_segments(const std::vector<int64_t>& old_bases, uint64_t expected_generation,
                          std::unique_ptr<Segment>& cleaned, int64_t now_ms);
  // Bumped by every truncation (a cleaning planned before one is stale).
  uint64_t truncation_generation() const { return generation_; }
  SegmentOptions segment_options() const;

  void update_config(const LogConfig& config) { config_ = config; }
  const LogConfig& config() const { return config_; }

  int64_t log_start_offset() const { return log_start_offset_; }
  int64_t log_end_offset() const { return next_offset_; }
  int64_t recovery_point() const { return recovery_point_; }
  // Safe from any thread (checkpoint writers).
  int64_t log_start_offset_snapshot() const { return log_start_snapshot_.load(std::memory_order_relaxed); }
  int64_t recovery_point_snapshot() const { return recovery_point_snapshot_.load(std::memory_order_relaxed); }
  int64_t log_end_offset_snapshot() const { return log_end_snapshot_.load(std::memory_order_relaxed); }
  // For replication-offset-checkpoint: the high watermark its owner last
  // published (set_high_watermark_snapshot), else the log end (a log without
  // a replicating owner: one node, where the high watermark is the log end).
  int64_t high_watermark_snapshot() const {
    int64_t hw = hw_snapshot_.load(std::memory_order_relaxed);
    return hw >= 0 ? hw : log_end_snapshot_.load(std::memory_order_relaxed);
  }
  void set_high_watermark_snapshot(int64_t hw) { hw_snapshot_.store(hw, std::memory_order_relaxed); }
  // The checkpointed high watermark found at open, at most the log end
  // (-1: the checkpoint had none).
  int64_t recovered_high_watermark() const { return recovered_hw_; }
  // A new leader epoch starts at the log end (Kafka's
  // maybeAssignEpochStartOffset): recorded in the leader-epoch cache when it is
  // above the latest epoch there, so OffsetsForLeaderEpoch and the diverging
  // epoch check know it before any batch of it is written.
  void assign_epoch_start(int32_t epoch) { note_leader_epoch(epoch, next_offset_); }

  uint64_t size_bytes() const;
  size_t segment_count() const { return segments_.size(); }
  const std::vector<std::unique_ptr<Segment>>& segments() const { return segments_; }
  const std::string& dir() const { return dir_; }
  Env* env() const { return env_; }
  const TopicPartition& topic_partition() const { return tp_; }
  const RecoveryInfo& recovery_info() const { return recovery_info_; }
  // An I/O error left the log in an unknown state: appends are refused
  // (KAFKA_STORAGE_ERROR) until it is reopened.
  bool failed() const { return failed_; }
  bool closed() const { return closed_; }

 private:
  Log(Env* env, std::string dir, TopicPartition tp, LogConfig config);
  Status load(const LogOpenOptions& opts);
  Status remove_leftovers(std::vector<int64_t>* bases);
  Status open_segments(const std::vector<int64_t>& bases, const LogOpenOptions& opts);
  bool should_roll(size_t bytes, int64_t last_offset, int64_t now_ms) const;
  Status roll(int64_t now_ms);
  Status seal_and_create_segment();
  // Writes framed batches at the end of the active segment; on failure cuts
  // back what went in (a full disk) or fails the log. Both append paths.
  Status write_active(std::span<const uint8_t> data, int64_t now_ms);
  // A batch of `epoch` was appended at `offset`: the leader-epoch cache.
  void note_leader_epoch(int32_t epoch, int64_t offset);
  // Validates a follower's input (framing, CRC, rising offsets from the log
  // end) and fills r's counters; NONE or the error to answer.
  ErrorCode check_follower_batches(std::span<const uint8_t> data, AppendResult* r) const;
  // fdatasync of the active segment and fsync of the directory (truncation).
  Status make_truncation_durable();
  // Unlinks every <offset>.snapshot (truncate_fully_and_start_at).
  Status remove_all_snapshots();
  Status delete_segment(size_t index);
  Status delete_segment_later(size_t index, int64_t now_ms);
  size_t segment_index_for(int64_t offset) const;
  Segment& active() { return *segments_.back(); }
  void set_recovery_point(int64_t rp);
  void set_next_offset(int64_t offset) {
    next_offset_ = offset;
    log_end_snapshot_.store(offset, std::memory_order_relaxed);
  }
  // Calls fn with every batch header in [from, log end), in offset order
  // (headers only); stops at the first error, fn's or a read's.
  using BatchVisitor = std::function<Status(const Segment&, const BatchInfo&, const protocol::BatchHeader&)>;
  Status for_each_batch_header(int64_t from, const BatchVisitor& fn) const;
  // ---- leader epochs (log_epochs.cc) ----
  Status load_leader_epochs(const LogOpenOptions& opts);
  Result<bool> scan_leader_epochs(int64_t from, LeaderEpochCache* into) const;
  Status rebuild_leader_epochs();
  void set_log_start_offset(int64_t offset);
  ErrorCode check_usable(Status* why) const;
  ErrorCode check_producers(std::span<const uint8_t> data, std::optional<ProducerBatch>* duplicate) const;
  void track_producers(std::span<const uint8_t> data, int64_t now_ms);
  std::string snapshot_path(int64_t offset) const;
  Status take_snapshot();
  Status sync_txn_index();
  void append_txn_index(const AbortedTxn& a);
  Status rewrite_txn_indexes(size_t from);
  Status replay_producers(int64_t from, int64_t now_ms);
  Status load_producer_state(const LogOpenOptions& opts);
  Status reload_producer_state();
  Status remove_txn_index(int64_t base);

  Env* env_;
  std::string dir_;
  TopicPartition tp_;
  LogConfig config_;
  std::vector<std::unique_ptr<Segment>> segments_;
  int64_t next_offset_ = 0;       // log end offset
  int64_t log_start_offset_ = 0;
  int64_t recovery_point_ = 0;
  std::atomic<int64_t> log_start_snapshot_{0};
  std::atomic<int64_t> recovery_point_snapshot_{0};
  std::atomic<int64_t> log_end_snapshot_{0};
  std::atomic<int64_t> hw_snapshot_{-1};
  int64_t recovered_hw_ = -1;
  uint64_t generation_ = 0;       // bumped by every truncation
  uint64_t id_;                   // unique per Log object in this process (FlushTicket::log_id)
  uint64_t dir_generation_ = 0;   // bumped when segment files are created or deleted
  uint64_t synced_dir_generation_ = 0;
  int64_t records_appended_ = 0;  // since open
  int64_t records_flushed_ = 0;   // records_appended_ covered by the last completed flush
  int64_t last_flush_ms_ = 0;
  RecoveryInfo recovery_info_;
  struct PendingDelete {
    int64_t due_ms;
    std::string path;
  };
  std::vector<PendingDelete> pending_deletes_;  // renamed *.deleted files
  bool failed_ = false;
  bool closed_ = false;
  ProducerState producers_;
  LeaderEpochCache epochs_;
  std::shared_ptr<File> txn_index_;  // the active segment's .txnindex, opened on the first abort
  int64_t txn_index_base_ = -1;
  uint64_t txn_index_writes_ = 0;        // entries written to txn_index_ ...
  uint64_t txn_index_synced_writes_ = 0;  // ... and how many of them a completed flush synced
};

// The marker type of a control batch (abort/commit), none for other batches.
TxnMarker marker_of(std::span<const uint8_t> batch);

}  // namespace samsa::storage
