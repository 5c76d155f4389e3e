// The log storage the Raft core replicates, behind a small interface: the
// core appends and truncates through it (page-cache writes, no sync) and asks
// its owner for an fsync with an action (RaftCore::Output::sync_log); what
// counts towards a commit is only what flushed_end_offset() says is durable.
//
// MemoryRaftLog is the implementation for tests and the simulator: it keeps
// entries in memory and, on crash(), loses a random part of what was not
// synced, as a machine losing its page cache would.
//
// Threads: a RaftLog belongs to the thread that drives its RaftCore.
#pragma once
#include <deque>
#include <optional>
#include <vector>

#include "base/random.h"
#include "raft/raft_messages.h"

namespace samsa::raft {

class RaftLog {
 public:
  virtual ~RaftLog() = default;
  // Where the log starts: the end of the snapshot it continues (0 without one).
  virtual Offset start_offset() const = 0;
  virtual Epoch start_epoch() const = 0;  // that snapshot's epoch, 0 without one
  virtual Offset end_offset() const = 0;  // start_offset() when empty
  virtual Epoch last_epoch() const = 0;   // epoch of the last entry, start_epoch() when empty
  virtual Offset flushed_end_offset() const = 0;
  // Appends at end_offset(); entry.epoch >= last_epoch(). False if the write
  // failed (the core then stops: the log is in an unknown state).
  virtual bool append(LogEntry entry) = 0;
  // Removes every entry that ends after `end` (an entry containing `end` goes
  // too). The flushed offset moves down with it.
  virtual bool truncate_to(Offset end) = 0;
  // Entries covering [from, end_offset()), at most max_entries and, after the
  // first, max_bytes of data.
  virtual std::vector<LogEntry> read(Offset from, size_t max_entries, size_t max_bytes) const = 0;
  // The largest epoch <= `epoch` in the log and where it ends (Kafka's leader
  // epoch cache lookup); {-1, -1} when every entry has a larger epoch or the log is empty.
  virtual EpochEndOffset end_offset_for_epoch(Epoch epoch) const = 0;
  // A snapshot now covers everything below id.end_offset (an entry boundary of
  // this log): drop those entries; the log starts there.
  virtual bool delete_before(SnapshotId id) = 0;
  // A snapshot from the leader replaces the whole log: empty, starting at id.end_offset.
  virtual bool reset_to(SnapshotId id) = 0;
};

class MemoryRaftLog final : public RaftLog {
 public:
  Offset start_offset() const override { return start_.end_offset; }
  Epoch start_epoch() const override { return start_.epoch; }
  Offset end_offset() const override { return entries_.empty() ? start_.end_offset : entries_.back().end(); }
  Epoch last_epoch() const override { return entries_.empty() ? start_.epoch : entries_.back().epoch; }
  Offset flushed_end_offset() const override { return flushed_; }
  bool append(LogEntry entry) override;
  bool truncate_to(Offset end) override;
  std::vector<LogEntry> read(Offset from, size_t max_entries, size_t max_bytes) const override;
  EpochEndOffset end_offset_for_epoch(Epoch epoch) const override;
  bool delete_before(SnapshotId id) override;
  bool reset_to(SnapshotId id) override;

  // The fsync: everything appended so far is durable.
  void sync() { flushed_ = end_offset(); }
  // A crash: unsynced entries are lost, except a random prefix of them (the
  // kernel may have written some back on its own). Everything left is durable.
  void crash(Random& rng);
  const std::deque<LogEntry>& entries() const { return entries_; }
  // The entry containing `offset`, if any.
  const LogEntry* find(Offset offset) const;

 private:
  std::deque<LogEntry> entries_;
  SnapshotId start_;  // durable at once, as the snapshot file it follows
  Offset flushed_{0};
};

}  // namespace samsa::raft
